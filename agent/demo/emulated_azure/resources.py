"""The ARM resources the emulator serves, declared as data: one `Route` per REST operation.

Adding a resource is adding a row to `ROUTES` (method, path regex, the RBAC actions ARM checks
on the subscription) and a handler that builds the body from the scenario specs. The router
(`FakeArm`) owns everything else: the token, the api-version, faults, the subscription lookup
and the RBAC check, so a handler only ever sees an authorized call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from computewatch.demo.emulated_azure import bodies
from computewatch.demo.emulated_azure.specs import CognitiveAccountSpec
from computewatch.demo.emulated_azure.wire import ArmError, Call, Json, paged

if TYPE_CHECKING:
    from computewatch.demo.emulated_azure.router import FakeArm

LIST_ACTION = "Microsoft.Resources/subscriptions/read"
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_ACCOUNT = _RG + r"/providers/Microsoft\.CognitiveServices/accounts/(?P<acct>[^/]+)"
_ACTIVITY_FILTER = re.compile(
    r"^eventTimestamp ge '([^']+)' and eventTimestamp le '([^']+)'"
    r"(?: and (resourceGroupName|resourceUri|resourceProvider|correlationId) eq '([^']+)')?$"
)


@dataclass(frozen=True)
class Route:
    """One REST operation. A `(?P<sub>…)` group makes the router resolve the subscription and
    require `actions` on it; the pattern is matched whole and case-insensitively."""

    method: str
    pattern: str
    actions: tuple[str, ...]
    handler: Callable[[FakeArm, Call], Json]


def _subscriptions(arm: FakeArm, call: Call) -> Json:
    """Subscriptions where the caller holds Microsoft.Resources/subscriptions/read."""
    visible = [s for s in call.tenant.subscriptions if arm.allows(s, LIST_ACTION)]
    subs = [bodies.subscription(s, call.tenant.tenant_id) for s in visible]
    return paged(subs, call, arm.page_size)


def _descendants(arm: FakeArm, call: Call) -> Json:
    """A group's subscriptions; the role must be granted over them (held at group scope)."""
    group = call.groups["mg"].lower()
    members = [s for s in call.tenant.subscriptions if s.management_group.lower() == group]
    for s in members:
        arm.authorize(s, ("Microsoft.Management/managementGroups/descendants/read",))
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
    return paged(items, call, arm.page_size)


def _vms(arm: FakeArm, call: Call) -> Json:
    assert call.sub is not None
    status_only = call.query.get("statusOnly", "").lower() == "true"
    items = [bodies.vm(call.sub.id, v, status_only) for v in call.sub.vms]
    return paged(items, call, arm.page_size)


def _scale_sets(arm: FakeArm, call: Call) -> Json:
    assert call.sub is not None
    items = [bodies.scale_set(call.sub.id, s) for s in call.sub.scale_sets]
    return paged(items, call, arm.page_size)


def _instance_view(arm: FakeArm, call: Call) -> Json:
    assert call.sub is not None
    for ss in call.sub.scale_sets:
        if (
            ss.name.lower() == call.groups["name"].lower()
            and ss.resource_group.lower() == call.groups["rg"].lower()
        ):
            return bodies.scale_set_instance_view(ss)
    raise ArmError(404, "ResourceNotFound", f"scale set {call.groups['name']} not found")


def _skus(arm: FakeArm, call: Call) -> Json:
    m = re.fullmatch(r"location eq '([^']+)'", call.query.get("$filter", ""))
    if m is None:
        raise ArmError(400, "InvalidFilter", "only $filter=location eq '<location>' is supported")
    return {"value": bodies.skus(m.group(1), call.tenant.sku_gpus)}


def _activity(arm: FakeArm, call: Call) -> Json:
    """The Activity Log: only the `$filter` grammar ARM accepts, and `$select` honoured."""
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
    return paged(events, call, arm.page_size)


def _accounts(arm: FakeArm, call: Call) -> Json:
    assert call.sub is not None
    items = [bodies.cognitive_account(call.sub.id, a) for a in call.sub.accounts]
    return paged(items, call, arm.page_size)


def _account(call: Call) -> CognitiveAccountSpec:
    assert call.sub is not None
    for acct in call.sub.accounts:
        if acct.name.lower() == call.groups["acct"].lower():
            return acct
    raise ArmError(404, "ResourceNotFound", f"account {call.groups['acct']} not found")


def _deployments(arm: FakeArm, call: Call) -> Json:
    acct = _account(call)
    assert call.sub is not None
    items = [bodies.deployment(call.sub.id, acct, d) for d in acct.deployments]
    return paged(items, call, arm.page_size)


def _definitions(arm: FakeArm, call: Call) -> Json:
    assert call.sub is not None
    return bodies.metric_definitions(call.sub.id, _account(call))


def _metrics(arm: FakeArm, call: Call) -> Json:
    """Daily totals, refusing what Azure Monitor refuses: unknown metric names, and the
    deployment split on a metric that has no ModelDeploymentName dimension."""
    acct = _account(call)
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
    if q.get("interval", "").upper() != "P1D" or "total" not in q.get("aggregation", "").lower():
        raise ArmError(400, "BadRequest", "the emulator serves interval P1D with aggregation Total")
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


_COMPUTE = r"/providers/Microsoft\.Compute"
_MGMT_GROUP = r"/providers/Microsoft\.Management/managementGroups/(?P<mg>[^/]+)"

ROUTES: tuple[Route, ...] = (
    Route("GET", r"/subscriptions", (LIST_ACTION,), _subscriptions),
    Route("GET", _MGMT_GROUP + r"/descendants", (), _descendants),
    Route(
        "GET",
        _SUB + _COMPUTE + r"/virtualMachines",
        (
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/instanceView/read",
        ),
        _vms,
    ),
    Route(
        "GET",
        _SUB + _COMPUTE + r"/virtualMachineScaleSets",
        ("Microsoft.Compute/virtualMachineScaleSets/read",),
        _scale_sets,
    ),
    Route(
        "GET",
        _RG + _COMPUTE + r"/virtualMachineScaleSets/(?P<name>[^/]+)/instanceView",
        ("Microsoft.Compute/virtualMachineScaleSets/instanceView/read",),
        _instance_view,
    ),
    Route("GET", _SUB + _COMPUTE + r"/skus", ("Microsoft.Compute/skus/read",), _skus),
    Route(
        "GET",
        _SUB + r"/providers/Microsoft\.Insights/eventtypes/management/values",
        ("Microsoft.Insights/eventtypes/values/read",),
        _activity,
    ),
    Route(
        "GET",
        _SUB + r"/providers/Microsoft\.CognitiveServices/accounts",
        ("Microsoft.CognitiveServices/accounts/read",),
        _accounts,
    ),
    Route(
        "GET",
        _ACCOUNT + r"/deployments",
        ("Microsoft.CognitiveServices/accounts/deployments/read",),
        _deployments,
    ),
    Route(
        "GET",
        _ACCOUNT + r"/providers/Microsoft\.Insights/metricDefinitions",
        ("Microsoft.Insights/metricDefinitions/read",),
        _definitions,
    ),
    Route(
        "GET",
        _ACCOUNT + r"/providers/Microsoft\.Insights/metrics",
        ("Microsoft.Insights/metrics/read",),
        _metrics,
    ),
)
