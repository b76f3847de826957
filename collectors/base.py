"""The collector interface, documented once here; providers and collectors implement it.

A Provider turns its config section into Targets (account x region with ready API clients).
A Collector reads one Target for one window and returns typed UsageRecords, or raises SourceError.
Neither touches the store or the reports (DESIGN §1).

Both are declarative: what they are, what they may call and what they produce are class
attributes, read by the registry (`collectors.registry`, which finds the classes), by
`collectors.permissions` (which generates the IAM policy, the CloudFormation member role and the
Azure custom role from them), by the emulators (which grant exactly those actions) and by the
collector contract suite (which holds every collector to them).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from computewatch.domain import (
    Account,
    CoverageEntry,
    CoverageStatus,
    Metric,
    Observation,
    UsageRecord,
    Window,
)
from computewatch.domain.catalog import Catalog
from computewatch.domain.deliveries import ExportDelivery, ExportFigures
from computewatch.domain.errors import SourceError


class ClientFactory(Protocol):
    """Makes SDK clients for one account and region (credentials already resolved), once per
    service, shared by every collector reading the target."""

    def client(self, service: str) -> Any: ...

    def release(self) -> None:
        """The runner is done with the target: drop what is no longer needed (idempotent)."""


class ApiCallCounter:
    """Thread-safe count of API calls per 'service:Operation', stored with the run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, service: str, operation: str) -> None:
        with self._lock:
            self._counts[f"{service}:{operation}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


@dataclass(frozen=True)
class Target:
    """One unit of collection: an account in a region."""

    account: Account
    region: str
    clients: ClientFactory = field(compare=False, repr=False)

    @property
    def provider(self) -> str:
        return self.account.provider


UnitKey = tuple[str, str, str, str]  # provider, account, region, collector


def unit_key(target: Target, collector: str) -> UnitKey:
    return (target.provider, target.account.account_id, target.region, collector)


def unit_coverage(
    target: Target,
    collector: str,
    period: tuple[datetime, datetime],
    error_code: str = "",
    error_message: str = "",
) -> CoverageEntry:
    """One unit's coverage for `period`: read (no error code) or a gap saying why not."""
    return CoverageEntry(
        provider=target.provider,
        account_id=target.account.account_id,
        region=target.region,
        collector=collector,
        period_start=period[0],
        period_end=period[1],
        status=CoverageStatus.FAILED if error_code else CoverageStatus.OK,
        error_code=error_code,
        error_message=error_message,
    )


@dataclass(frozen=True)
class CollectContext:
    """What every collector needs besides its target; the clock is passed in, never read.

    `final_days` names, per collector, the days whose data the store already holds in final form
    (see `Collector.final_after`): a collector that pays per request skips them.
    """

    window: Window
    now: datetime
    catalog: Catalog
    final_days: Mapping[str, frozenset[date]] = field(default_factory=dict)
    # Earlier observations per (provider, account, region, collector): the sampled history.
    history: Mapping[tuple[str, str, str, str], Sequence[Observation]] = field(default_factory=dict)
    # When each unit of a sampling collector was last read successfully (see `Collector.samples`).
    reads: Mapping[UnitKey, Sequence[datetime]] = field(default_factory=dict)
    # Sampling gaps an earlier run already found up to the first of a unit's `reads` (so `reads`
    # can start there instead of holding the month's history; see `store.coverage.sampling_state`).
    known_gaps: Mapping[UnitKey, Sequence[tuple[datetime, datetime]]] = field(default_factory=dict)
    max_sample_gap: timedelta = timedelta(minutes=150)
    # Restrict a run to these collectors (None: all). The others' latest coverage of the same
    # window is carried over from `carried` so the evaluation still sees every unit.
    only: frozenset[str] | None = None
    carried: Mapping[UnitKey, Sequence[CoverageEntry]] = field(default_factory=dict)
    # Per sampled unit, when a successful read of this same window last derived its days (the
    # store holds those days' figures): a read re-derives only days it can change (see
    # `collectors.incremental`). Missing: derive the whole window.
    derived_through: Mapping[UnitKey, datetime] = field(default_factory=dict)
    # Per unit whose `history` holds only the intervals last observed from this moment on (a
    # whole day before `now`): a read that can change nothing earlier derives from those alone;
    # otherwise `older_history(unit, resources or None)` returns the rest of that unit's.
    history_since: Mapping[UnitKey, datetime] = field(default_factory=dict)
    older_history: Callable[[UnitKey, Sequence[str] | None], Sequence[Observation]] | None = None

    def history_for(self, target: Target, collector: str) -> Sequence[Observation]:
        return self.history.get(unit_key(target, collector), ())


@dataclass(frozen=True)
class Permissions:
    """The cloud actions a provider's discovery or a collector calls, by where they are granted.

    Actions are the cloud's own names: IAM actions ("ec2:DescribeInstances") for AWS, Azure RBAC
    actions ("Microsoft.Compute/virtualMachines/read") for Azure. Read-only only.
    - `member`: granted in every audited account. AWS: the audit role computewatch assumes in each
      member account (statement MemberAccountReadOnly). Azure: the custom role assigned on each
      subscription or management group (Azure has no other place, so all its actions are here).
    - `caller`: granted to the identity computewatch itself runs as, in the AWS management (or
      delegated) account: Organizations, sts:AssumeRole, the organization-wide Cost Explorer
      (statement CallerDiscoveryAndBilling).
    """

    member: tuple[str, ...] = ()
    caller: tuple[str, ...] = ()

    @property
    def actions(self) -> frozenset[str]:
        return frozenset((*self.member, *self.caller))


@dataclass
class Discovery:
    """Targets a provider can read, accounts it found, and what it could not reach (as coverage)."""

    targets: list[Target] = field(default_factory=list)
    org_targets: list[Target] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    failures: list[CoverageEntry] = field(default_factory=list)


class Collector(ABC):
    """Reads one kind of usage from one provider. One instance serves a whole run (it may cache).

    Every collector declares, once, as class attributes (the registry refuses one that does not):
    - `name`: unique, "<provider>.<source>" (e.g. "aws.ec2"); the key in config, store and reports.
    - `provider`: the `Provider.name` whose targets it reads.
    - `scope`: "account-region" (the default): run once per account and region;
      "organization": run once per provider, on its organization target (e.g. one
      organization-wide billing query that covers every linked account).
    - `permissions`: every cloud action `collect` may call, and where it is granted (Permissions).
      The shipped IAM policy and Azure role are generated from these; the contract suite fails a
      collector that calls anything else.
    - `metrics`: every Metric its UsageRecords carry (the contract suite checks what it emits).
    """

    name: ClassVar[str]
    provider: ClassVar[str]
    scope: ClassVar[Literal["account-region", "organization"]] = "account-region"
    permissions: ClassVar[Permissions]
    metrics: ClassVar[tuple[Metric, ...]]
    description: ClassVar[str] = ""
    # Data older than this (after its day ends) no longer changes at the source; the store's copy
    # is reused instead of asking (and paying) again. None: always ask.
    final_after: ClassVar[timedelta | None] = None
    # At most this many units of this collector run at once (per-service API rate limits);
    # None: only the provider's worker pool bounds it.
    max_concurrency: ClassVar[int | None] = None
    # True for an inventory that only shows the present (EC2 DescribeInstances): what ran between
    # two reads further apart than `CollectContext.max_sample_gap` is invisible, a coverage gap.
    samples: ClassVar[bool] = False
    # True for a billing source whose final days make inventory sampling gaps moot.
    bills_hours: ClassVar[bool] = False
    # The providers its records carry, when not its own: a billing export's records keep the
    # account's own cloud ("aws", "azure") so they meet the live collectors' figures.
    record_providers: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def collect(self, target: Target, ctx: CollectContext) -> Sequence[UsageRecord | Observation]:
        """Return the records for `ctx.window` (and, for sampling collectors, what was observed
        now); raise SourceError when the source cannot be read."""


class Provider(ABC):
    """A cloud: builds itself from its config section and discovers targets.

    Declares, as class attributes: `name` (e.g. "aws"; the config section of the same name, and
    the `provider` its collectors name) and `permissions`, the cloud actions its discovery calls
    (listing accounts or subscriptions, entering member accounts, listing regions).
    """

    name: ClassVar[str]
    permissions: ClassVar[Permissions]

    @classmethod
    @abstractmethod
    def from_config(cls, section: Any, counter: ApiCallCounter) -> Provider:
        """Build from the validated config section; no I/O until `discover`."""

    @abstractmethod
    def discover(self, ctx: CollectContext, collector_names: list[str]) -> Discovery:
        """Resolve accounts and regions; unreachable accounts become failed coverage entries."""

    def max_workers(self) -> int:
        return 8

    def enabled_collectors(self, available: list[str]) -> list[str]:
        """The collectors to run (a provider's config may switch some off)."""
        return available

    def concurrency_limits(self) -> dict[str, int]:
        """Per-collector concurrency overrides from the provider's config."""
        return {}

    def deliveries(self) -> list[ExportDelivery]:
        """Billing-export periods this provider ingested in the run (provenance; a re-delivered
        period replaces the store's figures of that period). None for live APIs."""
        return []

    def figures(self, units: set[tuple[str, str]]) -> list[ExportFigures]:
        """The figures of the billing-export units (region, account id) that ran, for the store
        to write in bulk after `deliveries` replaced their periods. None for live APIs."""
        return []


def failed_coverage(
    provider: str,
    account_ids: Sequence[str],
    regions: Sequence[str],
    collector_names: Sequence[str],
    window: Window,
    err: SourceError,
) -> list[CoverageEntry]:
    """Every unit an unreachable account (or organization) would have had, marked failed."""
    return [
        CoverageEntry(
            provider=provider,
            account_id=account_id,
            region=region,
            collector=name,
            period_start=window.start,
            period_end=window.end,
            status=CoverageStatus.FAILED,
            error_code=err.code,
            error_message=f"{err.service}: {err.message}",
        )
        for account_id in account_ids
        for region in regions
        for name in collector_names
    ]
