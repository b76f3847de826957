"""A finding as the reports print it: the engine's Finding flattened, with its scope's label, its
lifecycle state and its wording by legal status (computewatch.domain.legal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from computewatch.domain import Finding, FindingState
from computewatch.domain.legal import framing


@dataclass(frozen=True, slots=True)
class FindingView:
    id: str
    rule_id: str
    title: str
    status: str
    severity: str
    scope_kind: str
    scope_key: str
    metric: str
    comparison: str
    value: float | None
    threshold: float
    window_start: datetime
    window_end: datetime
    legal_basis: str
    citation: str
    legal_status: str
    detail: str
    evidence: tuple[str, ...]
    members: tuple[str, ...]
    scope_label: str
    lifecycle: str
    first_seen: datetime | None
    # "threshold crossed (bill, not law)": how the finding is worded (computewatch.domain.legal)
    framing: str = ""


def finding_view(f: Finding, state: FindingState | None, labels: dict[str, str]) -> FindingView:
    """The finding as every format prints it: scope label, lifecycle and legal framing."""
    return FindingView(
        id=f.id,
        rule_id=f.rule.id,
        title=f.rule.title,
        status=str(f.status),
        severity=f.rule.severity,
        scope_kind=f.scope_kind,
        scope_key=f.scope_key,
        metric=f.rule.metric,
        comparison=f.rule.comparison,
        value=f.value,
        threshold=f.threshold,
        window_start=f.window.start,
        window_end=f.window.end,
        legal_basis=f.rule.legal_basis,
        citation=f.rule.citation,
        legal_status=str(f.rule.legal_status),
        detail=f.detail,
        evidence=f.evidence,
        members=f.members,
        scope_label=labels.get(f.scope_key, f.scope_key),
        lifecycle="new" if state is None else str(state.lifecycle),
        first_seen=None if state is None else state.first_seen,
        framing=framing(str(f.rule.legal_status), str(f.status)),
    )
