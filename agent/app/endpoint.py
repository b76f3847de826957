"""The daemon's HTTP endpoint: GET /healthz and GET /metrics.

The figures come from `computewatch.pipeline.status`, read from the store on every request, so a
scrape reflects what was committed, whichever process committed it. The exposition format and
its content negotiation are prometheus_client's; the HTTP server is wsgiref's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from computewatch.pipeline.status import check_health, figures

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


# -- /metrics -----------------------------------------------------------------------------------
def _families() -> dict[str, CounterMetricFamily | GaugeMetricFamily]:
    """Every family /metrics exports, empty: names, types, help and label names."""
    gap = ["provider", "collector", "code"]
    return {
        "runs": CounterMetricFamily(
            "computewatch_runs_total", "Audit runs by final status.", labels=["status"]
        ),
        "api_calls": CounterMetricFamily(
            "computewatch_api_calls_total",
            "Cloud API calls by operation, over all runs.",
            labels=["operation"],
        ),
        "api_errors": CounterMetricFamily(
            "computewatch_api_errors_total",
            "Failed reads (account-region-collector units) over all runs, by error code.",
            labels=gap,
        ),
        "gaps": GaugeMetricFamily(
            "computewatch_coverage_gaps",
            "Account-region-collector units whose latest read failed, by error code.",
            labels=gap,
        ),
        "findings": GaugeMetricFamily(
            "computewatch_open_findings", "Findings not OK, by status.", labels=["status"]
        ),
        "outbox": GaugeMetricFamily(
            "computewatch_outbox_pending", "E-mails queued and not yet sent.", labels=[]
        ),
        "last_success": GaugeMetricFamily(
            "computewatch_last_success_timestamp_seconds",
            "Unix time the last successful collection finished (0: never).",
            labels=[],
        ),
        "healthy": GaugeMetricFamily(
            "computewatch_healthy", "1 when the last successful collection is fresh.", labels=[]
        ),
    }


class StoreCollector(Collector):
    """Reads the store on every scrape (nothing is counted in this process's memory)."""

    def __init__(self, store_url: str, stale_after: timedelta, clock: Clock) -> None:
        self.store_url, self.stale_after, self.clock = store_url, stale_after, clock

    def describe(self) -> Iterable[Metric]:
        """The families without samples: registering reads no store."""
        return list(_families().values())

    def collect(self) -> Iterator[Metric]:
        f = figures(self.store_url, self.clock(), self.stale_after)
        fam = _families()
        for status, n in sorted(f.runs_by_status.items()):
            fam["runs"].add_metric([str(status)], n)
        for op, n in sorted(f.api_calls.items()):
            fam["api_calls"].add_metric([op], n)
        for key, n in sorted(f.api_errors.items()):
            fam["api_errors"].add_metric(list(key), n)
        for key, n in sorted(f.coverage_gaps.items()):
            fam["gaps"].add_metric(list(key), n)
        for finding_status, n in sorted(f.open_findings.items()):
            fam["findings"].add_metric([str(finding_status)], n)
        fam["outbox"].add_metric([], f.outbox_pending)
        last = f.health.last_success
        fam["last_success"].add_metric([], last.timestamp() if last else 0.0)
        fam["healthy"].add_metric([], 1.0 if f.health.healthy else 0.0)
        yield from fam.values()


def metrics_registry(store_url: str, stale_after: timedelta, clock: Clock) -> CollectorRegistry:
    """A registry of its own (not prometheus_client's global one) holding only the store."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store_url, stale_after, clock))
    return registry


# -- the HTTP endpoint --------------------------------------------------------------------------
def ops_app(store_url: str, stale_after: timedelta, clock: Clock) -> WSGIApplication:
    """GET /healthz (JSON; 503 when no fresh successful collection) and GET /metrics."""
    metrics = make_wsgi_app(metrics_registry(store_url, stale_after, clock))

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _reply(start_response, "405 Method Not Allowed", "text/plain", b"GET only\n")
        if path == "/metrics":
            body: Iterable[bytes] = metrics(environ, start_response)
            return body
        if path == "/healthz":
            h = check_health(store_url, clock(), stale_after)
            doc = {"healthy": h.healthy, "reason": h.reason, "last_success": h.last_success}
            status = "200 OK" if h.healthy else "503 Service Unavailable"
            text = json.dumps(doc, default=str).encode()
            return _reply(start_response, status, "application/json", text)
        return _reply(start_response, "404 Not Found", "text/plain", b"not found\n")

    return app


def _reply(start_response: StartResponse, status: str, ctype: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper never holds up the daemon's exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # base-class signature
        log.debug("http %s", format % args)


def serve(store_url: str, host: str, port: int, stale_after: timedelta, clock: Clock) -> WSGIServer:
    """Start /healthz and /metrics in a daemon thread; `shutdown()` the returned server to stop."""
    app = ops_app(store_url, stale_after, clock)
    server = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="computewatch-http", daemon=True).start()
    log.info("serving /healthz and /metrics on http://%s:%d", host, server.server_port)
    return server
