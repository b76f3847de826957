"""Azure OpenAI / AI services token usage from Azure Monitor metrics (method `metrics`).

Accounts of kind `OpenAI` or `AIServices`; each deployment maps to the model it serves. Metrics
are split by the `ModelDeploymentName` dimension (Azure returns the dimension name, and sometimes
the value, lower-cased), summed per UTC day, and recorded under the MODEL name with the
deployment in `resource_id`. The newer `InputTokens` / `OutputTokens` / `ModelRequests` are used
where the account defines them, else the classic `ProcessedPromptTokens` / `GeneratedTokens` /
`AzureOpenAIRequests` — never both, or tokens would be counted twice. Asking Azure Monitor for a
metric the resource does not define fails the whole query, hence the metric definitions first.

Fine-tuning (`FineTunedTrainingHours`, a training signal, not accelerator-hours): read only where
the account defines it, in the same query when it has the deployment split (recorded per model),
else in its own unsplit query (model ""). Either way the record's `resource_id` is the account, so
two deployments of one model add up instead of replacing each other's day.

Platform metrics are kept 93 days: an older window is a failed coverage entry, never a zero.
The model version is not part of the record key: a deployment upgraded mid-day must replace,
not duplicate, that day's record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from computewatch.collectors.azure.common import require_retention, translate_errors
from computewatch.collectors.base import CollectContext, Collector, Permissions, Target
from computewatch.domain import Dimensions, Method, Metric, UsageRecord, Window
from computewatch.domain.errors import SourceError

RETENTION_DAYS = 93
ACCOUNT_KINDS = {"openai", "aiservices"}
DIMENSION = "ModelDeploymentName"
UNKNOWN_MODEL = "unknown"
MAX_SERIES = 1000  # Azure Monitor returns 10 series unless told otherwise
CHOICES: dict[Metric, tuple[str, ...]] = {
    Metric.MODEL_INPUT_TOKENS: ("InputTokens", "ProcessedPromptTokens"),
    Metric.MODEL_OUTPUT_TOKENS: ("OutputTokens", "GeneratedTokens"),
    Metric.MODEL_INVOCATIONS: ("ModelRequests", "AzureOpenAIRequests"),
}
TRAINING_METRIC = "FineTunedTrainingHours"
UNITS = {
    Metric.MODEL_INPUT_TOKENS: "tokens",
    Metric.MODEL_OUTPUT_TOKENS: "tokens",
    Metric.MODEL_INVOCATIONS: "requests",
    Metric.FINE_TUNING_HOURS: "hours",
}
Totals = dict[tuple[Metric, str, date], float]  # (metric, lower-cased deployment name, day)


@dataclass(frozen=True, slots=True)
class Deployment:
    resource_id: str
    model: str
    version: str


@dataclass(frozen=True, slots=True)
class OpenAiAccount:
    resource_id: str
    location: str
    deployments: dict[str, Deployment]  # by lower-cased deployment name


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dimensions(definitions: Any) -> dict[str, set[str]]:
    """Defined metric name -> its lower-cased dimension names."""
    return {
        str(d.name.value): {str(x.value).lower() for x in d.dimensions or []} for d in definitions
    }


def training_split(definitions: Any) -> bool | None:
    """Whether FineTunedTrainingHours splits by deployment; None if the account lacks it."""
    dims = _dimensions(definitions).get(TRAINING_METRIC)
    return None if dims is None else DIMENSION.lower() in dims


def choose_metrics(definitions: Any, account_id: str) -> dict[Metric, str]:
    """Per record metric, the newest Azure metric the account defines with the deployment split."""
    defined = _dimensions(definitions)
    chosen: dict[Metric, str] = {}
    for metric, candidates in CHOICES.items():
        usable = [c for c in candidates if DIMENSION.lower() in defined.get(c, set())]
        if not usable:
            raise SourceError(
                "monitor",
                "MetricNotDefined",
                f"{account_id} defines none of {', '.join(candidates)} split by {DIMENSION}",
            )
        chosen[metric] = usable[0]
    return chosen


def _deployment_name(series: Any) -> str:
    for meta in series.metadatavalues or []:
        if str(meta.name.value).lower() == DIMENSION.lower():
            return str(meta.value or "").lower()
    return ""


class AzureOpenAiCollector(Collector):
    name = "azure.openai"
    provider = "azure"
    permissions = Permissions(
        member=(
            "Microsoft.CognitiveServices/accounts/read",
            "Microsoft.CognitiveServices/accounts/deployments/read",
            "Microsoft.Insights/metricDefinitions/read",
            "Microsoft.Insights/metrics/read",
        )
    )
    metrics = (*CHOICES, Metric.FINE_TUNING_HOURS)
    description = "Azure OpenAI / AI services tokens and requests per model (Azure Monitor)"

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        require_retention("monitor", "Azure Monitor metrics", ctx.window, ctx.now, RETENTION_DAYS)
        records: list[UsageRecord] = []
        for account in self._accounts(target.clients.client("cognitiveservices")):
            records.extend(self._usage(target, account, ctx.window))
        return records

    @staticmethod
    def _accounts(cs: Any) -> list[OpenAiAccount]:
        out: list[OpenAiAccount] = []
        with translate_errors("cognitiveservices"):
            for acct in cs.accounts.list():
                if str(acct.kind or "").lower() not in ACCOUNT_KINDS:
                    continue
                group = acct.id.split("/")[4]
                deployments: dict[str, Deployment] = {}
                for dep in cs.deployments.list(group, acct.name):
                    model = dep.properties.model if dep.properties else None
                    deployments[str(dep.name).lower()] = Deployment(
                        dep.id,
                        str(model.name) if model and model.name else UNKNOWN_MODEL,
                        str(model.version or "") if model else "",
                    )
                out.append(OpenAiAccount(acct.id, acct.location, deployments))
        return out

    def _usage(self, target: Target, account: OpenAiAccount, window: Window) -> list[UsageRecord]:
        monitor = target.clients.client("monitor")
        with translate_errors("monitor"):
            definitions = list(monitor.metric_definitions.list(account.resource_id))
        split = choose_metrics(definitions, account.resource_id)
        training = training_split(definitions)
        if training:
            split[Metric.FINE_TUNING_HOURS] = TRAINING_METRIC
        totals = self._daily_totals(monitor, account, window, split, by_deployment=True)
        if training is False:
            unsplit = {Metric.FINE_TUNING_HOURS: TRAINING_METRIC}
            totals.update(self._daily_totals(monitor, account, window, unsplit, False))
        days = {d.start.date(): d for d in window.day_windows()}
        tokens = [
            self._record(target, account, metric, name, days[day], qty)
            for (metric, name, day), qty in sorted(totals.items())
            if qty > 0 and metric is not Metric.FINE_TUNING_HOURS
        ]
        return tokens + self._training_records(target, account, totals, days)

    @staticmethod
    def _daily_totals(
        monitor: Any,
        account: OpenAiAccount,
        window: Window,
        chosen: dict[Metric, str],
        by_deployment: bool,
    ) -> Totals:
        """One Azure Monitor query: daily totals per metric (and deployment, when split)."""
        with translate_errors("monitor"):
            response = monitor.metrics.list(
                account.resource_id,
                timespan=f"{_iso(window.start)}/{_iso(window.end)}",
                interval="P1D",
                metricnames=",".join(chosen.values()),
                aggregation="Total",
                filter=f"{DIMENSION} eq '*'" if by_deployment else None,
                top=MAX_SERIES if by_deployment else None,
            )
        by_name = {azure_name: metric for metric, azure_name in chosen.items()}
        days = {d.start.date() for d in window.day_windows()}
        totals: Totals = defaultdict(float)
        for result in response.value or []:
            metric = by_name.get(str(result.name.value))
            if metric is None:
                continue
            if result.error_code and str(result.error_code) != "Success":
                raise SourceError(
                    "monitor", str(result.error_code), str(result.error_message or "")
                )
            if len(result.timeseries or []) >= MAX_SERIES:
                raise SourceError(
                    "monitor", "TooManySeries", f"{account.resource_id}: over {MAX_SERIES}"
                )
            for series in result.timeseries or []:
                name = _deployment_name(series)
                for point in series.data or []:
                    day = point.time_stamp.astimezone(UTC).date()
                    if point.total and day in days:
                        totals[(metric, name, day)] += float(point.total)
        return totals

    def _training_records(
        self, target: Target, account: OpenAiAccount, totals: Totals, days: dict[date, Window]
    ) -> list[UsageRecord]:
        """Fine-tuning hours per model and day on the account (deployments of a model summed)."""
        by_model: dict[tuple[str, date], float] = defaultdict(float)
        for (metric, name, day), qty in totals.items():
            if metric is Metric.FINE_TUNING_HOURS:
                dep = account.deployments.get(name)
                model = dep.model if dep else (UNKNOWN_MODEL if name else "")
                by_model[(model, day)] += qty
        return [
            UsageRecord(
                target.provider,
                target.account.account_id,
                account.location,
                self.name,
                Metric.FINE_TUNING_HOURS,
                UNITS[Metric.FINE_TUNING_HOURS],
                Dimensions(model=model, resource_id=account.resource_id),
                days[day].start,
                days[day].end,
                hours,
                Method.METRICS,
            )
            for (model, day), hours in sorted(by_model.items())
            if hours > 0
        ]

    def _record(
        self,
        target: Target,
        account: OpenAiAccount,
        metric: Metric,
        deployment_name: str,
        day: Window,
        qty: float,
    ) -> UsageRecord:
        dep = account.deployments.get(deployment_name)
        resource_id = (
            dep.resource_id if dep else f"{account.resource_id}/deployments/{deployment_name}"
        )
        return UsageRecord(
            target.provider,
            target.account.account_id,
            account.location,
            self.name,
            metric,
            UNITS[metric],
            Dimensions(model=dep.model if dep else UNKNOWN_MODEL, resource_id=resource_id),
            day.start,
            day.end,
            qty,
            Method.METRICS,
        )
