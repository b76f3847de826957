"""What the router and the resource handlers share about one ARM request and its answer.

A module of its own so `resources` (the handlers) and `router` (dispatch, auth, faults) import it
without importing each other at runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from computewatch.demo.emulated_azure.specs import SubscriptionSpec, TenantSpec

Json = dict[str, Any]


class ArmError(Exception):
    """An ARM error answer: the router turns it into `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass(frozen=True)
class Call:
    """An authenticated, authorized request matched to a route, as a handler sees it."""

    tenant: TenantSpec  # the tenant the bearer token was issued in
    sub: SubscriptionSpec | None
    groups: dict[str, str]
    query: dict[str, str]
    base: str  # scheme://host of the request, for nextLinks
    path: str


def paged(items: list[Json], call: Call, page_size: int) -> Json:
    """One page of a list, with the `nextLink` ARM gives when more remain (a `$skiptoken`)."""
    skip = int(call.query.get("$skiptoken", "0"))
    out: Json = {"value": items[skip : skip + page_size]}
    if skip + page_size < len(items):
        query = {**call.query, "$skiptoken": str(skip + page_size)}
        out["nextLink"] = f"{call.base}{call.path}?{urlencode(query)}"
    return out
