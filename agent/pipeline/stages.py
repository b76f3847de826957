"""Times the stages of a run (discovery, collection per collector, store, evaluation, rendering,
sealing): wall and CPU time, and the peak resident memory of each stage.

The clock of the run in progress is found through a context variable, so a stage deep in the
pipeline is timed with `with stage("rendering"):` and no clock passed down. Peak memory per stage
uses Linux's resettable high-water mark (/proc/self/clear_refs, then VmHWM); where that is not
available, the figure is the process's peak so far.
"""

from __future__ import annotations

import re
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path

from computewatch.domain.timing import StageTiming

_CURRENT: ContextVar[StageClock | None] = ContextVar("computewatch_stage_clock", default=None)
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _reset_peak() -> None:
    # Resets VmHWM to the current resident size. Not Linux, or not allowed: the peak so far
    # stands in (see the module docstring).
    with suppress(OSError):
        _CLEAR_REFS.write_text("5")


def peak_mib() -> float:
    """The process's peak resident memory since the last reset (or since it started)."""
    try:
        found = re.search(r"VmHWM:\s+(\d+) kB", _STATUS.read_text())
    except OSError:
        found = None
    if found:
        return int(found.group(1)) / 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


class StageClock:
    """The stages of one run, in the order they ended."""

    def __init__(self) -> None:
        self.stages: list[StageTiming] = []

    @contextmanager
    def active(self) -> Iterator[StageClock]:
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        _reset_peak()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.add(
                StageTiming(name, time.perf_counter() - wall, time.process_time() - cpu, peak_mib())
            )

    def add(self, timing: StageTiming) -> None:
        self.stages.append(timing)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time `name` on the running clock, if any."""
    clock = _CURRENT.get()
    if clock is None:
        yield
        return
    with clock.stage(name):
        yield


def record(timing: StageTiming) -> None:
    """Add a figure measured elsewhere (e.g. per collector, by the runner) to the running clock."""
    clock = _CURRENT.get()
    if clock is not None:
        clock.add(timing)
