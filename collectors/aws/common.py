"""Shared AWS plumbing: client configuration, API call counting, error translation."""

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
from computewatch.collectors.base import ApiCallCounter
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
    once and shared by every session (each new session would otherwise parse them again for
    every client it creates: most of a large organization's collection time)."""
    return create_loader()


def new_session(**kwargs: Any) -> boto3.Session:
    """A boto3 session on the shared loader (`kwargs` as for boto3.Session)."""
    core = kwargs.pop("botocore_session", None) or botocore.session.get_session()
    core.register_component("data_loader", shared_loader())
    return boto3.Session(botocore_session=core, **kwargs)


def count_calls(session: boto3.Session, counter: ApiCallCounter) -> None:
    """Count every API operation this session's clients make (botocore event hook)."""

    def _before_call(model: Any, **_: Any) -> None:
        counter.add(model.service_model.service_name, model.name)

    session.events.register("before-call.*.*", _before_call)


class AwsClients:
    """Client factory for one account session and region."""

    def __init__(self, session: boto3.Session, region: str, config: Config | None = None) -> None:
        self._session = session
        self._region = region
        self._config = config or client_config()

    def client(self, service: str) -> Any:
        return self._session.client(service, region_name=self._region, config=self._config)


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
