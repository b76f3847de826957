"""The breach notice e-mail (computewatch.delivery.mail.notice_message): headers that cannot be
injected, a Message-ID derived from the finding (queued once ever), the figures in the body."""

from __future__ import annotations

import dataclasses
from email import policy
from email.parser import BytesParser

from computewatch.config.settings import MailSettings
from computewatch.delivery.mail import notice_message
from computewatch.domain import FindingStatus, Lifecycle, Window, utc
from computewatch.store import FindingRow

OCT = Window.month("2026-10")
ROW = FindingRow(
    id="abc123",
    rule_id="h100-month",
    scope_kind="account",
    scope_key="aws:111111111111",
    window_start=OCT.start,
    window_end=OCT.end,
    status=FindingStatus.BREACH,
    value=12345.678,
    threshold=1000.0,
    severity="high",
    lifecycle=Lifecycle.NEW,
    first_seen=utc(2026, 10, 20, 7, 5),
    last_seen=utc(2026, 10, 20, 7, 5),
    reported_at=None,
    detail="coverage partial: the value is a lower bound",
    run_id=3,
)
SETTINGS = MailSettings(
    host="smtp.example.org",
    sender="cw@example.org",
    sender_name="Compliance\r\nBcc: evil@example.org",
    recipients={"notice": ["officer@example.org"], "monthly": ["board@example.org"]},
)


def test_notice_headers_and_body() -> None:
    msg = notice_message(ROW, SETTINGS, "Reseller\nLtd", utc(2026, 10, 20, 8))
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert parsed["Subject"] == "BREACH h100-month aws:111111111111 — Reseller Ltd"
    assert parsed["Message-ID"] == "<notice.abc123@example.org>"
    assert parsed["X-Computewatch-Finding"] == "abc123"
    assert parsed["To"] == "officer@example.org"  # the notice list only
    assert "Bcc" not in parsed and "evil" not in str(parsed["From"]).split("<")[1]
    body = parsed.get_body().get_content()
    assert "Value: 1.235e+04 (threshold 1,000)" in body
    assert "Window: 2026-10-01 to 2026-11-01" in body
    assert "First seen: 2026-10-20 07:05 UTC" in body and ROW.detail in body


def test_unknown_value_says_so() -> None:
    row = dataclasses.replace(ROW, value=None)
    msg = notice_message(row, SETTINGS, "Reseller", utc(2026, 10, 20, 8))
    assert "Value: unknown (threshold 1,000)" in msg.get_content()
