"""Activity Log power events -> when each VM or scale set was running.

The Activity Log `$filter` grammar allows `eventTimestamp` plus ONE of resourceGroupName /
resourceUri / resourceProvider / correlationId, so the query takes every Microsoft.Compute
event of the subscription and the power actions are picked out here. It keeps 90 days.

Pairing, per resource, over [since, until] (until = now, so the current power state closes the
story): before the first event the resource was in the state that event leaves (a `start` means
it was stopped, a `deallocate`/`powerOff` means it was running); with no event at all it was in
its current state throughout. A resource cannot run before it was created. Only `Succeeded`
operations count. Not visible: shutdowns from inside the guest OS (no ARM event; the VM stays
allocated and billed) and VMs deleted before the audit (no longer in the inventory).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from computewatch.collectors.azure.common import translate_errors

RETENTION_DAYS = 90
SELECT = "eventTimestamp,operationName,resourceId,status"
# operationName (lower-cased) -> does it leave the resource running?
POWER_ACTIONS = {
    f"microsoft.compute/{kind}/{action}/action": action == "start"
    for kind in ("virtualmachines", "virtualmachinescalesets")
    for action in ("start", "deallocate", "poweroff")
}


@dataclass(frozen=True, slots=True, order=True)
class PowerEvent:
    time: datetime
    starts: bool


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def activity_filter(since: datetime, until: datetime) -> str:
    return (
        f"eventTimestamp ge '{_iso(since)}' and eventTimestamp le '{_iso(until)}' "
        "and resourceProvider eq 'Microsoft.Compute'"
    )


def _value(field: Any) -> str:
    """LocalizableString -> its invariant value."""
    return str(getattr(field, "value", "") or "")


def power_events(monitor: Any, since: datetime, until: datetime) -> dict[str, list[PowerEvent]]:
    """Succeeded start / deallocate / powerOff events per resource id (lower-cased: the log
    often upper-cases resource group names)."""
    out: dict[str, list[PowerEvent]] = defaultdict(list)
    with translate_errors("insights"):
        for ev in monitor.activity_logs.list(filter=activity_filter(since, until), select=SELECT):
            starts = POWER_ACTIONS.get(_value(ev.operation_name).lower())
            if starts is None or _value(ev.status).lower() != "succeeded" or not ev.resource_id:
                continue
            when: datetime = ev.event_timestamp.astimezone(UTC)
            out[str(ev.resource_id).lower()].append(PowerEvent(when, starts))
    return out


def running_spans(
    events: list[PowerEvent],
    running_now: bool,
    created: datetime | None,
    since: datetime,
    until: datetime,
) -> list[tuple[datetime, datetime]]:
    """The [start, end) spans within [since, until] during which the resource was running."""
    evs = sorted(e for e in events if since <= e.time <= until)
    running = (not evs[0].starts) if evs else running_now
    floor = max(since, created) if created else since
    opened: datetime | None = floor if running else None
    spans: list[tuple[datetime, datetime]] = []
    for ev in evs:
        if ev.starts and opened is None:
            opened = max(ev.time, floor)
        elif not ev.starts and opened is not None:
            if ev.time > opened:
                spans.append((opened, ev.time))
            opened = None
    if opened is not None and until > opened:
        spans.append((opened, until))
    return spans
