"""What a rule's legal status means for how a crossed threshold may be worded (pure).

A finding against a rule that is not law (a proposal, a bill, a revoked order, an internal policy)
is a threshold crossed, not a legal breach; only where an obligation to report exists (a rule in
force, or an internal policy the operator chooses to attest) does a notice carry a certification
block. Every report prints the legend below.
"""

from __future__ import annotations

from computewatch.domain.enums import LegalStatus

LEGEND: dict[str, str] = {
    LegalStatus.IN_FORCE: "in force: binding law or regulation now; a crossed threshold may create "
    "an obligation (to notify, report, or obtain a licence) as the cited text says",
    LegalStatus.PROPOSED: "proposed: a published proposal (e.g. a notice of proposed rulemaking) "
    "that has not been adopted; no legal obligation follows from it",
    LegalStatus.BILL: "bill: legislation introduced or passed by one chamber, not enacted; no legal "
    "obligation follows from it",
    LegalStatus.REVOKED: "revoked: a text that was once in force and has been revoked; kept as a "
    "reference threshold only",
    LegalStatus.INTERNAL_POLICY: "internal policy: a threshold the operator set for itself; binding "
    "only as the operator's own policy",
}

_SHORT = {
    LegalStatus.PROPOSED: "proposed",
    LegalStatus.BILL: "bill",
    LegalStatus.REVOKED: "revoked",
    LegalStatus.INTERNAL_POLICY: "internal policy",
}


def is_law(status: str) -> bool:
    return status == LegalStatus.IN_FORCE


def crossing_phrase(status: str) -> str:
    """How a crossed threshold of a rule with this status is worded on every surface."""
    if is_law(status):
        return "threshold crossed (in force)"
    return f"threshold crossed ({_SHORT.get(LegalStatus(status), status)}, not law)"


def framing(status: str, finding_status: str) -> str:
    """The finding's wording: BREACH becomes a crossed threshold with its status; UNKNOWN and OK
    say what they say, with the status beside them."""
    if finding_status == "BREACH":
        return crossing_phrase(status)
    label = "in force" if is_law(status) else f"{_SHORT.get(LegalStatus(status), status)}, not law"
    return f"{'not determinable' if finding_status == 'UNKNOWN' else 'not crossed'} ({label})"


def certification_applies(status: str, attest_internal: bool = False) -> bool:
    """Is there an obligation (or an attested policy) that a signature would certify against?"""
    return is_law(status) or (status == LegalStatus.INTERNAL_POLICY and attest_internal)
