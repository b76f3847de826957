"""E-mail delivery of reports through an outbox in the store.

A report is first queued (`enqueue`), then sent by `deliver_due`: an SMTP outage only delays it
(retries with exponential backoff), and the message id is the queue key, so queueing the same
report twice or running two senders never mails it twice. Headers are built with
`email.headerregistry`, so names with any characters cannot inject headers.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path

from computewatch.config.settings import MailSettings, ReportKind
from computewatch.domain import FindingStatus
from computewatch.domain.errors import UsageError
from computewatch.reports.context import AuditContext
from computewatch.reports.render import make_environment
from computewatch.store import FindingRow, OutboxRow, Store

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
LEASE = timedelta(minutes=15)  # a sender that dies mid-attempt frees the message after this
MAX_ATTEMPTS = 20
ATTACH_KINDS = ("pdf", "csv", "csv-findings")


def _one_line(text: str) -> str:
    """Header text on one line: CR, LF and other control characters become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


@dataclass(frozen=True, slots=True)
class Built:
    message: EmailMessage
    attached: tuple[str, ...]
    omitted: tuple[str, ...] = field(default=())


def build_message(
    ctx: AuditContext,
    settings: MailSettings,
    kind: ReportKind,
    attachments: Sequence[Path],
    now: datetime,
    anchor: str | None = None,
) -> Built:
    """A multipart text + HTML message with the files attached; any file over the configured
    limit is left out and named (with its path) in a note in both bodies. `anchor` (the ledger
    head after sealing) is printed so that a copy of it exists outside the server."""
    recipients = settings.recipients.get(kind, [])
    if not recipients:
        raise UsageError(f"no mail recipients configured for {kind} reports (mail.recipients)")
    attached, omitted, notes, files = [], [], [], []
    for path in attachments:
        size = path.stat().st_size
        if size > settings.max_attachment_bytes:
            omitted.append(path.name)
            notes.append(
                f"{path.name} ({size:,} bytes) exceeds the attachment limit of "
                f"{settings.max_attachment_bytes:,} bytes and is not attached; it is stored at "
                f"{path.resolve()}"
            )
        else:
            attached.append(path.name)
            files.append(path)
    env = make_environment()
    values = {"ctx": ctx, "attached": attached, "notes": notes, "anchor": anchor}
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = _one_line(
        f"{ctx.title} {ctx.period_start:%Y-%m-%d} to {ctx.period_end:%Y-%m-%d}: "
        f"{ctx.breaches} BREACH, {ctx.unknowns} UNKNOWN — {ctx.reporting_entity} ({ctx.report_id})"
    )
    sender = Address(display_name=_one_line(settings.sender_name), addr_spec=settings.sender)
    msg["From"] = sender
    msg["To"] = [Address(addr_spec=r) for r in recipients]
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{ctx.report_id}.{kind}@{sender.domain}>"
    msg["X-Computewatch-Report"] = ctx.report_id
    msg.set_content(env.get_template("mail.txt.j2").render(values))
    msg.add_alternative(env.get_template("mail.html.j2").render(values), subtype="html")
    for path in files:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        params = {"charset": "utf-8"} if maintype == "text" else {}  # our text files are UTF-8
        msg.add_attachment(
            path.read_bytes(),
            maintype=maintype,
            subtype=subtype,
            filename=path.name,
            params=params,
        )
    return Built(msg, tuple(attached), tuple(omitted))


def notice_message(
    finding: FindingRow, settings: MailSettings, reporting_entity: str, now: datetime
) -> EmailMessage:
    """A short threshold notice; its Message-ID derives from the finding id, so it is queued
    once ever, however many runs see the breach."""
    sender = Address(display_name=_one_line(settings.sender_name), addr_spec=settings.sender)
    value = "unknown" if finding.value is None else f"{finding.value:,.4g}"
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = _one_line(
        f"{FindingStatus.BREACH} {finding.rule_id} {finding.scope_key} — {reporting_entity}"
    )
    msg["From"] = sender
    msg["To"] = [Address(addr_spec=r) for r in settings.recipients.get("notice", [])]
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<notice.{finding.id}@{sender.domain}>"
    msg["X-Computewatch-Finding"] = finding.id
    msg.set_content(
        f"Rule {finding.rule_id} is in {FindingStatus.BREACH} for {finding.scope_key}.\n\n"
        f"Value: {value} (threshold {finding.threshold:,.4g})\n"
        f"Window: {finding.window_start:%Y-%m-%d} to {finding.window_end:%Y-%m-%d}\n"
        f"Severity: {finding.severity}\nFirst seen: {finding.first_seen:%Y-%m-%d %H:%M} UTC\n"
        f"Finding id: {finding.id}\n\n{finding.detail}\n"
    )
    return msg


