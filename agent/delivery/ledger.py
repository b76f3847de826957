"""The evidence ledger: a hash chain of report bundles, in the store and in an append-only file.

Each entry holds the digest of the previous one, so an entry altered, removed or moved is found
by recomputing the chain (`check_chain`), without trusting anything but the entries themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from computewatch.domain.errors import UsageError
from computewatch.store import LedgerRow, Store

LEDGER_FILE = "ledger.jsonl"
GENESIS = "0" * 64


def canonical(doc: Mapping[str, Any]) -> bytes:
    """One byte form per document, so a digest can be recomputed by anyone with `json`."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# -- problems --------------------------------------------------------------------------------
class Problem(StrEnum):
    FILE_CHANGED = "file changed"
    FILE_MISSING = "file missing"
    FILE_EXTRA = "extra file"
    MANIFEST_UNREADABLE = "manifest unreadable"
    SIGNATURE_MISSING = "signature missing"
    SIGNATURE_BAD = "bad signature"
    ENTRY_ALTERED = "ledger entry altered"
    ENTRY_REMOVED = "ledger entry removed"
    ENTRY_REORDERED = "ledger entries reordered"
    NOT_IN_LEDGER = "bundle not in ledger"
    MANIFEST_NOT_LEDGERED = "manifest differs from its ledger entry"


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding of `verify_bundle`: what is wrong (`problem`), where (`subject`), and why."""

    problem: Problem
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.problem.upper()}: {self.subject}: {self.detail}"


# -- ledger --------------------------------------------------------------------------------------
def entry_digest(row: LedgerRow) -> str:
    fields = asdict(row)
    del fields["digest"]
    return hashlib.sha256(canonical(fields)).hexdigest()


def next_entry(
    tail: LedgerRow | None, bundle: str, report_id: str, manifest_sha256: str, created_at: datetime
) -> LedgerRow:
    draft = LedgerRow(
        seq=1 if tail is None else tail.seq + 1,
        bundle=bundle,
        report_id=report_id,
        manifest_sha256=manifest_sha256,
        prev_digest=GENESIS if tail is None else tail.digest,
        created_at=created_at.isoformat(),
        digest="",
    )
    return LedgerRow(**(asdict(draft) | {"digest": entry_digest(draft)}))


def read_ledger_file(path: Path) -> list[LedgerRow | str]:
    """Entries of a JSON-lines ledger; a line that is not a well-formed entry is kept as text."""
    out: list[LedgerRow | str] = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        try:
            out.append(LedgerRow(**json.loads(line)))
        except (ValueError, TypeError):
            out.append(line)
    return out


def _intact_tail(entries: Sequence[LedgerRow | str], name: str) -> LedgerRow | None:
    breaks = check_chain(entries, name)
    if breaks:
        raise UsageError(f"refusing to append to a broken ledger: {breaks[0]}")
    tail = entries[-1] if entries else None
    assert tail is None or isinstance(tail, LedgerRow)  # check_chain rejects unparsable lines
    return tail


def file_tail(path: Path) -> LedgerRow | None:
    """Last entry of the file ledger; UsageError if the chain is broken (never extend it)."""
    return _intact_tail(read_ledger_file(path) if path.exists() else [], str(path))


def store_tail(store: Store) -> LedgerRow | None:
    """Last entry of the store ledger; UsageError if the chain is broken."""
    return _intact_tail(store.ledger.entries(), "store ledger")


def append_ledger_file(
    path: Path, bundle: str, report_id: str, sha: str, at: datetime
) -> LedgerRow:
    """Append to the file ledger (its own chain), flushed to disk before returning."""
    row = next_entry(file_tail(path), bundle, report_id, sha, at)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(row), sort_keys=True, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return row


def append_ledger_store(
    store: Store, bundle: str, report_id: str, sha: str, at: datetime
) -> LedgerRow:
    """Append to the store ledger; the key on `seq` turns a concurrent append into an error."""
    row = next_entry(store_tail(store), bundle, report_id, sha, at)
    store.ledger.append(row)
    return row


def check_chain(entries: Sequence[LedgerRow | str], name: str) -> list[Issue]:
    """Every break in a hash chain: entries altered, removed (gaps in seq) or out of order."""
    issues: list[Issue] = []
    rows = [e for e in entries if isinstance(e, LedgerRow)]
    for pos, e in enumerate(entries, 1):
        if isinstance(e, str):
            issues.append(Issue(Problem.ENTRY_ALTERED, f"{name} line {pos}", "not a ledger entry"))
        elif entry_digest(e) != e.digest:
            issues.append(
                Issue(
                    Problem.ENTRY_ALTERED,
                    f"{name} entry {e.seq}",
                    "content does not match its digest",
                )
            )
    seqs = [r.seq for r in rows]
    if seqs != sorted(seqs):
        first = next(i for i in range(1, len(seqs)) if seqs[i] < seqs[i - 1])
        issues.append(
            Issue(
                Problem.ENTRY_REORDERED,
                f"{name} entry {seqs[first]}",
                f"found after entry {seqs[first - 1]}",
            )
        )
    missing = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
    if missing:
        issues.append(
            Issue(
                Problem.ENTRY_REMOVED,
                f"{name} entry {', '.join(map(str, missing))}",
                f"missing from the chain of {max(seqs)} entries",
            )
        )
    if issues:
        return issues
    prev = GENESIS
    for r in rows:
        if r.prev_digest != prev:
            issues.append(
                Issue(
                    Problem.ENTRY_ALTERED,
                    f"{name} entry {r.seq}",
                    f"does not chain to entry {r.seq - 1} (a previous entry was rewritten)",
                )
            )
        prev = r.digest
    return issues
