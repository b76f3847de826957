"""The fake ARM and Entra ID token endpoint: real REST paths in, real JSON bodies out.

Transport-free (`FakeArm.handle` takes a method, URL, headers and body) so the same router runs
behind the HTTPS server and behind an in-process `requests` adapter. It checks what real ARM
checks and the SDK must get right: the bearer token and the scope it was issued for, RBAC actions
per subscription (403 AuthorizationFailed), the Activity Log `$filter` grammar, metric names the
resource defines, and `nextLink` paging. Injected faults answer 429 with Retry-After, or any code.
The resources it serves are declared as data in `resources.ROUTES`; this module is the core every
route shares: tokens, api-version, faults, subscription lookup and RBAC.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from computewatch.collectors.permissions import azure_actions
from computewatch.demo.emulated_azure.resources import ROUTES, Route
from computewatch.demo.emulated_azure.specs import SubscriptionSpec, TenantSpec
from computewatch.demo.emulated_azure.wire import ArmError, Call, Json

__all__ = ["ArmError", "FakeArm", "FakeResponse", "Fault", "SeenRequest"]

_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class FakeResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SeenRequest:
    method: str
    host: str
    path: str
    query: dict[str, str]
    status: int
    form: dict[str, str]


@dataclass
class Fault:
    path_contains: str
    status: int
    code: str
    remaining: int
    retry_after: int | None = None


class FakeArm:
    """One tenant's ARM, with the authority that issues its tokens, in one router.

    `guests` are further tenants the same app is registered in: the authority issues each its
    own token, and a token sees only its tenant's subscriptions (as ARM does)."""

    def __init__(
        self,
        tenant: TenantSpec,
        scope: str,
        page_size: int = 50,
        guests: tuple[TenantSpec, ...] = (),
    ) -> None:
        self.tenant = tenant
        self.scope = scope
        self.page_size = page_size
        self._tenants = {t.tenant_id.lower(): t for t in (tenant, *guests)}
        self.tokens = {tid: secrets.token_urlsafe(24) for tid in self._tenants}
        self.access_token = self.tokens[tenant.tenant_id.lower()]  # the home tenant's
        self.seen: list[SeenRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._subs = {
            t.tenant_id.lower(): {s.id.lower(): s for s in t.subscriptions}
            for t in self._tenants.values()
        }
        self._routes: list[tuple[Route, re.Pattern[str]]] = [
            (route, re.compile(f"^{route.pattern}$", re.IGNORECASE)) for route in ROUTES
        ]

    # -- test and demo controls -------------------------------------------------------------

    def add_fault(
        self,
        path_contains: str,
        status: int,
        code: str,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """The next `times` ARM requests whose path contains the text answer `status`."""
        with self._lock:
            self._faults.append(Fault(path_contains, status, code, times, retry_after))

    def calls(self, path_contains: str) -> list[SeenRequest]:
        with self._lock:
            return [s for s in self.seen if path_contains.lower() in s.path.lower()]

    # -- the router ---------------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> FakeResponse:
        parts = urlsplit(url)
        path = re.sub("/{2,}", "/", parts.path).rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        form = dict(parse_qsl(body.decode("utf-8", "replace"))) if method == "POST" else {}
        try:
            if "/oauth2/" in path or "/.well-known/" in path:
                payload = self._authority(method, path, f"{parts.scheme}://{parts.netloc}", form)
            else:
                payload = self._arm(
                    method, path, query, f"{parts.scheme}://{parts.netloc}", headers
                )
            response = FakeResponse(200, json.dumps(payload).encode())
        except ArmError as err:
            error = {"error": {"code": err.code, "message": err.message}}
            response = FakeResponse(err.status, json.dumps(error).encode(), err.headers)
        response.headers.setdefault("Content-Type", "application/json; charset=utf-8")
        response.headers["x-ms-request-id"] = secrets.token_hex(8)
        with self._lock:
            self.seen.append(SeenRequest(method, parts.netloc, path, query, response.status, form))
        return response

    def _authority(self, method: str, path: str, base: str, form: dict[str, str]) -> Json:
        tenant = path.strip("/").split("/", 1)[0]
        spec = self._tenants.get(tenant.lower())
        if spec is None:
            raise ArmError(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        if method == "GET" and path.endswith("/v2.0/.well-known/openid-configuration"):
            return {
                "issuer": f"{base}/{tenant}/v2.0",
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            }
        if method == "POST" and path.endswith("/oauth2/v2.0/token"):
            if form.get("client_id") != spec.client_id or not self._signed_in(spec, form):
                raise ArmError(
                    401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
                )
            if form.get("scope") != self.scope:
                raise ArmError(
                    400, "invalid_scope", f"AADSTS70011: scope {form.get('scope')} is not valid"
                )
            token = self.tokens[tenant.lower()]
            return {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
        raise ArmError(404, "NotFound", f"no authority endpoint {path}")

    @staticmethod
    def _signed_in(tenant: TenantSpec, form: dict[str, str]) -> bool:
        """A client secret, or a federated token (workload identity) as the client assertion."""
        if "client_assertion" in form:
            return (
                form.get("client_assertion_type") == _JWT_BEARER
                and form["client_assertion"] == tenant.federated_token
            )
        return form.get("client_secret") == tenant.client_secret

    def _arm(
        self, method: str, path: str, query: dict[str, str], base: str, headers: Mapping[str, str]
    ) -> Json:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        by_token = {f"Bearer {token}": tid for tid, token in self.tokens.items()}
        if auth not in by_token:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")
        tenant = self._tenants[by_token[auth]]
        if "api-version" not in query:
            raise ArmError(
                400, "MissingApiVersionParameter", "The api-version query parameter is required."
            )
        self._fault(path)
        for route, pattern in self._routes:
            m = pattern.match(path)
            if m is None or route.method != method:
                continue
            groups = m.groupdict()
            sub = None
            if "sub" in groups:
                sub = self._subs[by_token[auth]].get(groups["sub"].lower())
                if sub is None:
                    raise ArmError(
                        404,
                        "SubscriptionNotFound",
                        f"The subscription '{groups['sub']}' could not be found.",
                    )
                self.authorize(sub, route.actions)
            return route.handler(self, Call(tenant, sub, groups, query, base, path))
        raise ArmError(404, "NoRegisteredProviderFound", f"No route for {method} {path}")

    def _fault(self, path: str) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.path_contains.lower() in path.lower():
                    fault.remaining -= 1
                    headers = (
                        {"Retry-After": str(fault.retry_after)}
                        if fault.retry_after is not None
                        else {}
                    )
                    raise ArmError(fault.status, fault.code, f"injected {fault.code}", headers)

    @staticmethod
    def allows(sub: SubscriptionSpec, action: str) -> bool:
        """Public for handlers that filter or check subscriptions their route did not name.
        A subscription without `allowed_actions` grants computewatch's custom role: the actions
        the Azure provider and collectors declare."""
        granted = azure_actions() if sub.allowed_actions is None else sub.allowed_actions
        return action.lower() in {a.lower() for a in granted}

    def authorize(self, sub: SubscriptionSpec, actions: tuple[str, ...]) -> None:
        """403 AuthorizationFailed, worded as ARM words it, unless every action is granted."""
        for action in actions:
            if not self.allows(sub, action):
                raise ArmError(
                    403,
                    "AuthorizationFailed",
                    f"The client '{self.tenant.client_id}' with object id '{self.tenant.client_id}' does "
                    f"not have authorization to perform action '{action}' over scope "
                    f"'/subscriptions/{sub.id}' or the scope is invalid.",
                )
