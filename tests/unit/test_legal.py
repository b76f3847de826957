"""Legal-status framing: a finding against a rule that is not law never reads as a legal breach."""

import pytest

from computewatch.domain import LegalStatus
from computewatch.domain.legal import LEGEND, certification_applies, crossing_phrase, framing


def test_every_status_has_a_legend_entry() -> None:
    assert set(LEGEND) == set(LegalStatus)


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        ("bill", "threshold crossed (bill, not law)"),
        ("proposed", "threshold crossed (proposed, not law)"),
        ("revoked", "threshold crossed (revoked, not law)"),
        ("internal-policy", "threshold crossed (internal policy, not law)"),
        ("in-force", "threshold crossed (in force)"),
    ],
)
def test_crossing_phrase(status: str, phrase: str) -> None:
    assert crossing_phrase(status) == phrase
    assert framing(status, "BREACH") == phrase


def test_certification_only_where_an_obligation_exists() -> None:
    assert certification_applies("in-force")
    assert not any(certification_applies(s) for s in ("bill", "proposed", "revoked"))
    assert not certification_applies("internal-policy")
    assert certification_applies("internal-policy", attest_internal=True)
