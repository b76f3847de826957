"""One Jinja environment (autoescape for HTML, StrictUndefined) and the writers per format."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from computewatch.domain.errors import ComputewatchError, UsageError
from computewatch.reports.context import AuditContext
from computewatch.reports.json_report import to_contract, validate_contract
from computewatch.reports.layout import build_print_view, clip

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


def fmt_day(value: datetime) -> str:
    """A window bound: the day alone at midnight (windows are whole days), else the time too."""
    return f"{value:%Y-%m-%d}" if (value.hour, value.minute) == (0, 0) else fmt_ts(value)


def md_escape(value: Any) -> str:
    """Escape text for a Markdown table cell; raw HTML in names must not render."""
    text = str(value)
    for ch in ("\\", "|", "*", "_", "`", "[", "]", "<", ">", "#"):
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


def breakable(value: Any, every: int = 40) -> Markup:
    """HTML text with a break opportunity (<wbr>) every `every` characters of a long unbroken
    run: the line breaker then works in linear time on a 5,000-character name instead of
    re-measuring the whole word for every line it could fit."""
    out = []
    for word in re.split(r"(\s+)", str(value)):
        chunks = [word[i : i + every] for i in range(0, len(word), every)] or [""]
        out.append(Markup("<wbr>").join(escape(c) for c in chunks))
    return Markup("").join(out)


def make_environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The one environment. With `template_dir`, a user's templates override the shipped ones by
    name, and everything renders in Jinja's sandbox (user templates are not trusted code)."""
    loader: jinja2.BaseLoader = jinja2.PackageLoader("computewatch.reports", "templates")
    cls: type[jinja2.Environment] = jinja2.Environment
    if template_dir is not None:
        if not template_dir.is_dir():
            raise UsageError(f"template directory {template_dir} does not exist")
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(template_dir)), loader])
        cls = SandboxedEnvironment
    env = cls(
        loader=loader,
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
    env.filters["day"] = fmt_day
    env.filters["md"] = md_escape
    env.filters["clip"] = clip
    env.filters["breakable"] = breakable
    env.globals["Markup"] = Markup
    return env


def render(ctx: AuditContext, fmt: str, env: jinja2.Environment | None = None) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "json":
        doc = to_contract(ctx)
        validate_contract(doc)
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    view = build_print_view(ctx)
    return render_template(env or make_environment(), FORMATS[fmt] or "", ctx=ctx, view=view)


def write_text(path: Path, text: str) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # never leave a half-written report behind
    return path


def render_template(env: jinja2.Environment, name: str, **values: Any) -> str:
    try:
        return env.get_template(name).render(**values)
    except jinja2.UndefinedError as exc:
        raise ReportError(f"template {name}: {exc}") from exc
    except SecurityError as exc:
        raise ReportError(f"template {name} tried something the sandbox forbids: {exc}") from exc


def audit_stem(ctx: AuditContext) -> str:
    """The file name of the audit without extension, the same in every format."""
    return f"audit-{ctx.period_start:%Y-%m-%d}_{ctx.period_end:%Y-%m-%d}"


def write_reports(
    ctx: AuditContext, formats: list[str], out_dir: Path, env: jinja2.Environment | None = None
) -> dict[str, Path]:
    """Render each format to `out_dir/audit-<period>.<ext>`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = env or make_environment()
    stem = audit_stem(ctx)
    paths: dict[str, Path] = {}
    for fmt in formats:
        paths[fmt] = write_text(out_dir / f"{stem}.{EXTENSIONS[fmt]}", render(ctx, fmt, env))
    return paths
