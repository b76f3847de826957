"""Shared fixtures: the catalog, both store backends, one emulated AWS for the session, and a
plain SMTP server."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from computewatch.collectors.base import ApiCallCounter
from computewatch.demo.emulated_aws import EmulatedAws
from computewatch.domain.catalog import Catalog
from computewatch.store import Store
from tests.helpers.azurite import Azurite, running_azurite
from tests.helpers.smtp import Inbox

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
from tests.helpers.paths import REPO  # noqa: E402


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the project's PostgreSQL server, dropped afterwards.

    Fails (never skips) when the server is not there: the store contract must hold on both backends.
    """
    name = f"cw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required for the store tests: {exc}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        yield url
    finally:
        Store.dispose(url)  # the process's pooled connections to it, before it is dropped
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _store_engines() -> Iterator[None]:
    """Each test starts without the engines (and migration marks) an earlier test left."""
    yield
    Store.dispose_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Every store test runs against both backends (one contract suite)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[EmulatedAws]:
    cloud = EmulatedAws().start()
    yield cloud
    cloud.stop()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """Azurite (the Azure Storage emulator) over HTTPS with OAuth checks, for the session."""
    with running_azurite() as emulator:
        yield emulator


@pytest.fixture
def aws(moto_server: EmulatedAws) -> Iterator[EmulatedAws]:
    """The session's emulated AWS, wiped before and after each test."""
    moto_server.reset()
    yield moto_server
    moto_server.reset()


# Every cloud operation the collectors and providers call anywhere in the suite, as counted:
# AWS as IAM actions ("ec2:DescribeInstances"), Azure as "arm:GET Microsoft.Compute/virtualMachines".
CALLS_SEEN: set[str] = set()


@pytest.fixture(autouse=True, scope="session")
def _record_cloud_calls() -> Iterator[None]:
    """Record every call any ApiCallCounter counts (each AWS session and Azure client of a
    provider or collector counts every operation it calls), and check them against the shipped
    IAM policy and Azure role at the end."""
    original = ApiCallCounter.add

    def counting_and_recording(self: ApiCallCounter, service: str, operation: str) -> None:
        original(self, service, operation)
        CALLS_SEEN.add(f"{service}:{operation}")

    ApiCallCounter.add = counting_and_recording  # type: ignore[method-assign]
    yield
    ApiCallCounter.add = original  # type: ignore[method-assign]
    # Checked when the session (or, under pytest-xdist, each worker's share of it) ends: an
    # error here fails the run and names what the shipped documents lack.
    missing = undeclared(CALLS_SEEN)
    if missing:
        pytest.fail(
            "config/aws-iam-policy.json or the Azure roles lack what the"
            f" collectors called: {', '.join(missing)}"
        )


def undeclared(calls: set[str]) -> list[str]:
    """The calls (as counted) that the shipped IAM policy or Azure role does not grant."""
    from computewatch.collectors.azure.common import rbac_action
    from computewatch.collectors.exports.azblob import BLOB_CALLS

    iam: set[str] = set()
    for name in ("aws-iam-policy.json", "aws-export-policy.json"):  # exports: the payer's reader
        policy = json.loads((REPO / "config" / name).read_text("utf-8"))
        iam |= {a for statement in policy["Statement"] for a in statement["Action"]}
    role = json.loads((REPO / "config" / "azure-custom-role.json").read_text("utf-8"))
    rbac = {a.lower() for a in role["Actions"]}
    blob_role = json.loads((REPO / "config" / "azure-export-role.json").read_text("utf-8"))
    blob_data = set(blob_role["DataActions"])
    missing = []
    for call in sorted(calls):
        service, _, operation = call.partition(":")
        if service == "arm":
            if rbac_action(operation).lower() not in rbac:
                missing.append(f"{call} ({rbac_action(operation)})")
        elif service == "blob":
            if BLOB_CALLS.get(operation) not in blob_data:
                missing.append(f"{call} (azure-export-role.json)")
        elif call not in iam:
            missing.append(call)
    return missing


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a free local port: (port, inbox)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()
