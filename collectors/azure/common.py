"""Shared Azure plumbing: cloud endpoints, client factory, call counting, retries, errors.

Every management client is built here with the same cloud (ARM `base_url` AND token
`credential_scopes`), the same transport, the same retry policy and the same call-counting
policy, so no collector can talk to the wrong cloud or skip the counter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy
from azure.core.pipeline.transport import HttpTransport

from computewatch import __version__
from computewatch.collectors.base import ApiCallCounter
from computewatch.config.azure import AzureCloud
from computewatch.domain import Window
from computewatch.domain.errors import SourceError


@dataclass(frozen=True, slots=True)
class CloudEndpoints:
    """Where ARM and Entra ID live for one cloud, and the token scope ARM accepts."""

    name: str
    arm: str
    authority: str
    scope: str
    known_authority: bool  # MSAL knows the host; unknown hosts need instance discovery disabled


CLOUDS = {
    "public": CloudEndpoints(
        "public",
        "https://management.azure.com",
        "https://login.microsoftonline.com",
        "https://management.azure.com/.default",
        True,
    ),
    "china": CloudEndpoints(
        "china",
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/.default",
        True,
    ),
    "usgov": CloudEndpoints(
        "usgov",
        "https://management.usgovcloudapi.net",
        "https://login.microsoftonline.us",
        "https://management.core.usgovcloudapi.net/.default",
        True,
    ),
}


def cloud_endpoints(cloud: AzureCloud) -> CloudEndpoints:
    if cloud.name != "custom":
        return CLOUDS[cloud.name]
    assert cloud.arm_endpoint and cloud.authority_host and cloud.token_scope  # config validator
    return CloudEndpoints(
        "custom",
        cloud.arm_endpoint.rstrip("/"),
        cloud.authority_host.rstrip("/"),
        cloud.token_scope,
        False,
    )


def operation_key(method: str, path: str) -> str:
    """A stable name for an ARM call: 'GET Microsoft.Compute/virtualMachines' (names dropped)."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return f"{method} Microsoft.Resources/{'/'.join(parts[0::2]) or 'tenant'}"
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace, rest = (parts[at + 1], parts[at + 2 :]) if at + 1 < len(parts) else ("?", [])
    return f"{method} {'/'.join([namespace, *rest[0::2]])}"


_RBAC_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "POST": "action"}


def rbac_action(key: str) -> str:
    """The RBAC action ARM checks for a counted call: 'GET Microsoft.Compute/virtualMachines'
    -> 'Microsoft.Compute/virtualMachines/read' (a POST's last segment names its action)."""
    method, _, resource_type = key.partition(" ")
    return f"{resource_type}/{_RBAC_VERBS.get(method, method.lower())}"


class CountCalls(SansIOHTTPPolicy[Any, Any]):
    """Per-call policy (before retries): one count per logical ARM request, pages included."""

    def __init__(self, counter: ApiCallCounter) -> None:
        self._counter = counter

    def on_request(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        self._counter.add("arm", operation_key(http.method, urlsplit(http.url).path))


class BoundedRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's retries (honouring Retry-After), but a Retry-After longer than the limit
    ends the call with the throttling error instead of stalling the whole run."""

    def __init__(self, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_retry_after = max_retry_after

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        wait = self.get_retry_after(response)
        if wait is not None and wait > self._max_retry_after:
            return False
        return bool(super().is_retry(settings, response))


@dataclass(frozen=True)
class ClientSettings:
    """What every management client of one run shares."""

    cloud: CloudEndpoints
    credential: TokenCredential
    transport: HttpTransport[Any, Any]
    counter: ApiCallCounter
    max_retries: int = 6
    max_retry_after: float = 120

    def kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.cloud.arm,
            "credential_scopes": [self.cloud.scope],
            "transport": self.transport,
            "per_call_policies": [CountCalls(self.counter)],
            "retry_policy": BoundedRetryPolicy(
                self.max_retry_after,
                retry_total=self.max_retries,
                retry_backoff_factor=0.8,
                retry_backoff_max=60,
                timeout=900,
            ),
            "user_agent": f"computewatch/{__version__}",
        }


class AzureClients:
    """Client factory for one subscription: 'compute', 'monitor', 'cognitiveservices'.

    Clients are built on first use (the SDK modules are large to import) and then shared by
    the collectors working on the subscription."""

    def __init__(self, settings: ClientSettings, subscription_id: str) -> None:
        self._settings = settings
        self._subscription_id = subscription_id
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._build(service)
            return self._clients[service]

    def release(self) -> None:
        """Drop the subscription's clients (the run's transport is shared and stays open)."""
        with self._lock:
            self._clients.clear()

    def _build(self, service: str) -> Any:
        kw = self._settings.kwargs()
        cred = self._settings.credential
        sub = self._subscription_id
        if service == "compute":
            from azure.mgmt.compute import ComputeManagementClient

            return ComputeManagementClient(cred, sub, **kw)
        if service == "monitor":
            from azure.mgmt.monitor import MonitorManagementClient

            return MonitorManagementClient(cred, sub, **kw)
        if service == "cognitiveservices":
            from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

            return CognitiveServicesManagementClient(cred, sub, **kw)
        raise KeyError(f"no Azure client named {service!r}")


def subscription_client(settings: ClientSettings) -> Any:
    """The tenant-level client that lists subscriptions."""
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    return SubscriptionClient(settings.credential, **settings.kwargs())


@contextmanager
def translate_errors(service: str) -> Iterator[None]:
    """Turn azure-core failures into SourceError carrying the ARM error code."""
    try:
        yield
    except HttpResponseError as exc:  # includes ClientAuthenticationError (401, or sign-in failed)
        raise SourceError(service, _arm_code(exc), _arm_message(exc)) from exc
    except ServiceRequestError as exc:
        raise SourceError(service, "ServiceRequestError", _first_line(str(exc))) from exc
    except ServiceResponseError as exc:
        raise SourceError(service, "ServiceResponseError", _first_line(str(exc))) from exc
    except AzureError as exc:
        raise SourceError(service, type(exc).__name__, _first_line(str(exc))) from exc


def _arm_code(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    if code:
        return str(code)
    if exc.status_code:
        return f"HTTP{exc.status_code}"
    return type(exc).__name__


def _arm_message(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None)
    return _first_line(str(message) if message else exc.message or str(exc))


def _first_line(text: str) -> str:
    lines = [ln for ln in str(text).splitlines() if ln.strip() and not ln.startswith("Code:")]
    line = lines[0] if lines else str(text)
    return line.removeprefix("Message: ").strip()


def require_retention(service: str, what: str, window: Window, now: datetime, days: int) -> None:
    """A window the source no longer holds is a coverage gap, never a zero."""
    oldest = now - timedelta(days=days)
    if window.start < oldest:
        raise SourceError(
            service,
            "RetentionExceeded",
            f"{what} keeps {days} days; the window starts {window.start:%Y-%m-%d}, "
            f"before the oldest readable day {oldest:%Y-%m-%d}",
        )
