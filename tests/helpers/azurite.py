"""Azurite, the Azure Storage emulator (npm package, installed by `make tools/azurite`), started
for the tests on a free loopback port over HTTPS with Entra ID (OAuth) checking, so the real
azure-storage-blob SDK talks to a real Blob REST server as it would to a storage account.

Azurite's `--oauth basic` checks a bearer token's audience, issuer and expiry but not its
signature, so `EmulatorCredential` (standing in for the identity provider, not for the thing
under test) issues unsigned tokens for `https://storage.azure.com`. The account is Azurite's
well-known development account; its published key signs the SAS tokens the SAS tests use.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
from azure.core.credentials import AccessToken

from tests.helpers.paths import REPO
from tests.helpers.process import free_port, wait_for

AZURITE = REPO / "tools" / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# Azurite's published development account key (documented by Microsoft; not a secret).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
TENANT = "72f988bf-0000-4000-8000-00000000c0de"


def _b64(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


class EmulatorCredential:
    """A TokenCredential for Azurite: unsigned tokens with the storage audience (or another,
    to see a wrong one refused); records the scopes it was asked for."""

    def __init__(self, audience: str = "https://storage.azure.com") -> None:
        self.audience = audience
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        now = int(time.time())
        claims = {
            "aud": self.audience,
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "oid": "00000000-0000-4000-8000-000000000001",
            "tid": TENANT,
        }
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.sig"
        return AccessToken(token, now + 3600)


@dataclass(frozen=True)
class Azurite:
    url: str  # path-style account URL: https://127.0.0.1:<port>/devstoreaccount1
    ca_bundle: str

    def service(self, credential: Any = None) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(
            self.url,
            credential=credential or EmulatorCredential(),
            connection_verify=self.ca_bundle,
        )

    def upload(self, container: str, prefix: str, root: Path) -> None:
        """Every file under `root`, at `<prefix>/<path relative to root>` (container created)."""
        client = self.service().get_container_client(container)
        if not client.exists():
            client.create_container()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = f"{prefix}/{path.relative_to(root).as_posix()}".strip("/")
            client.upload_blob(name, path.read_bytes(), overwrite=True)

    def sas(self, container: str, *, list_: bool = True) -> str:
        """A container SAS signed with the development key: read (+ list unless told not)."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            ACCOUNT,
            container,
            account_key=ACCOUNT_KEY,
            permission=ContainerSasPermissions(read=True, list=list_),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )


@contextmanager
def running_azurite() -> Iterator[Azurite]:
    if not AZURITE.exists():
        pytest.fail("Azurite is not installed: run `make tools/azurite` (npm, Node.js 20)")
    work = Path(tempfile.mkdtemp(prefix="cw-azurite-"))
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(work / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(work / "cert.pem"))
    ca.cert_pem.write_to_path(str(work / "ca.pem"))
    port = free_port()
    args = [
        str(AZURITE),
        "--blobHost", "127.0.0.1",
        "--blobPort", str(port),
        "--inMemoryPersistence",
        "--cert", str(work / "cert.pem"),
        "--key", str(work / "key.pem"),
        "--oauth", "basic",
        "--skipApiVersionCheck",  # the SDK may be newer than the emulator's API version list
        "--disableTelemetry",  # never send anything off this machine
        "--silent",
    ]  # fmt: skip
    log = (work / "azurite.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    url = f"https://127.0.0.1:{port}/{ACCOUNT}"
    ca_bundle = str(work / "ca.pem")

    def up() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"Azurite exited: {(work / 'azurite.log').read_text('utf-8')[-2000:]}")
        try:
            requests.get(f"{url}?comp=list", verify=ca_bundle, timeout=2)
        except requests.ConnectionError:
            return False
        return True

    try:
        wait_for("Azurite", up, timeout=60)
        yield Azurite(url, ca_bundle)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
