"""Evidence: a manifest per report bundle, an optional Ed25519 signature, and a hash-chained ledger.

A bundle is one directory per report (`<out_dir>/<report_id>/`). Its `manifest.json` names the
SHA-256 of every file in it; the manifest's own digest is appended to an evidence ledger kept in
the store and in `<out_dir>/ledger.jsonl`, where each entry holds the digest of the previous one,
so altering, removing or reordering a report or an entry is detectable (`verify_bundle`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from computewatch.delivery.keys import load_private_key, raw_public
from computewatch.delivery.ledger import (
    LEDGER_FILE,
    Issue,
    Problem,
    append_ledger_file,
    append_ledger_store,
    check_chain,
    file_tail,
    read_ledger_file,
    store_tail,
)
from computewatch.domain.errors import UsageError
from computewatch.reports.context import AuditContext
from computewatch.reports.render import audit_stem
from computewatch.store import LedgerRow, Store

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MANIFEST_SCHEMA = "computewatch.manifest/1"
_NOT_CONTENT = {MANIFEST, SIGNATURE}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


# -- manifest ------------------------------------------------------------------------------------
def content_files(bundle: Path) -> dict[str, Path]:
    """Every file of the bundle except the manifest and its signature, by relative POSIX path."""
    return {
        p.relative_to(bundle).as_posix(): p
        for p in sorted(bundle.rglob("*"))
        if p.is_file() and p.relative_to(bundle).as_posix() not in _NOT_CONTENT
    }


def build_manifest(bundle: Path, ctx: AuditContext, created_at: datetime) -> dict[str, Any]:
    cov = ctx.coverage
    return {
        "schema": MANIFEST_SCHEMA,
        "report_id": ctx.report_id,
        "run_id": ctx.run_id,
        "tool_version": ctx.tool_version,
        "config_digest": ctx.config_digest,
        "created_at": created_at.isoformat(),
        "period": {"start": ctx.period_start.isoformat(), "end": ctx.period_end.isoformat()},
        "coverage": {
            "status": cov.status,
            "accounts_total": cov.accounts_total,
            "accounts_complete": cov.accounts_complete,
            "accounts_partial": cov.accounts_partial,
            "accounts_failed": cov.accounts_failed,
            "gaps": [asdict(g) for g in cov.gaps],
        },
        "files": {
            name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for name, p in content_files(bundle).items()
        },
    }


def write_manifest(
    bundle: Path,
    ctx: AuditContext,
    created_at: datetime,
    signing_key: Ed25519PrivateKey | None = None,
) -> str:
    """Write `manifest.json` (and `manifest.sig` if a key is given); returns the manifest digest."""
    data = json.dumps(build_manifest(bundle, ctx, created_at), indent=2, sort_keys=True)
    body = (data + "\n").encode()
    _atomic_write(bundle / MANIFEST, body)
    if signing_key is not None:
        sig = {
            "algorithm": "Ed25519",
            "public_key": raw_public(signing_key.public_key()),
            "signature": base64.b64encode(signing_key.sign(body)).decode(),
        }
        _atomic_write(bundle / SIGNATURE, (json.dumps(sig, indent=2) + "\n").encode())
    return hashlib.sha256(body).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# -- verification --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VerifyResult:
    """OK when `issues` is empty; otherwise each issue names the file or ledger entry concerned.
    `checked` and `not_checked` say, in words, what the verdict rests on and what it does not."""

    bundle: Path
    issues: tuple[Issue, ...]
    signed: bool
    ledgers_checked: tuple[str, ...]
    checked: tuple[str, ...] = ()
    not_checked: tuple[str, ...] = ()
    signature_trusted: bool = False  # verified against a key given by the verifier
    incomplete: bool = False  # no manifest and no ledger entry: an interrupted run's leftovers

    @property
    def ok(self) -> bool:
        return not self.issues and not self.incomplete

    def problems(self) -> set[Problem]:
        return {i.problem for i in self.issues}


def _check_files(bundle: Path, listed: Mapping[str, Any]) -> list[Issue]:
    issues = []
    present = content_files(bundle)
    for name, want in sorted(listed.items()):
        path = present.get(name)
        if path is None:
            issues.append(Issue(Problem.FILE_MISSING, name, "listed in the manifest, not found"))
        elif (got := sha256_file(path)) != want["sha256"]:
            issues.append(
                Issue(
                    Problem.FILE_CHANGED,
                    name,
                    f"sha256 {got[:16]}… differs from the manifest's {want['sha256'][:16]}… "
                    f"({path.stat().st_size} bytes, manifest says {want['bytes']})",
                )
            )
    for name in sorted(set(present) - set(listed)):
        issues.append(Issue(Problem.FILE_EXTRA, name, "not listed in the manifest"))
    return issues


def _check_signature(
    bundle: Path, body: bytes, public_key: Ed25519PublicKey | None
) -> tuple[bool, list[Issue]]:
    path = bundle / SIGNATURE
    if not path.exists():
        if public_key is None:
            return False, []
        return False, [Issue(Problem.SIGNATURE_MISSING, SIGNATURE, "a public key was given")]
    try:
        sig = json.loads(path.read_text("utf-8"))
        embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(sig["public_key"]))
        signature = base64.b64decode(sig["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        return True, [Issue(Problem.SIGNATURE_BAD, SIGNATURE, f"unreadable: {exc}")]
    if public_key is not None and raw_public(public_key) != raw_public(embedded):
        return True, [Issue(Problem.SIGNATURE_BAD, SIGNATURE, "signed by a different key")]
    try:
        (public_key or embedded).verify(signature, body)
    except InvalidSignature:
        return True, [Issue(Problem.SIGNATURE_BAD, SIGNATURE, "does not match manifest.json")]
    return True, []


def _check_ledger(
    entries: Sequence[LedgerRow | str], name: str, report_id: str, manifest_sha: str
) -> list[Issue]:
    issues = check_chain(entries, name)
    mine = [e for e in entries if isinstance(e, LedgerRow) and e.report_id == report_id]
    if not mine:
        issues.append(Issue(Problem.NOT_IN_LEDGER, name, f"no entry for report {report_id}"))
    elif all(e.manifest_sha256 != manifest_sha for e in mine):
        issues.append(
            Issue(
                Problem.MANIFEST_NOT_LEDGERED,
                f"{name} entry {mine[-1].seq}",
                f"records manifest sha256 {mine[-1].manifest_sha256[:16]}…, "
                f"the bundle's is {manifest_sha[:16]}…",
            )
        )
    return issues


def _ledgered_bundle(entries: Sequence[LedgerRow | str], bundle: Path) -> bool:
    return any(isinstance(e, LedgerRow) and e.bundle == bundle.name for e in entries)


def _incomplete(bundle: Path, ledgers: Mapping[str, Sequence[LedgerRow | str]]) -> VerifyResult:
    """A folder without a manifest: leftovers of an interrupted run unless a ledger says it was
    sealed (then the manifest was removed: tampering)."""
    sealed = [name for name, entries in ledgers.items() if _ledgered_bundle(entries, bundle)]
    if sealed:
        issue = Issue(
            Problem.MANIFEST_UNREADABLE,
            MANIFEST,
            f"missing, but the bundle was sealed ({', '.join(sealed)} has its entry)",
        )
        return VerifyResult(bundle, (issue,), False, tuple(ledgers))
    why = (
        "incomplete bundle from an interrupted run: no manifest.json, and no ledger entry"
        + (f" in {', '.join(ledgers)}" if ledgers else "")
        + "; rerun the report to replace it"
    )
    return VerifyResult(bundle, (), False, tuple(ledgers), not_checked=(why,), incomplete=True)


def _anchor_issues(
    anchors: Sequence[str], ledgers: Mapping[str, Sequence[LedgerRow | str]]
) -> tuple[list[str], list[Issue]]:
    """Each anchor (an entry digest printed in an e-mailed report) must still be in every
    ledger checked: a ledger rewritten after the mail went out no longer holds it."""
    checked, issues = [], []
    for anchor in anchors:
        for name, entries in ledgers.items():
            if any(isinstance(e, LedgerRow) and e.digest == anchor for e in entries):
                checked.append(f"anchor {anchor[:16]}… is an entry of {name}")
            else:
                issues.append(
                    Issue(
                        Problem.ENTRY_ALTERED,
                        name,
                        f"has no entry with the anchored digest {anchor[:16]}… "
                        "(the ledger was rewritten after that report was sent)",
                    )
                )
    return checked, issues


def verify_bundle(
    bundle: Path,
    *,
    ledger_file: Path | None = None,
    store: Store | None = None,
    public_key: Ed25519PublicKey | None = None,
    anchors: Sequence[str] = (),
) -> VerifyResult:
    """Check a bundle against its manifest, signature and ledgers (file next to it by default),
    and say what was checked and what could not be."""
    if ledger_file is None and (bundle.parent / LEDGER_FILE).exists():
        ledger_file = bundle.parent / LEDGER_FILE
    ledgers: dict[str, Sequence[LedgerRow | str]] = {}
    if ledger_file is not None:
        ledgers[str(ledger_file)] = read_ledger_file(ledger_file)
    if store is not None:
        ledgers["store"] = store.ledger.entries()
    if not (bundle / MANIFEST).exists():
        return _incomplete(bundle, ledgers)
    try:
        body = (bundle / MANIFEST).read_bytes()
        manifest = json.loads(body)
        listed, report_id = manifest["files"], str(manifest["report_id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        issue = Issue(Problem.MANIFEST_UNREADABLE, MANIFEST, str(exc))
        return VerifyResult(bundle, (issue,), False, ())
    issues = _check_files(bundle, listed)
    checked = [f"manifest: {len(listed)} file(s) against their SHA-256, no file missing or extra"]
    not_checked = []
    signed, sig_issues = _check_signature(bundle, body, public_key)
    issues += sig_issues
    if public_key is not None:
        checked.append("signature: against the public key given")
    elif signed:
        not_checked.append(
            "signature: no public key given (--public-key-env); the signature matches only the "
            "key it carries, which whoever rewrote the manifest could have replaced"
        )
    else:
        not_checked.append("signature: the bundle is not signed and no public key was given")
    manifest_sha = hashlib.sha256(body).hexdigest()
    for name, entries in ledgers.items():
        label = "store ledger" if name == "store" else Path(name).name
        issues += _check_ledger(entries, label, report_id, manifest_sha)
        where = "store ledger" if name == "store" else f"ledger file {name}"
        checked.append(f"{where}: hash chain intact and holds this manifest's digest")
    if ledger_file is None:
        not_checked.append("ledger file: none given and no ledger.jsonl next to the bundle")
    if store is None:
        not_checked.append(
            "store ledger: no --store; a ledger file rewritten together with the manifest "
            "passes unless the store or an e-mailed ledger head (--anchor) is checked"
        )
    if anchors and not ledgers:
        not_checked.append("anchors: no ledger file or store to look them up in")
    anchor_checked, anchor_issues = _anchor_issues(anchors, ledgers)
    checked += anchor_checked
    issues += anchor_issues
    return VerifyResult(
        bundle,
        tuple(issues),
        signed,
        tuple("store" if n == "store" else n for n in ledgers),
        tuple(checked),
        tuple(not_checked),
        signature_trusted=public_key is not None and signed and not sig_issues,
    )


# -- wiring --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Bundle:
    directory: Path
    files: dict[str, Path]
    manifest_sha256: str
    ledger_entry: LedgerRow
    store_entry: LedgerRow | None


def bundle_reports(
    outcome_paths: Mapping[str, Path],
    ctx: AuditContext,
    store: Store | None,
    out_dir: Path,
    *,
    created_at: datetime | None = None,
    signing_key_env: str | None = None,
    pdf: bool = True,
    csv: bool = True,
) -> Bundle:
    """Copy the written reports into `<out_dir>/<report_id>/`, add the PDF and CSV annex, write
    the manifest (signed if `signing_key_env` names a key) and append the bundle to both ledgers."""
    from computewatch.reports.annex import write_annex
    from computewatch.reports.pdf import write_pdf

    key = load_private_key(signing_key_env) if signing_key_env else None
    at = created_at or ctx.generated_at
    file_tail(out_dir / LEDGER_FILE)  # a broken ledger stops the run before anything is sealed
    if store is not None:
        store_tail(store)
    directory = out_dir / ctx.report_id
    if (directory / MANIFEST).exists():
        raise UsageError(f"{directory} is already a sealed bundle; a report is bundled once")
    if directory.exists():  # an interrupted run's leftovers (no manifest): replaced, not merged
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    files = {fmt: Path(shutil.copy2(p, directory / p.name)) for fmt, p in outcome_paths.items()}
    stem = audit_stem(ctx)  # not the first file's: with --format pdf that is a notice
    if pdf and "pdf" not in files:
        files["pdf"] = write_pdf(ctx, directory / f"{stem}.pdf")
    if csv and "csv" not in files:
        files.update(write_annex(ctx, directory, stem))
    sha = write_manifest(directory, ctx, at, key)
    store_entry = (
        append_ledger_store(store, directory.name, ctx.report_id, sha, at) if store else None
    )
    entry = append_ledger_file(out_dir / LEDGER_FILE, directory.name, ctx.report_id, sha, at)
    return Bundle(directory, files, sha, entry, store_entry)


def ledger_anchor(sealed: Bundle) -> str:
    """The ledger head after sealing, for the e-mailed report: kept by its recipients, it lets an
    auditor detect a ledger rewritten later (`computewatch verify --anchor DIGEST`)."""
    e = sealed.ledger_entry
    return (
        f"ledger.jsonl entry {e.seq}, digest {e.digest} (manifest sha256 "
        f"{sealed.manifest_sha256}); verify with: computewatch verify {sealed.directory.name} "
        f"--anchor {e.digest}"
    )
