"""Mail: a real SMTP server in-process (aiosmtpd, STARTTLS or implicit TLS, AUTH, trustme
certificates) receives the monthly report; an outage delays it and it still arrives once."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.config.settings import MailSettings
from computewatch.delivery.evidence import Bundle, bundle_reports, ledger_anchor
from computewatch.delivery.mail import (
    build_message,
    deliver_due,
    enqueue,
    enqueue_report,
    parse,
    write_eml,
)
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import UsageError
from computewatch.reports.context import AuditContext
from computewatch.reports.render import write_reports
from computewatch.store import Store
from tests.helpers.process import free_port
from tests.helpers.reports import CHINESE, sample_context

USER, PASSWORD = "reporter", "s3cret-pässword"


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_pem(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def tls(ca: trustme.CA) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def start_server(port: int, server_ctx: ssl.SSLContext, implicit: bool) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    tls_args: dict[str, Any] = (
        # aiosmtpd only counts STARTTLS as "TLS" for AUTH; on an implicit-TLS socket the whole
        # session is encrypted, so its plaintext-AUTH guard is switched off there.
        {"ssl_context": server_ctx, "auth_require_tls": False}
        if implicit
        else {"tls_context": server_ctx, "require_starttls": True}
    )
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_required=True,
        **tls_args,
    )
    if implicit:  # the readiness probe must speak TLS too
        controller.ssl_context = server_ctx
    controller.start()
    return controller, inbox


def settings(port: int, security: str = "starttls", limit: int = 10_000_000) -> MailSettings:
    return MailSettings(
        host="127.0.0.1",
        port=port,
        security=security,  # type: ignore[arg-type]
        username=USER,
        password_env="CW_SMTP_PASSWORD",
        sender="computewatch@example.com",
        sender_name='Compliance "Desk" <ops>\r\nBcc: victim@example.com',
        recipients={"monthly": ["officer@example.com", "audit@example.org"]},
        max_attachment_bytes=limit,
        timeout=5,
    )


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_SMTP_PASSWORD", PASSWORD)


@pytest.fixture(scope="module")
def ctx() -> AuditContext:
    return sample_context(Catalog.load())


@pytest.fixture(scope="module")
def bundle(ctx: AuditContext, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    out = tmp_path_factory.mktemp("bundle")
    return bundle_reports(write_reports(ctx, ["html", "json"], out / "staging"), ctx, None, out)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as s:
        yield s


def parse_bytes(raw: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_monthly_report_arrives_with_attachments(
    implicit: bool,
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
    ctx: AuditContext,
    bundle: Bundle,
    store: Store,
) -> None:
    port = free_port()
    controller, inbox = start_server(port, tls[0], implicit)
    try:
        cfg = settings(port, "tls" if implicit else "starttls")
        enqueue_report(store, cfg, ctx, bundle.files, "monthly", ctx.generated_at)
        result = deliver_due(store, cfg, ctx.generated_at, ssl_context=tls[1])
    finally:
        controller.stop()
    assert result.failed == [] and len(result.sent) == 1
    [(mail_from, rcpts, raw)] = inbox.messages
    assert mail_from == "computewatch@example.com"
    assert sorted(rcpts) == ["audit@example.org", "officer@example.com"]
    msg = parse_bytes(raw)
    assert msg["Bcc"] is None  # the hostile display name stayed inside From
    assert msg["From"].addresses[0].addr_spec == "computewatch@example.com"
    assert ctx.report_id in msg["Subject"]
    parts = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert set(parts) == {
        bundle.files["pdf"].name,
        bundle.files["csv"].name,
        bundle.files["csv-findings"].name,
    }
    assert parts[bundle.files["pdf"].name] == bundle.files["pdf"].read_bytes()
    usage_csv = parts[bundle.files["csv"].name]
    text = usage_csv.decode("utf-8-sig") if isinstance(usage_csv, bytes) else usage_csv
    assert CHINESE in text
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    assert "1 BREACH" in plain.get_content() and "<strong>1 BREACH</strong>" in html.get_content()


def test_outage_delays_and_delivers_exactly_once(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], ctx: AuditContext, bundle: Bundle, store: Store
) -> None:
    port = free_port()  # nothing listens here yet: the SMTP server is down
    cfg = settings(port)
    now = ctx.generated_at
    built = enqueue_report(store, cfg, ctx, bundle.files, "monthly", now)
    assert not enqueue(store, built.message, "monthly", now)  # queued once, not twice
    down = deliver_due(store, cfg, now, ssl_context=tls[1])
    assert down.sent == [] and len(down.failed) == 1
    [row] = store.outbox.pending()
    assert row.attempts == 1 and row.sent_at is None
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at == now + timedelta(minutes=1)
    assert deliver_due(store, cfg, now + timedelta(seconds=30), ssl_context=tls[1]).failed == []

    controller, inbox = start_server(port, tls[0], implicit=False)
    try:
        later = now + timedelta(minutes=1)
        up = deliver_due(store, cfg, later, ssl_context=tls[1])
        again = deliver_due(store, cfg, later + timedelta(hours=1), ssl_context=tls[1])
    finally:
        controller.stop()
    assert up.sent == [row.message_id] and again.sent == []
    assert len(inbox.messages) == 1
    [done] = store.outbox.entries()
    assert done.sent_at == later and done.attempts == 2 and store.outbox.pending() == []


def test_wrong_password_is_retried_not_lost(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
    ctx: AuditContext,
    bundle: Bundle,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    controller, inbox = start_server(port, tls[0], implicit=False)
    try:
        cfg = settings(port)
        enqueue_report(store, cfg, ctx, bundle.files, "monthly", ctx.generated_at)
        monkeypatch.setenv("CW_SMTP_PASSWORD", "wrong")
        result = deliver_due(store, cfg, ctx.generated_at, ssl_context=tls[1])
    finally:
        controller.stop()
    assert inbox.messages == [] and "SMTPAuthenticationError" in result.failed[0][1]
    assert "wrong" not in result.failed[0][1]
    [row] = store.outbox.pending()
    assert row.attempts == 1
    monkeypatch.delenv("CW_SMTP_PASSWORD")
    with pytest.raises(UsageError, match="CW_SMTP_PASSWORD"):
        deliver_due(store, cfg, row.next_attempt_at)


def test_oversized_attachment_replaced_by_path_and_dry_run(
    ctx: AuditContext, bundle: Bundle, tmp_path: Path
) -> None:
    pdf = bundle.files["pdf"]
    cfg = settings(25, limit=pdf.stat().st_size - 1)
    built = build_message(ctx, cfg, "monthly", [pdf, bundle.files["csv"]], ctx.generated_at)
    assert built.omitted == (pdf.name,) and built.attached == (bundle.files["csv"].name,)
    eml = write_eml(built.message, tmp_path / "monthly.eml")
    msg = parse_bytes(eml.read_bytes())
    assert [p.get_filename() for p in msg.iter_attachments()] == [bundle.files["csv"].name]
    plain = msg.get_body(("plain",))
    assert plain is not None
    note = " ".join(plain.get_content().split())
    assert f"{pdf.name} ({pdf.stat().st_size:,} bytes) exceeds the attachment limit" in note
    assert str(pdf.resolve()) in note


def test_missing_recipients_and_parse_roundtrip(
    ctx: AuditContext, bundle: Bundle, store: Store
) -> None:
    with pytest.raises(UsageError, match="quarterly"):
        build_message(ctx, settings(25), "quarterly", [], ctx.generated_at)
    built = build_message(ctx, settings(25), "monthly", [], ctx.generated_at)
    assert enqueue(store, built.message, "monthly", ctx.generated_at)
    [row] = store.outbox.entries()
    assert parse(row)["Message-ID"] == built.message["Message-ID"]
    assert row.recipients == ("officer@example.com", "audit@example.org")


def test_outbox_cli_lists_previews_and_sends(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
    ca_pem: Path,
    ctx: AuditContext,
    bundle: Bundle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI only wires config and store to the library; the default SSL context is used, so
    the test CA is trusted through SSL_CERT_FILE as an operator would do for a private CA."""
    port = free_port()
    cfg = settings(port)
    db = tmp_path / "cw.db"
    config = tmp_path / "computewatch.yaml"
    config.write_text(
        "version: 1\nreporting_entity: {name: Example}\n"
        f"store: {{url: 'sqlite:///{db}'}}\n"
        f"mail: {{host: 127.0.0.1, port: {port}, username: {USER}, "
        "password_env: CW_SMTP_PASSWORD, sender: computewatch@example.com, "
        "recipients: {monthly: [officer@example.com]}}\n"
    )
    with Store.open(f"sqlite:///{db}") as store:
        enqueue_report(store, cfg, ctx, bundle.files, "monthly", ctx.generated_at)
    runner = CliRunner()
    listed = runner.invoke(main, ["outbox", "--config", str(config), "--eml-dir", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    assert "1 message(s) pending" in listed.output
    [eml] = tmp_path.glob("*.eml")
    assert parse_bytes(eml.read_bytes())["X-Computewatch-Report"] == ctx.report_id

    controller, inbox = start_server(port, tls[0], implicit=False)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_pem))
        sent = runner.invoke(main, ["outbox", "--config", str(config), "--send"])
    finally:
        controller.stop()
    assert sent.exit_code == 0, sent.output
    assert "sent    <" in sent.output and "0 message(s) pending" in sent.output
    assert len(inbox.messages) == 1


