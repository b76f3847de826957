"""AWS SDK clients of a run: one botocore session for the process, one client per (account
credentials, region, service), and nothing kept once the runner is done with an account.

Building a botocore client is costly (its class, operation models, endpoint rules, a copy of the
event handlers; tens of milliseconds and about half a MiB each), and a botocore session is costlier
still. So the process has one session on the shared loader; an account entered with AssumeRole
is only a credentials object; its clients are built on first use, shared by every collector that
reads the account, and closed when the runner releases the account (`AccountClients.release`).
Most of a client's cost is its class (a method and a docstring per API operation: 700 for EC2),
which depends on the service only: the shared session builds it once per service
(`_ClassReusingCreator`), and a client for one more account is the per-client rest.
"""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import botocore.client
import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials

from computewatch.collectors.aws.common import client_config, shared_loader
from computewatch.collectors.base import ApiCallCounter

# botocore's Session is not documented as thread-safe: clients are built one at a time (building
# is CPU-bound, so the lock costs no parallelism under the GIL).
_BUILD = threading.Lock()
# Every client built and not yet garbage: what the regression test counts.
_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
_built = 0
# A botocore client is a web of reference cycles: once released it waits for a full garbage
# collection, which CPython runs rarely in a process holding the large, long-lived service models.
# Released clients are collected explicitly once this many are alive or waiting (the threshold
# doubles with the live ones, so a collection always frees at least half of them).
_COLLECT_AT = 64
_collect_at = _COLLECT_AT

Hook = Callable[..., None]


@cache
def shared_session() -> botocore.session.Session:
    """The process's one botocore session, on the shared loader. It resolves no credentials of
    its own once built: every client gets its account's credentials explicitly."""
    session = botocore.session.get_session()
    session.register_component("data_loader", shared_loader())
    return session


class _ClassReusingCreator(botocore.client.ClientCreator):  # type: ignore[misc]
    """botocore's ClientCreator, except that for the shared session each service's model and
    client class are built once and reused (for any other session it is botocore's own).

    Neither holds anything of a client's account, region or endpoint: the class's methods only
    name the operation and its docstrings read the model; the model is the service's API
    description, read-only once built except for its own memoised lookups (operation models,
    shapes, the endpoint-discovery operation, which scans every operation). What both are built
    from (the loader's data and the session's `creating-client-class` handlers) is the same for
    every client of the service on the shared session, so what is reused is what botocore would
    build. Relies on the private `_load_service_model(service_name, api_version)` and
    `_create_client_class(service_name, service_model)` (tested with botocore 1.44): if botocore
    renames them, these overrides are never called and clients are built as botocore builds them
    (slower, still correct); `tests/e2e/test_aws_clients.py` fails if the reuse stops happening.
    """

    def _load_service_model(self, service_name: str, api_version: str | None = None) -> Any:
        shared = _shared()
        if self._event_emitter is not shared.emitter:
            return super()._load_service_model(service_name, api_version)
        key = (service_name, api_version)
        found = shared.models.get(key)
        if found is None:  # callers hold _BUILD: one build per service
            found = shared.models[key] = super()._load_service_model(service_name, api_version)
        return found

    def _create_client_class(
        self, service_name: str, service_model: Any, *args: Any, **kwargs: Any
    ) -> type:
        shared = _shared()
        if args or kwargs or self._event_emitter is not shared.emitter:
            built: type = super()._create_client_class(service_name, service_model, *args, **kwargs)
            return built
        key = (service_name, service_model.api_version)
        found = shared.classes.get(key)
        if found is None:
            found = shared.classes[key] = super()._create_client_class(service_name, service_model)
            shared.classes_built += 1
        return found


class _Shared:
    """The shared session's service models and client classes, per service (and API version)."""

    def __init__(self, emitter: Any) -> None:
        self.emitter = emitter
        self.models: dict[tuple[str, str | None], Any] = {}
        self.classes: dict[tuple[str, str], type] = {}
        self.classes_built = 0


@cache
def _shared() -> _Shared:
    return _Shared(shared_session().get_component("event_emitter"))


def client_classes_built() -> int:
    """Client classes the shared session has built since the process started."""
    with _BUILD:
        return _shared().classes_built


@contextmanager
def _reusing_classes() -> Iterator[None]:
    """Let `Session.create_client` (which names `botocore.client.ClientCreator` when it runs)
    use `_ClassReusingCreator`; the caller holds `_BUILD`. A client another session builds in
    another thread meanwhile gets botocore's behaviour: the subclass reuses models and classes
    only for the shared session's event emitter."""
    original = botocore.client.ClientCreator
    if original is not _ORIGINAL_CREATOR:  # someone else replaced it: leave theirs alone
        yield
        return
    botocore.client.ClientCreator = _ClassReusingCreator
    try:
        yield
    finally:
        botocore.client.ClientCreator = original


