"""Where a run's time and memory went, stage by stage (shown by `-v`, stored with the run)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StageTiming:
    """One stage of a run.

    `wall_s` is elapsed time; `cpu_s` the CPU time it used (all threads). For a collector,
    whose units run concurrently on worker threads, both are summed over its units (worker
    seconds), so they may exceed the collection's own wall time. `peak_mib` is the process's
    peak resident memory during the stage (None where it cannot be told apart: per collector).
    """

    name: str
    wall_s: float
    cpu_s: float
    peak_mib: float | None = None

    def describe(self) -> str:
        peak = f", peak {self.peak_mib:.0f} MiB" if self.peak_mib is not None else ""
        return f"{self.name} {self.wall_s:.2f} s (CPU {self.cpu_s:.2f} s{peak})"