def report_attachments(files: Mapping[str, Path]) -> list[Path]:
    """The PDF and CSV annex of a bundle (`Bundle.files`), in a stable order."""
    return [files[k] for k in ATTACH_KINDS if k in files]


def write_eml(message: EmailMessage, path: Path) -> Path:
    """The dry run: the exact bytes that would be sent, for preview in a mail client."""
    path.write_bytes(message.as_bytes(policy=policy.SMTP))
    return path


def enqueue(store: Store, message: EmailMessage, kind: str, now: datetime) -> bool:
    """Queue a message for delivery; False (and nothing queued) if its Message-ID already is."""
    recipients = tuple(a.addr_spec for a in message["To"].addresses)
    row = OutboxRow(
        message_id=str(message["Message-ID"]),
        kind=kind,
        recipients=recipients,
        message=message.as_bytes(policy=policy.SMTP),
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        sent_at=None,
        last_error="",
    )
    return store.outbox.add(row)


def enqueue_report(
    store: Store,
    settings: MailSettings,
    ctx: AuditContext,
    files: Mapping[str, Path],
    kind: ReportKind,
    now: datetime,
    anchor: str | None = None,
) -> Built:
    """Queue the report of a bundle (`Bundle.files`) for its recipients, once."""
    built = build_message(ctx, settings, kind, report_attachments(files), now, anchor)
    enqueue(store, built.message, kind, now)
    return built


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failed ones: 1, 2, 4 ... minutes, capped."""
    delay: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_CAP)


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _connect(settings: MailSettings, password: str | None, context: ssl.SSLContext) -> smtplib.SMTP:
    conn: smtplib.SMTP
    if settings.security == "tls":
        conn = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        conn = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        conn.ehlo()
        if settings.security == "starttls":
            conn.starttls(context=context)
            conn.ehlo()
        if settings.username:
            _login(conn, settings.username, password or "")
    except BaseException:
        conn.close()
        raise
    return conn


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN with UTF-8 credentials (RFC 4616) when offered: smtplib's own `login` encodes
    them as ASCII and, after a refusal, falls through to other mechanisms. Else smtplib decides."""
    if "PLAIN" not in conn.esmtp_features.get("auth", "").upper().split():
        conn.login(user, password)
        return
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = conn.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _password(settings: MailSettings) -> str | None:
    if not settings.password_env:
        return None
    value = os.environ.get(settings.password_env)
    if value is None:
        raise UsageError(f"environment variable {settings.password_env} (SMTP password) is not set")
    return value


def deliver_due(
    store: Store,
    settings: MailSettings,
    now: datetime,
    *,
    ssl_context: ssl.SSLContext | None = None,
    retry_now: bool = False,
) -> Delivery:
    """Send every queued message that is due; a failure reschedules it with backoff. With
    `retry_now` (an operator's request) every queued message is tried now, backoff and the
    attempt limit notwithstanding."""
    password = _password(settings)
    context = ssl_context or ssl.create_default_context()
    result = Delivery()
    conn: smtplib.SMTP | None = None
    try:
        for row in store.outbox.pending() if retry_now else store.outbox.due(now):
            exhausted = row.attempts >= MAX_ATTEMPTS and not retry_now
            if exhausted or not store.outbox.claim(row, now + LEASE):
                continue
            try:
                conn = conn or _connect(settings, password, context)
                conn.sendmail(settings.sender, list(row.recipients), row.message)
            except (smtplib.SMTPException, OSError) as exc:
                error = _one_line(f"{type(exc).__name__}: {exc}")[:500]
                retry = now + backoff(row.attempts + 1)
                store.outbox.done(row.message_id, sent_at=None, next_attempt_at=retry, error=error)
                result.failed.append((row.message_id, error))
                _drop(conn)
                conn = None
            else:
                store.outbox.done(row.message_id, sent_at=now, next_attempt_at=now, error="")
                result.sent.append(row.message_id)
    finally:
        _drop(conn)
    return result


def _drop(conn: smtplib.SMTP | None) -> None:
    """Close a connection that may already be broken; the outcome was recorded before."""
    if conn is None:
        return
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def parse(row: OutboxRow) -> EmailMessage:
    """The queued message, parsed back (for listing and for `.eml` previews)."""
    msg = BytesParser(policy=policy.default).parsebytes(row.message)
    assert isinstance(msg, EmailMessage)
    return msg
