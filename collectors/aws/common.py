"""Shared AWS plumbing: client configuration, the shared data loader, error translation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3
import botocore.exceptions as bexc
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader, create_loader
from botocore.parsers import ResponseParserError

from computewatch import __version__
from computewatch.domain.errors import SourceError


def client_config(retry_mode: str = "standard", max_attempts: int = 6) -> Config:
    """Retries (throttling, 5xx) and timeouts for every client, so one slow endpoint cannot stall
    a run; `adaptive` also rate-limits the client side when AWS throttles."""
    return Config(
        retries={"mode": retry_mode, "max_attempts": max_attempts},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra=f"computewatch/{__version__}",
    )


HTTP_CODES = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "AccessDenied",
    "404": "NotFound",
    "429": "Throttling",
    "500": "InternalError",
    "503": "ServiceUnavailable",
}


@cache
def shared_loader() -> Loader:
    """One botocore data loader for the process: service models and endpoint data are parsed
    once for the whole process (`collectors.aws.clients`)."""
    return create_loader()


def new_session(**kwargs: Any) -> boto3.Session:
    """A boto3 session on the shared loader, for one-off reads outside the per-account clients
    (a billing export's bucket or Athena workgroup); `kwargs` as for boto3.Session."""
    core = kwargs.pop("botocore_session", None) or botocore.session.get_session()
    core.register_component("data_loader", shared_loader())
    return boto3.Session(botocore_session=core, **kwargs)


@contextmanager
def translate_errors(service: str) -> Iterator[None]:
    """Turn botocore failures into SourceError with the AWS error code."""
    try:
        yield
    except bexc.ClientError as exc:
        err = exc.response.get("Error", {})
        code, message = str(err.get("Code", "ClientError")), str(err.get("Message", "") or exc)
        if code.isdigit():
            # The body carried no error code botocore could parse (it fell back to the HTTP status).
            inner = re.search(r"<Code>([^<]+)</Code>.*?<Message>([^<]*)</Message>", message, re.S)
            if inner:
                code, message = inner.group(1), inner.group(2)
            else:
                message = f"HTTP {code}: {message}"
                code = HTTP_CODES.get(code, f"HTTP{code}")
        raise SourceError(service, code, message) from exc
    except bexc.NoCredentialsError as exc:
        raise SourceError(service, "NoCredentials", str(exc)) from exc
    except bexc.EndpointConnectionError as exc:
        raise SourceError(service, "EndpointConnectionError", str(exc)) from exc
    except (bexc.ConnectTimeoutError, bexc.ReadTimeoutError) as exc:
        raise SourceError(service, "Timeout", str(exc)) from exc
    except (bexc.BotoCoreError, ResponseParserError) as exc:
        raise SourceError(service, type(exc).__name__, str(exc).splitlines()[0]) from exc
