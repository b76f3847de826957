"""Deliver: render the report context, then the side effects: evidence bundle, ledger, mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from computewatch.config.loader import LoadedConfig
from computewatch.config.settings import ReportKind
from computewatch.delivery.evidence import bundle_reports, ledger_anchor
from computewatch.delivery.mail import (
    build_message,
    deliver_due,
    enqueue_report,
    report_attachments,
    write_eml,
)
from computewatch.domain import RunInfo, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import UsageError
from computewatch.engine import lifecycle
from computewatch.engine.assess import Assessment
from computewatch.pipeline.stages import stage
from computewatch.reports.context import AuditContext, build_audit_context
from computewatch.reports.notices import write_notices
from computewatch.reports.outputs import needed_formats, write_outputs
from computewatch.reports.pdf_workers import PdfWorkers
from computewatch.reports.quarterly import write_quarterly
from computewatch.reports.render import make_environment
from computewatch.store import Store

MailMode = Literal["off", "send", "dry-run"]


@dataclass
class Delivered:
    context: AuditContext
    paths: dict[str, Path]
    bundle: Path | None = None
    notices: list[Path] = field(default_factory=list)
    extra: dict[str, Path] = field(default_factory=dict)  # notices and quarterly, by file name
    eml: Path | None = None
    mail_sent: list[str] = field(default_factory=list)
    mail_failed: list[tuple[str, str]] = field(default_factory=list)


def deliver(
    config: LoadedConfig,
    store: Store,
    assessment: Assessment,
    run: RunInfo,
    *,
    window: Window,
    now: datetime,
    out_dir: Path,
    formats: list[str],
    catalog: Catalog,
    bundle: bool,
    mail: MailMode,
    report_key: str | None,
) -> Delivered:
    context = build_audit_context(
        assessment,
        run,
        reporting_entity=config.app.reporting_entity.name,
        catalog=catalog,
        report_key=report_key,
    )
    settings = config.app.reports
    # Only what the run needs: a one-off `--format json` renders no PDF.
    needed = needed_formats(
        formats, bundle=bundle, bundle_formats=settings.bundle_formats, mail=mail != "off"
    )
    # One pool of PDF worker processes for the audit, the notices and the quarterly report.
    with PdfWorkers() as workers:
        with stage("rendering"):
            env = make_environment(config.templates_dir)
            out = Delivered(context, write_outputs(context, needed, out_dir, env, workers))
        if not bundle:
            return out
        pdf = "pdf" in needed
        with stage("rendering notices and quarterly"):
            extra = {
                **write_notices(
                    context,
                    out_dir,
                    env,
                    pdf=pdf,
                    each_pdf=settings.per_notice_pdf,
                    attest_internal=settings.attest_internal_policy,
                    workers=workers,
                ),
                **write_quarterly(context, out_dir, env, pdf=pdf, workers=workers),
            }
    out.notices = [
        p for name, p in extra.items() if name.startswith("notice-") and p.suffix == ".html"
    ]
    out.extra = extra
    with stage("sealing"):
        sealed = bundle_reports(
            {**out.paths, **extra},
            context,
            store,
            out_dir,
            created_at=now,
            signing_key_env=settings.signing_key_env,
            pdf=False,  # every file was written above; the bundle holds copies of exactly these
            csv=False,
        )
    out.bundle = sealed.directory
    if mail != "off":
        mail_settings = config.app.mail
        if mail_settings is None:
            raise UsageError(f"e-mail asked for, but {config.path} has no 'mail' section")
        kind: ReportKind = "quarterly" if window.hours > 24 * 62 else "monthly"
        if mail == "dry-run":
            files = report_attachments(sealed.files)
            built = build_message(context, mail_settings, kind, files, now, ledger_anchor(sealed))
            eml = sealed.directory.parent / f"{context.report_id}.eml"
            out.eml = write_eml(built.message, eml)
        else:
            anchor = ledger_anchor(sealed)
            enqueue_report(store, mail_settings, context, sealed.files, kind, now, anchor)
            result = deliver_due(store, mail_settings, now)  # a failure stays queued and retries
            out.mail_sent, out.mail_failed = result.sent, result.failed
    # Only findings that went out in a report move from "new" to "ongoing".
    store.findings.mark_reported(lifecycle.reported(assessment.findings, assessment.states, now))
    return out