_ORIGINAL_CREATOR = botocore.client.ClientCreator


def live_clients() -> int:
    """Clients built by this module that are still referenced somewhere."""
    return len(_LIVE)


def built_clients() -> int:
    """Clients built by this module since the process started."""
    with _BUILD:
        return _built


def caller_credentials(profile: str | None = None) -> Credentials | None:
    """The credentials computewatch itself runs with: the standard chain (environment, shared
    files, container or instance role), or a named profile. Resolved afresh on every call (the
    environment may have changed since the process started; the session caches nothing)."""
    if profile:
        # A profile has its own chain (SSO, assume-role, process): a throwaway session (on the
        # shared loader) resolves it, and only its credentials object is kept.
        resolving = botocore.session.Session(profile=profile)
        resolving.register_component("data_loader", shared_loader())
        return resolving.get_credentials()
    resolver = shared_session().get_component("credential_provider")
    found: Credentials | None = resolver.load_credentials()
    return found


def static_credentials(
    aws_access_key_id: str, aws_secret_access_key: str, aws_session_token: str | None = None
) -> Credentials:
    """Fixed keys (named as boto3's keyword arguments), e.g. from an emulator."""
    return Credentials(aws_access_key_id, aws_secret_access_key, aws_session_token)


def counting(counter: ApiCallCounter) -> dict[str, Hook]:
    """The hook that counts every API operation a client makes."""

    def before_call(model: Any, **_: Any) -> None:
        counter.add(model.service_model.service_name, model.name)

    return {"before-call.*.*": before_call}


def new_client(
    service: str,
    region: str,
    credentials: Credentials | None,
    config: Config | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A client on the shared session (its service's class and model reused), signing with
    `credentials`; the caller owns it (`AccountClients` for a run's accounts; the emulator's
    seeding for its own). `endpoint_url` None: AWS's, or `AWS_ENDPOINT_URL`."""
    global _built
    frozen = credentials.get_frozen_credentials() if credentials else None
    with _BUILD, _reusing_classes():
        _built += 1
        client = shared_session().create_client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=config or client_config(),
            # Placeholders when there are none (never the session's own, cached, chain).
            aws_access_key_id=frozen.access_key if frozen else "none",
            aws_secret_access_key=frozen.secret_key if frozen else "none",
            aws_session_token=frozen.token if frozen else None,
        )
    # Sign with the account's credentials object itself, so refreshable (AssumeRole) credentials
    # are renewed before they expire, exactly as a session holding them would do; None fails each
    # call with NoCredentialsError, as boto3 does. botocore has no public way to give a client a
    # credentials object (only static keys), hence the attribute.
    client._request_signer._credentials = credentials
    return client


def _collect_released() -> None:
    global _collect_at
    if len(_LIVE) < _collect_at:
        return
    gc.collect()
    _collect_at = max(_COLLECT_AT, 2 * len(_LIVE))


class AccountClients:
    """The clients of one set of credentials (an account entered, or the caller), per region and
    service, built on first use and shared by every collector reading the account."""

    def __init__(
        self,
        credentials: Credentials | None,
        config: Config | None = None,
        counter: ApiCallCounter | None = None,
        hooks: Mapping[str, Hook] | None = None,
    ) -> None:
        self.credentials = credentials
        self._config = config or client_config()
        self._hooks = {**(counting(counter) if counter else {}), **(hooks or {})}
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._views = 0  # RegionClients handed out and not yet released

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            found = self._clients.get((region, service))
            if found is None:
                found = new_client(service, region, self.credentials, self._config)
                for event, hook in self._hooks.items():
                    found.meta.events.register(event, hook)
                _LIVE.add(found)
                self._clients[(region, service)] = found
            return found

    def region(self, region: str) -> RegionClients:
        """A target's view; once every view is released, the clients are closed."""
        with self._lock:
            self._views += 1
        return RegionClients(self, region)

    def open(self) -> int:
        """How many clients this account holds now."""
        with self._lock:
            return len(self._clients)

    def release(self) -> None:
        """Close and drop every client (their connection pools too); a later call builds anew."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c.close()
        if clients:
            del c, clients
            _collect_released()

    def _view_released(self) -> None:
        with self._lock:
            self._views -= 1
            last = self._views == 0
        if last:
            self.release()


class RegionClients:
    """`ClientFactory` for one account and region (the Target's view of its account's clients)."""

    def __init__(self, account: AccountClients, region: str) -> None:
        self.account = account
        self.region = region
        self._released = False

    def client(self, service: str) -> Any:
        return self.account.client(service, self.region)

    def release(self) -> None:
        """The runner is done with this target (idempotent). The account's clients are closed
        when its last target is released: other regions, or the organization-wide target when
        an account is read with the caller's own credentials, may still be using them."""
        if not self._released:
            self._released = True
            self.account._view_released()
