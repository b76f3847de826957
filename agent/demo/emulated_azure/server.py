"""Serving the fake ARM: over HTTPS on 127.0.0.1 (trustme certificates), or in-process.

The Azure SDK refuses bearer tokens over plain HTTP, so the emulator speaks TLS with a throwaway
CA whose certificate file the client is told to trust (`connection_verify` / `ca_bundle`).
"""

from __future__ import annotations

import logging
import os
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from computewatch.demo.emulated_azure.router import FakeArm
from computewatch.demo.emulated_azure.specs import TenantSpec

log = logging.getLogger(__name__)
DEFAULT_SCOPE = "https://management.emulated-azure.invalid/.default"


def _handler_for(fake: FakeArm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("emulated ARM: " + format, *args)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"https://{self.headers.get('Host', 'localhost')}{self.path}"
            response = fake.handle(self.command, url, dict(self.headers.items()), body)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = _serve
        do_POST = _serve

    return Handler


class EmulatedAzure:
    """The fake ARM and its token authority on https://127.0.0.1:<free port>, in a thread."""

    def __init__(
        self,
        tenant: TenantSpec,
        scope: str = DEFAULT_SCOPE,
        page_size: int = 50,
        guests: tuple[TenantSpec, ...] = (),
    ) -> None:
        self.fake = FakeArm(tenant, scope, page_size, guests)
        self.endpoint = ""
        self.ca_file = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._dir: Path | None = None

    @property
    def tenant(self) -> TenantSpec:
        return self.fake.tenant

    def start(self) -> EmulatedAzure:
        import trustme  # demo/test extra

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._dir = Path(tempfile.mkdtemp(prefix="emulated-azure-"))
        self.ca_file = str(self._dir / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self.fake))
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.endpoint = f"https://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, name="emulated-arm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> EmulatedAzure:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cloud_config(self) -> dict[str, str]:
        """The `azure.cloud` config section that points computewatch at this emulator."""
        return {
            "name": "custom",
            "arm_endpoint": self.endpoint,
            "authority_host": self.endpoint,
            "token_scope": self.fake.scope,
            "ca_bundle": self.ca_file,
        }

    @contextmanager
    def secret_environment(self, secret_env: str) -> Iterator[None]:
        """Put the emulator's client secret in `secret_env` (as an operator would), then restore."""
        saved = os.environ.get(secret_env)
        os.environ[secret_env] = self.tenant.client_secret
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(secret_env, None)
            else:
                os.environ[secret_env] = saved

    def credential_config(self, secret_env: str) -> dict[str, str]:
        """The `azure.credential` section for the emulator's service principal."""
        return {
            "kind": "service_principal",
            "tenant_id": self.tenant.tenant_id,
            "client_id": self.tenant.client_id,
            "client_secret_env": secret_env,
        }


class InProcessAdapter(BaseAdapter):
    """A `requests` adapter that answers from a FakeArm without a socket; mount it on the hosts
    the fake should impersonate (e.g. management.chinacloudapi.cn) in a session given to
    azure-core's RequestsTransport."""

    def __init__(self, fake: FakeArm) -> None:
        super().__init__()
        self.fake = fake

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else bytes(body)  # type: ignore[arg-type]
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        answer = self.fake.handle(str(request.method), str(request.url), headers, raw)
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response.raw = BytesIO(answer.body)
        response._content = answer.body
        response.url = str(request.url)
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to release: no sockets."""