def test_outbox_send_fails_while_queued_and_retries_now(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
    ca_pem: Path,
    ctx: AuditContext,
    bundle: Bundle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`outbox --send` exits 6 while anything stays queued; `--retry-now` ignores the backoff."""
    port = free_port()  # the SMTP server is down
    db = tmp_path / "cw.db"
    config = tmp_path / "computewatch.yaml"
    config.write_text(
        "version: 1\nreporting_entity: {name: Example}\n"
        f"store: {{url: 'sqlite:///{db}'}}\n"
        f"mail: {{host: 127.0.0.1, port: {port}, username: {USER}, "
        "password_env: CW_SMTP_PASSWORD, sender: computewatch@example.com, "
        "recipients: {monthly: [officer@example.com]}}\n"
    )
    with Store.open(f"sqlite:///{db}") as store:
        enqueue_report(store, settings(port), ctx, bundle.files, "monthly", ctx.generated_at)
    runner = CliRunner()
    send = ["outbox", "--config", str(config), "--send"]
    down = runner.invoke(main, send)
    assert down.exit_code == 6, down.output
    assert "retry   <" in down.output and "1 message(s) pending" in down.output
    controller, inbox = start_server(port, tls[0], implicit=False)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_pem))
        backing_off = runner.invoke(main, send)  # the next attempt is a minute away
        delivered_before = len(inbox.messages)
        now = runner.invoke(main, [*send, "--retry-now"])
    finally:
        controller.stop()
    assert backing_off.exit_code == 6 and delivered_before == 0, backing_off.output
    assert "sent" not in backing_off.output
    assert now.exit_code == 0, now.output
    assert "sent    <" in now.output and "0 message(s) pending" in now.output
    assert len(inbox.messages) == 1
    alone = runner.invoke(main, ["outbox", "--config", str(config), "--retry-now"])
    assert alone.exit_code == 2 and "goes with --send" in alone.output


def test_report_mail_carries_the_ledger_head(ctx: AuditContext, bundle: Bundle) -> None:
    """Item 12: every e-mailed report prints the ledger head, a copy outside the server."""
    built = build_message(ctx, settings(25), "monthly", [], ctx.generated_at, ledger_anchor(bundle))
    for part in (("plain",), ("html",)):
        body = built.message.get_body(part)
        assert body is not None
        text = body.get_content()
        assert bundle.ledger_entry.digest in text and "--anchor" in text
