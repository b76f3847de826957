"""Exit codes, at the edge only: the library raises and returns; the app maps to a number."""

from __future__ import annotations

from computewatch.pipeline.audit import AuditOutcome

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2  # bad input: config, period, format (ComputewatchError.exit_code)
EXIT_BREACH = 3  # a rule crossed its threshold
EXIT_INCOMPLETE = 4  # some account or region could not be read
EXIT_TAMPERED = 5  # `verify`: a bundle or the ledger was altered
EXIT_QUEUED = 6  # `outbox --send`: mail stays queued (SMTP down, or not due yet)


def audit_exit_code(outcome: AuditOutcome) -> int:
    if outcome.assessment.breaches:
        return EXIT_BREACH
    if not outcome.complete:
        return EXIT_INCOMPLETE
    return EXIT_OK
