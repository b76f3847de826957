"""The JSON audit report: a contract (`computewatch.audit/1`), validated against the committed schema."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from computewatch.reports.context import AuditContext, CustomerView

SCHEMA_FILE = "schemas/audit-1.schema.json"


@cache
def contract_schema() -> dict[str, Any]:
    text = resources.files("computewatch.reports").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_contract(doc: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if `doc` breaks the contract."""
    jsonschema.Draft202012Validator(contract_schema()).validate(doc)


def _round(x: float) -> float:
    return round(x, 6)


def customer_doc(c: CustomerView) -> dict[str, Any]:
    return {
        "id": c.id,
        "legal_name": c.legal_name,
        "country": c.country,
        "country_groups": list(c.country_groups),
        "address": c.address,
        "beneficial_owners": list(c.beneficial_owners),
        "intermediary": c.intermediary,
    }


def to_contract(ctx: AuditContext) -> dict[str, Any]:
    def gap(g: Any) -> dict[str, Any]:
        return {
            "provider": g.provider,
            "account_id": g.account_id,
            "region": g.region,
            "collector": g.collector,
            "error": g.error_code,
            "message": g.error_message,
        }

    accounts = []
    for a in ctx.accounts:
        accounts.append(
            {
                "provider": a.provider,
                "account_id": a.account_id,
                "name": a.name,
                "customer": None if a.customer is None else customer_doc(a.customer),
                "coverage": {
                    "status": a.coverage_status,
                    "units_read": a.units_read,
                    "units_total": a.units_total,
                    "gaps": [gap(g) for g in a.gaps],
                },
                "accelerator_hours": {c.chip: _round(c.hours) for c in a.accelerator_hours},
                "peak_concurrent_accelerators": dict(a.peak_concurrent),
                "estimated_training_flop": None
                if a.flop is None
                else {
                    "low": a.flop.low,
                    "central": a.flop.central,
                    "high": a.flop.high,
                    "excluded_accelerator_hours": {c: _round(h) for c, h in a.flop.excluded},
                },
                "tokens": {
                    t.model: {"input": t.input, "output": t.output, "invocations": t.invocations}
                    for t in a.tokens
                },
                "training_job_accelerator_hours": {
                    c.chip: _round(c.hours) for c in a.training_hours
                },
                "model_customization_jobs": dict(a.customization_jobs),
                "billing_reconciliation": {
                    r.chip: {"billing": _round(r.billing), "inventory": _round(r.inventory)}
                    for r in a.reconciliation
                },
                "tpp_hours": None if a.tpp_hours is None else _round(a.tpp_hours),
                "fine_tuning_hours": {m: _round(h) for m, h in a.fine_tuning_hours},
                "methods": dict(a.methods),
            }
        )
    findings = [
        {
            "id": f.id,
            "rule": f.rule_id,
            "title": f.title,
            "status": f.status,
            "severity": f.severity,
            "scope": {"kind": f.scope_kind, "key": f.scope_key},
            "metric": f.metric,
            "comparison": f.comparison,
            "value": f.value,
            "threshold": f.threshold,
            "window": {"start": f.window_start.isoformat(), "end": f.window_end.isoformat()},
            "legal_basis": f.legal_basis,
            "citation": f.citation,
            "legal_status": f.legal_status,
            "detail": f.detail,
            "evidence": list(f.evidence),
            "lifecycle": f.lifecycle,
            "first_seen": None if f.first_seen is None else f.first_seen.isoformat(),
            "scope_label": f.scope_label,
        }
        for f in ctx.findings
    ]
    c = ctx.coverage
    return {
        "schema": ctx.schema,
        "report_id": ctx.report_id,
        "generated_at": ctx.generated_at.isoformat(),
        "reporting_entity": ctx.reporting_entity,
        "period": {"start": ctx.period_start.isoformat(), "end": ctx.period_end.isoformat()},
        "coverage": {
            "status": c.status,
            "accounts_total": c.accounts_total,
            "accounts_complete": c.accounts_complete,
            "accounts_partial": c.accounts_partial,
            "accounts_failed": c.accounts_failed,
            "gaps": [gap(g) for g in c.gaps],
        },
        "accounts": accounts,
        "customers": [
            {
                "customer": customer_doc(c.customer),
                "accounts": list(c.accounts),
                "coverage": c.coverage_status,
                "accelerator_hours": {h.chip: _round(h.hours) for h in c.accelerator_hours},
                "estimated_training_flop": None
                if c.flop is None
                else {"low": c.flop.low, "central": c.flop.central, "high": c.flop.high},
                "tokens": {
                    t.model: {"input": t.input, "output": t.output, "invocations": t.invocations}
                    for t in c.tokens
                },
            }
            for c in ctx.customers
        ],
        "findings": findings,
        "run": {
            "id": ctx.run_id,
            "tool_version": ctx.tool_version,
            "config_digest": ctx.config_digest,
            "api_calls": dict(ctx.api_calls),
        },
    }
