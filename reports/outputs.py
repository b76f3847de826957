"""Every file a run can write, by format, in one place: which formats exist, which files each one
writes, and how a run decides what it must render (only what was asked for, what the evidence
bundle is configured to hold, and what the e-mail attaches).

All files go to the run's output directory under one stem; the sealed bundle
(`<out_dir>/<report id>/`) holds copies of exactly these files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path

import jinja2

from computewatch.domain.errors import UsageError
from computewatch.reports.context import AuditContext
from computewatch.reports.pdf_workers import PdfWorkers, workers_for
from computewatch.reports.render import EXTENSIONS, FORMATS, make_environment, render, write_text

OUTPUT_FORMATS = ("html", "md", "json", "pdf", "csv", "xlsx")
MAIL_FORMATS = ("pdf", "csv")  # what an e-mailed report attaches


def stem_of(ctx: AuditContext) -> str:
    return f"audit-{ctx.period_start:%Y-%m-%d}_{ctx.period_end:%Y-%m-%d}"


def _csv(ctx: AuditContext, out_dir: Path, stem: str, env: jinja2.Environment) -> dict[str, Path]:
    from computewatch.reports.annex import write_annex

    return write_annex(ctx, out_dir, stem)  # keys "csv" (usage) and "csv-findings"


def _xlsx(ctx: AuditContext, out_dir: Path, stem: str, env: jinja2.Environment) -> dict[str, Path]:
    from computewatch.reports.workbook import write_workbook

    return {"xlsx": write_workbook(ctx, out_dir / f"{stem}.xlsx")}


Writer = Callable[[AuditContext, Path, str, jinja2.Environment], dict[str, Path]]
WRITERS: dict[str, Writer] = {"csv": _csv, "xlsx": _xlsx}


def check_formats(formats: Iterable[str]) -> list[str]:
    """The formats in canonical order; an unknown or empty name is a usage error (exit 2)."""
    wanted = list(formats)
    bad = [f for f in wanted if f not in OUTPUT_FORMATS]
    if bad or "" in wanted:
        shown = ", ".join(repr(f) for f in bad) or "''"
        raise UsageError(f"unknown format(s) {shown}: choose from {', '.join(OUTPUT_FORMATS)}")
    return [f for f in OUTPUT_FORMATS if f in wanted]


def needed_formats(
    asked: Iterable[str], *, bundle: bool, bundle_formats: Iterable[str] = (), mail: bool = False
) -> list[str]:
    """What a run renders: the formats asked for, plus what the bundle must always hold (when a
    bundle is sealed), plus the e-mail's attachments (when mail goes out). `audit --format json`
    therefore renders no PDF unless the configuration or the e-mail needs one."""
    want = set(asked)
    if bundle:
        want.update(bundle_formats)
    if mail:
        want.update(MAIL_FORMATS)
    return check_formats(want)


def write_outputs(
    ctx: AuditContext,
    formats: Iterable[str],
    out_dir: Path,
    env: jinja2.Environment | None = None,
    workers: PdfWorkers | None = None,
) -> dict[str, Path]:
    """Write each format to `out_dir/audit-<period>.<ext>` (the CSV annex as two files).

    The PDF is printed in a worker process (through `workers` when given: a report's PDFs share
    one pool), started first so that it runs while this process writes the other formats; this
    process never holds the PDF layout's memory."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = env or make_environment()
    stem = stem_of(ctx)
    paths: dict[str, Path] = {}
    wanted = check_formats(formats)
    with ExitStack() as stack:
        printing = None
        if "pdf" in wanted:
            from computewatch.reports.pdf import print_stylesheet

            pool = stack.enter_context(workers_for(workers))
            pdf_path = out_dir / f"{stem}.pdf"
            printing = pool.submit([(render(ctx, "html", env), print_stylesheet(ctx), pdf_path)])
        for fmt in wanted:
            if fmt in FORMATS:
                text = render(ctx, fmt, env)
                paths[fmt] = write_text(out_dir / f"{stem}.{EXTENSIONS[fmt]}", text)
            elif fmt != "pdf":
                paths.update(WRITERS[fmt](ctx, out_dir, stem, env))
        if printing is not None:
            printing.result()  # a failed print raises here, before the paths are returned
            paths["pdf"] = pdf_path
    return {fmt: paths[fmt] for fmt in sorted(paths, key=_order)}


def _order(key: str) -> int:
    """Keys in the order the formats are listed (callers and the bundle read them in order)."""
    base = key.split("-", 1)[0]
    return OUTPUT_FORMATS.index(base) if base in OUTPUT_FORMATS else len(OUTPUT_FORMATS)
