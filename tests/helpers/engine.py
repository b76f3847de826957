"""What the rule-engine tests share: the audited month, status shorthands and a base rule."""

from computewatch.domain import FindingStatus, LegalStatus, Rule, Window

OCT = Window.month("2026-10")
BREACH, UNKNOWN, OK = FindingStatus.BREACH, FindingStatus.UNKNOWN, FindingStatus.OK

# More than 100 accelerator-hours of 3A090-class chips per account and month; tests vary it.
RULE = Rule(
    id="r",
    title="t",
    legal_basis="b",
    citation="",
    legal_status=LegalStatus.INTERNAL_POLICY,
    metric="accelerator_hours",
    scope="account",
    window="calendar_month",
    comparison=">",
    threshold=100,
    severity="high",
    chip_class="3A090",
)
