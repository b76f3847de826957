"""JSON bodies in the shapes ARM returns them, built from the scenario specs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from computewatch.demo.emulated_azure.specs import (
    CognitiveAccountSpec,
    DeploymentSpec,
    Run,
    ScaleSetSpec,
    SubscriptionSpec,
    VmSpec,
)

CLASSIC_METRICS = (
    "ProcessedPromptTokens",
    "GeneratedTokens",
    "TokenTransaction",
    "AzureOpenAIRequests",
)
NEWER_METRICS = ("InputTokens", "OutputTokens", "TotalTokens", "ModelRequests")
SPLIT_DIMENSIONS = ("ApiName", "ModelDeploymentName", "ModelName", "ModelVersion", "Region")
PLAIN_METRICS = ("SuccessfulCalls",)  # defined, but without the deployment split
TRAINING_METRIC = "FineTunedTrainingHours"
PLAIN_DIMENSIONS = ("ApiName", "Region")
NON_GPU_SIZES = ("Standard_D4s_v5", "Standard_E8s_v5")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def resource_id(sub: str, group: str, kind: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{kind}/{name}"


def vm_id(sub: str, vm: VmSpec) -> str:
    return resource_id(sub, vm.resource_group, "Microsoft.Compute/virtualMachines", vm.name)


def scale_set_id(sub: str, ss: ScaleSetSpec) -> str:
    return resource_id(sub, ss.resource_group, "Microsoft.Compute/virtualMachineScaleSets", ss.name)


def account_id(sub: str, acct: CognitiveAccountSpec) -> str:
    return resource_id(sub, acct.resource_group, "Microsoft.CognitiveServices/accounts", acct.name)


def running_now(runs: tuple[Run, ...]) -> bool:
    return bool(runs) and runs[-1][1] is None


def subscription(sub: SubscriptionSpec, tenant_id: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub.id}",
        "subscriptionId": sub.id,
        "tenantId": tenant_id,
        "displayName": sub.name,
        "state": sub.state,
        "subscriptionPolicies": {
            "spendingLimit": "Off",
            "quotaId": "EnterpriseAgreement_2014-09-01",
        },
        "authorizationSource": "RoleBased",
    }


def _status(code: str) -> dict[str, str]:
    return {"code": code, "level": "Info", "displayStatus": code.split("/", 1)[1].capitalize()}


def vm(sub: str, spec: VmSpec, status_only: bool = False) -> dict[str, Any]:
    stopped = "stopped" if spec.stop_action == "powerOff" else "deallocated"
    power = "running" if running_now(spec.runs) else stopped
    body: dict[str, Any] = {
        "id": vm_id(sub, spec),
        "name": spec.name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": spec.location,
        "properties": {
            "vmId": _guid(sub, spec.name),
            "hardwareProfile": {"vmSize": spec.size},
            "provisioningState": "Succeeded",
            "timeCreated": iso(spec.created),
            "instanceView": {
                "statuses": [_status("ProvisioningState/succeeded"), _status(f"PowerState/{power}")]
            },
        },
    }
    if spec.size_listed == "never" or (spec.size_listed == "full-listing-only" and status_only):
        del body["properties"]["hardwareProfile"]
    return body


def scale_set(sub: str, spec: ScaleSetSpec) -> dict[str, Any]:
    return {
        "id": scale_set_id(sub, spec),
        "name": spec.name,
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": spec.location,
        "sku": {"name": spec.size, "tier": "Standard", "capacity": spec.capacity},
        "properties": {
            "orchestrationMode": spec.orchestration,
            "provisioningState": "Succeeded",
            "timeCreated": iso(spec.created),
            "uniqueId": _guid(sub, spec.name),
        },
    }


def scale_set_instance_view(spec: ScaleSetSpec) -> dict[str, Any]:
    power = "running" if running_now(spec.runs) else "deallocated"
    return {
        "virtualMachine": {
            "statusesSummary": [
                {"code": "ProvisioningState/succeeded", "count": spec.capacity},
                {"code": f"PowerState/{power}", "count": spec.capacity},
            ]
        },
        "statuses": [_status("ProvisioningState/succeeded")],
    }


def skus(location: str, gpus: dict[str, int]) -> list[dict[str, Any]]:
    sizes: list[tuple[str, int | None]] = [(s, None) for s in NON_GPU_SIZES] + list(gpus.items())
    out = []
    for size, count in sizes:
        caps = [{"name": "vCPUs", "value": "8"}, {"name": "MemoryGB", "value": "32"}]
        if count is not None:
            caps.append({"name": "GPUs", "value": str(count)})
        out.append(
            {
                "resourceType": "virtualMachines",
                "name": size,
                "tier": "Standard",
                "size": size.removeprefix("Standard_"),
                "locations": [location],
                "capabilities": caps,
                "restrictions": [],
            }
        )
    return out


def _event(sub: str, rid: str, op: str, status: str, when: datetime) -> dict[str, Any]:
    # The Activity Log often upper-cases the resource group in resourceId; so does the emulator.
    parts = rid.split("/")
    parts[4] = parts[4].upper()
    return {
        "eventDataId": _guid(rid, op, status, iso(when)),
        "correlationId": _guid(rid, op, iso(when)),
        "eventTimestamp": iso(when),
        "submissionTimestamp": iso(when + timedelta(seconds=20)),
        "operationName": {"value": op, "localizedValue": op},
        "status": {"value": status, "localizedValue": status},
        "resourceId": "/".join(parts),
        "resourceProviderName": {
            "value": "Microsoft.Compute",
            "localizedValue": "Microsoft.Compute",
        },
        "subscriptionId": sub,
        "category": {"value": "Administrative", "localizedValue": "Administrative"},
        "level": "Informational",
        "caller": "ops@fabrikam.example",
    }


def _action(sub: str, rid: str, op: str, when: datetime) -> list[dict[str, Any]]:
    return [
        _event(sub, rid, op, "Started", when - timedelta(seconds=45)),
        _event(sub, rid, op, "Succeeded", when),
    ]


def activity_events(sub: SubscriptionSpec) -> list[dict[str, Any]]:
    """Every Microsoft.Compute event of the subscription, newest first (as the service returns)."""
    events: list[dict[str, Any]] = []
    machines: list[tuple[str, str, datetime, tuple[Run, ...], str]] = [
        (vm_id(sub.id, v), "virtualMachines", v.created, v.runs, v.stop_action) for v in sub.vms
    ]
    machines += [
        (scale_set_id(sub.id, s), "virtualMachineScaleSets", s.created, s.runs, "deallocate")
        for s in sub.scale_sets
    ]
    for rid, kind, created, runs, stop_action in machines:
        prefix = f"Microsoft.Compute/{kind}"
        events += _action(sub.id, rid, f"{prefix}/write", created)
        disk = rid.replace(f"{kind}/", "disks/") + "_osdisk"
        events += _action(sub.id, disk, "Microsoft.Compute/disks/write", created)  # noise
        for start, end in runs:
            if start != created:
                events += _action(sub.id, rid, f"{prefix}/start/action", start)
            if end is not None:
                events += _action(sub.id, rid, f"{prefix}/{stop_action}/action", end)
    return sorted(events, key=lambda e: e["eventTimestamp"], reverse=True)


def cognitive_account(sub: str, spec: CognitiveAccountSpec) -> dict[str, Any]:
    return {
        "id": account_id(sub, spec),
        "name": spec.name,
        "type": "Microsoft.CognitiveServices/accounts",
        "location": spec.location,
        "kind": spec.kind,
        "sku": {"name": "S0"},
        "properties": {
            "endpoint": f"https://{spec.name}.openai.azure.example/",
            "provisioningState": "Succeeded",
        },
    }


def deployment(sub: str, acct: CognitiveAccountSpec, spec: DeploymentSpec) -> dict[str, Any]:
    return {
        "id": f"{account_id(sub, acct)}/deployments/{spec.name}",
        "name": spec.name,
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "sku": {"name": spec.sku, "capacity": 100},
        "properties": {
            "model": {"format": "OpenAI", "name": spec.model, "version": spec.version},
            "provisioningState": "Succeeded",
        },
    }


def metric_names(acct: CognitiveAccountSpec) -> tuple[str, ...]:
    newer = NEWER_METRICS if acct.kind.lower() == "aiservices" else ()
    training = (TRAINING_METRIC,) if acct.fine_tuning != "none" else ()
    return CLASSIC_METRICS + newer + training + PLAIN_METRICS


def splits_by_deployment(acct: CognitiveAccountSpec, metric: str) -> bool:
    if metric == TRAINING_METRIC:
        return acct.fine_tuning == "by_deployment"
    return metric not in PLAIN_METRICS


def metric_definitions(sub: str, acct: CognitiveAccountSpec) -> dict[str, Any]:
    rid = account_id(sub, acct)
    return {
        "value": [
            {
                "id": f"{rid}/providers/microsoft.insights/metricdefinitions/{name}",
                "resourceId": rid,
                "namespace": "Microsoft.CognitiveServices/accounts",
                "name": {"value": name, "localizedValue": name},
                "isDimensionRequired": False,
                "unit": "Count",
                "primaryAggregationType": "Total",
                "supportedAggregationTypes": ["Total", "Average", "Maximum", "Minimum", "Count"],
                "metricAvailabilities": [
                    {"timeGrain": grain, "retention": "P93D"} for grain in ("PT1M", "PT1H", "P1D")
                ],
                "dimensions": [
                    {"value": d, "localizedValue": d}
                    for d in (
                        SPLIT_DIMENSIONS if splits_by_deployment(acct, name) else PLAIN_DIMENSIONS
                    )
                ],
            }
            for name in metric_names(acct)
        ]
    }


def daily_value(metric: str, dep: DeploymentSpec, day: date) -> float:
    usage = {u.day: u for u in dep.usage}.get(day)
    if usage is None:
        return 0.0
    if metric in ("ProcessedPromptTokens", "InputTokens"):
        return float(usage.input_tokens)
    if metric in ("GeneratedTokens", "OutputTokens"):
        return float(usage.output_tokens)
    if metric in ("TokenTransaction", "TotalTokens"):
        return float(usage.input_tokens + usage.output_tokens)
    if metric == TRAINING_METRIC:
        return usage.training_hours
    return float(usage.requests)


def metrics(
    sub: str,
    acct: CognitiveAccountSpec,
    names: list[str],
    start: datetime,
    end: datetime,
    split: bool,
    top: int,
) -> dict[str, Any]:
    """Daily totals (grain P1D) per metric; one series per deployment when split, else one."""
    rid = account_id(sub, acct)
    days: list[date] = []
    day = start.date()
    while datetime(day.year, day.month, day.day, tzinfo=UTC) < end:
        days.append(day)
        day += timedelta(days=1)

    def points(name: str, deps: tuple[DeploymentSpec, ...]) -> list[dict[str, Any]]:
        return [
            {
                "timeStamp": f"{d.isoformat()}T00:00:00Z",
                "total": sum(daily_value(name, x, d) for x in deps),
            }
            for d in days
        ]

    value = []
    for name in names:
        if split:
            series = [
                {
                    # Azure returns the dimension name and value lower-cased.
                    "metadatavalues": [
                        {
                            "name": {
                                "value": "modeldeploymentname",
                                "localizedValue": "modeldeploymentname",
                            },
                            "value": dep.name.lower(),
                        }
                    ],
                    "data": points(name, (dep,)),
                }
                for dep in acct.deployments
            ][:top]
        else:
            series = [{"metadatavalues": [], "data": points(name, acct.deployments)}]
        value.append(
            {
                "id": f"{rid}/providers/Microsoft.Insights/metrics/{name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": name, "localizedValue": name},
                "unit": "Count",
                "timeseries": series,
                "errorCode": "Success",
            }
        )
    return {
        "cost": len(days) * len(names),
        "timespan": f"{iso(start)}/{iso(end)}",
        "interval": "P1D",
        "value": value,
        "namespace": "Microsoft.CognitiveServices/accounts",
        "resourceregion": acct.location,
    }
