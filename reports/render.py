"""One Jinja environment (autoescape for HTML, StrictUndefined) and the writers per format."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from agent.errors import ComputewatchError, UsageError
from reports.context import AuditContext
from reports.json_report import to_contract, validate_contract

FORMATS = {"html": "audit.html.j2", "md": "audit.md.j2", "json": None}
EXTENSIONS = {"html": "html", "md": "md", "json": "json"}


class ReportError(ComputewatchError):
    """A report could not be rendered or did not satisfy its contract (a bug, not user input)."""


def fmt_num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "unknown"
    if value != 0 and (abs(value) >= 1e9 or abs(value) < 10 ** (-digits)):
        return f"{value:.3g}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def fmt_sci(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value == 0:
        return "0"
    exp = math.floor(math.log10(abs(value)))
    return f"{value / 10**exp:.2f}e{exp}"


def fmt_ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def md_escape(value: Any) -> str:
    """Escape text for a Markdown table cell; raw HTML in names must not render."""
    text = str(value)
    for ch in ("\\", "|", "*", "_", "`", "[", "]", "<", ">", "#"):
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_num
    env.filters["sci"] = fmt_sci
    env.filters["ts"] = fmt_ts
    env.filters["md"] = md_escape
    env.globals["Markup"] = Markup
    return env


def render(ctx: AuditContext, fmt: str, env: jinja2.Environment | None = None) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "json":
        doc = to_contract(ctx)
        validate_contract(doc)
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    template = (env or make_environment()).get_template(FORMATS[fmt] or "")
    try:
        return template.render(ctx=ctx)
    except jinja2.UndefinedError as exc:
        raise ReportError(f"template {FORMATS[fmt]}: {exc}") from exc


def write_reports(ctx: AuditContext, formats: list[str], out_dir: Path) -> dict[str, Path]:
    """Render each format to `out_dir/audit-<period>.<ext>`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = make_environment()
    stem = f"audit-{ctx.period_start:%Y-%m-%d}_{ctx.period_end:%Y-%m-%d}"
    paths: dict[str, Path] = {}
    for fmt in formats:
        text = render(ctx, fmt, env)
        path = out_dir / f"{stem}.{EXTENSIONS[fmt]}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # never leave a half-written report behind
        paths[fmt] = path
    return paths
