"""The fake ARM and Entra ID token endpoint: real REST paths in, real JSON bodies out.

Transport-free (`FakeArm.handle` takes a method, URL, headers and body) so the same router runs
behind the HTTPS server and behind an in-process `requests` adapter. It checks what real ARM
checks and the SDK must get right: the bearer token and the scope it was issued for, RBAC actions
per subscription (403 AuthorizationFailed), the Activity Log `$filter` grammar, metric names the
resource defines, and `nextLink` paging. Injected faults answer 429 with Retry-After, or any code.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from agent.emulated_azure import bodies
from agent.emulated_azure.specs import CognitiveAccountSpec, SubscriptionSpec, TenantSpec

Json = dict[str, Any]
_ACTIVITY_FILTER = re.compile(
    r"^eventTimestamp ge '([^']+)' and eventTimestamp le '([^']+)'"
    r"(?: and (resourceGroupName|resourceUri|resourceProvider|correlationId) eq '([^']+)')?$"
)
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_LIST_ACTION = "Microsoft.Resources/subscriptions/read"
_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ACCOUNT = _RG + r"/providers/Microsoft\.CognitiveServices/accounts/(?P<acct>[^/]+)"


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


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass(frozen=True)
class _Call:
    tenant: TenantSpec  # the tenant the bearer token was issued in
    sub: SubscriptionSpec | None
    groups: dict[str, str]
    query: dict[str, str]
    base: str  # scheme://host of the request, for nextLinks
    path: str


def _paged(items: list[Json], call: _Call, page_size: int) -> Json:
    skip = int(call.query.get("$skiptoken", "0"))
    out: Json = {"value": items[skip : skip + page_size]}
    if skip + page_size < len(items):
        query = {**call.query, "$skiptoken": str(skip + page_size)}
        out["nextLink"] = f"{call.base}{call.path}?{urlencode(query)}"
    return out


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
        r: list[tuple[str, str, tuple[str, ...], Callable[[_Call], Json]]] = [
            ("GET", r"/subscriptions", (_LIST_ACTION,), self._subscriptions),
            (
                "GET",
                r"/providers/Microsoft\.Management/managementGroups/(?P<mg>[^/]+)/descendants",
                (),
                self._descendants,
            ),
            (
                "GET",
                _SUB + r"/providers/Microsoft\.Compute/virtualMachines",
                (
                    "Microsoft.Compute/virtualMachines/read",
                    "Microsoft.Compute/virtualMachines/instanceView/read",
                ),
                self._vms,
            ),
            (
                "GET",
                _SUB + r"/providers/Microsoft\.Compute/virtualMachineScaleSets",
                ("Microsoft.Compute/virtualMachineScaleSets/read",),
                self._scale_sets,
            ),
            (
                "GET",
                _RG
                + r"/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<name>[^/]+)/instanceView",
                ("Microsoft.Compute/virtualMachineScaleSets/instanceView/read",),
                self._instance_view,
            ),
            (
                "GET",
                _SUB + r"/providers/Microsoft\.Compute/skus",
                ("Microsoft.Compute/skus/read",),
                self._skus,
            ),
            (
                "GET",
                _SUB + r"/providers/Microsoft\.Insights/eventtypes/management/values",
                ("Microsoft.Insights/eventtypes/values/read",),
                self._activity,
            ),
            (
                "GET",
                _SUB + r"/providers/Microsoft\.CognitiveServices/accounts",
                ("Microsoft.CognitiveServices/accounts/read",),
                self._accounts,
            ),
            (
                "GET",
                _ACCOUNT + r"/deployments",
                ("Microsoft.CognitiveServices/accounts/deployments/read",),
                self._deployments,
            ),
            (
                "GET",
                _ACCOUNT + r"/providers/Microsoft\.Insights/metricDefinitions",
                ("Microsoft.Insights/metricDefinitions/read",),
                self._definitions,
            ),
            (
                "GET",
                _ACCOUNT + r"/providers/Microsoft\.Insights/metrics",
                ("Microsoft.Insights/metrics/read",),
                self._metrics,
            ),
        ]
        self._routes = [(m, re.compile(f"^{p}$", re.IGNORECASE), a, h) for m, p, a, h in r]

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
        for verb, pattern, actions, handler in self._routes:
            m = pattern.match(path)
            if m is None or verb != method:
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
                self._authorize(sub, actions)
            return handler(_Call(tenant, sub, groups, query, base, path))
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
    def _allows(sub: SubscriptionSpec, action: str) -> bool:
        if sub.allowed_actions is None:
            return True
        return action.lower() in {a.lower() for a in sub.allowed_actions}

    def _authorize(self, sub: SubscriptionSpec, actions: tuple[str, ...]) -> None:
        for action in actions:
            if not self._allows(sub, action):
                raise ArmError(
                    403,
                    "AuthorizationFailed",
                    f"The client '{self.tenant.client_id}' with object id '{self.tenant.client_id}' does "
                    f"not have authorization to perform action '{action}' over scope "
                    f"'/subscriptions/{sub.id}' or the scope is invalid.",
                )

    # -- handlers -----------------------------------------------------------------------------

    def _subscriptions(self, call: _Call) -> Json:
        """Subscriptions where the caller holds Microsoft.Resources/subscriptions/read."""
        visible = [s for s in call.tenant.subscriptions if self._allows(s, _LIST_ACTION)]
        subs = [bodies.subscription(s, call.tenant.tenant_id) for s in visible]
        return _paged(subs, call, self.page_size)

    def _descendants(self, call: _Call) -> Json:
        """A group's subscriptions; the role must be granted over them (held at group scope)."""
        group = call.groups["mg"].lower()
        members = [s for s in call.tenant.subscriptions if s.management_group.lower() == group]
        for s in members:
            self._authorize(s, ("Microsoft.Management/managementGroups/descendants/read",))
        items = [
            {
                "id": f"/subscriptions/{s.id}",
                "type": "Microsoft.Management/managementGroups/subscriptions",
                "name": s.id,
                "properties": {
                    "displayName": s.name,
                    "parent": {"id": f"/providers/Microsoft.Management/managementGroups/{group}"},
                },
            }
            for s in members
        ]
        return _paged(items, call, self.page_size)

    def _vms(self, call: _Call) -> Json:
        assert call.sub is not None
        return _paged([bodies.vm(call.sub.id, v) for v in call.sub.vms], call, self.page_size)

    def _scale_sets(self, call: _Call) -> Json:
        assert call.sub is not None
        items = [bodies.scale_set(call.sub.id, s) for s in call.sub.scale_sets]
        return _paged(items, call, self.page_size)

    def _instance_view(self, call: _Call) -> Json:
        assert call.sub is not None
        for ss in call.sub.scale_sets:
            if (
                ss.name.lower() == call.groups["name"].lower()
                and ss.resource_group.lower() == call.groups["rg"].lower()
            ):
                return bodies.scale_set_instance_view(ss)
        raise ArmError(404, "ResourceNotFound", f"scale set {call.groups['name']} not found")

    def _skus(self, call: _Call) -> Json:
        m = re.fullmatch(r"location eq '([^']+)'", call.query.get("$filter", ""))
        if m is None:
            raise ArmError(
                400, "InvalidFilter", "only $filter=location eq '<location>' is supported"
            )
        return {"value": bodies.skus(m.group(1), call.tenant.sku_gpus)}

    def _activity(self, call: _Call) -> Json:
        assert call.sub is not None
        m = _ACTIVITY_FILTER.match(call.query.get("$filter", ""))
        if m is None:
            raise ArmError(400, "BadRequest", "The $filter is not valid for the Activity Log.")
        since, until = bodies.parse_iso(m.group(1)), bodies.parse_iso(m.group(2))
        field_name, wanted = m.group(3), (m.group(4) or "").lower()
        events = []
        for ev in bodies.activity_events(call.sub):
            if not since <= bodies.parse_iso(ev["eventTimestamp"]) <= until:
                continue
            if (
                field_name == "resourceProvider"
                and ev["resourceProviderName"]["value"].lower() != wanted
            ):
                continue
            if field_name == "resourceUri" and ev["resourceId"].lower() != wanted:
                continue
            events.append(ev)
        select = [s.strip() for s in call.query.get("$select", "").split(",") if s.strip()]
        if select:
            events = [{k: v for k, v in ev.items() if k in select} for ev in events]
        return _paged(events, call, self.page_size)

    def _accounts(self, call: _Call) -> Json:
        assert call.sub is not None
        items = [bodies.cognitive_account(call.sub.id, a) for a in call.sub.accounts]
        return _paged(items, call, self.page_size)

    def _account(self, call: _Call) -> CognitiveAccountSpec:
        assert call.sub is not None
        for acct in call.sub.accounts:
            if acct.name.lower() == call.groups["acct"].lower():
                return acct
        raise ArmError(404, "ResourceNotFound", f"account {call.groups['acct']} not found")

    def _deployments(self, call: _Call) -> Json:
        acct = self._account(call)
        assert call.sub is not None
        items = [bodies.deployment(call.sub.id, acct, d) for d in acct.deployments]
        return _paged(items, call, self.page_size)

    def _definitions(self, call: _Call) -> Json:
        assert call.sub is not None
        return bodies.metric_definitions(call.sub.id, self._account(call))

    def _metrics(self, call: _Call) -> Json:
        acct = self._account(call)
        assert call.sub is not None
        q = call.query
        names = [n for n in q.get("metricnames", "").split(",") if n]
        unknown = [n for n in names if n not in bodies.metric_names(acct)]
        if not names or unknown:
            raise ArmError(
                400,
                "BadRequest",
                f"Failed to find metric configuration for provider: Microsoft.CognitiveServices, "
                f"resource Type: accounts, metric: {','.join(unknown) or '(none)'}",
            )
        if (
            q.get("interval", "").upper() != "P1D"
            or "total" not in q.get("aggregation", "").lower()
        ):
            raise ArmError(
                400, "BadRequest", "the emulator serves interval P1D with aggregation Total"
            )
        start_text, _, end_text = q.get("timespan", "").partition("/")
        split = q.get("$filter", "")
        if split not in ("", "ModelDeploymentName eq '*'"):
            raise ArmError(400, "BadRequest", f"unsupported $filter {split!r}")
        unsplittable = [n for n in names if not bodies.splits_by_deployment(acct, n)]
        if split and unsplittable:
            raise ArmError(
                400,
                "BadRequest",
                f"Metric {','.join(unsplittable)} does not support the dimension ModelDeploymentName",
            )
        return bodies.metrics(
            call.sub.id,
            acct,
            names,
            bodies.parse_iso(start_text),
            bodies.parse_iso(end_text),
            bool(split),
            int(q.get("top", "10")),
        )
