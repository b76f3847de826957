"""Evidence bundles: manifest, signature, hash-chained ledger (file and store), and tamper detection."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from computewatch.app.cli import main
from computewatch.delivery.evidence import (
    MANIFEST,
    SIGNATURE,
    Bundle,
    bundle_reports,
    verify_bundle,
)
from computewatch.delivery.ledger import (
    LEDGER_FILE,
    Problem,
    check_chain,
    entry_digest,
    read_ledger_file,
)
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import UsageError
from computewatch.reports.context import AuditContext
from computewatch.reports.render import write_reports
from computewatch.store import LedgerRow, Store
from tests.helpers.reports import sample_context


@pytest.fixture(scope="module")
def ctx() -> AuditContext:
    return sample_context(Catalog.load())


def make_bundle(
    ctx: AuditContext, out: Path, store: Store | None = None, n: int = 0, **kw: object
) -> Bundle:
    """The n-th bundle of a run series (distinct report ids, one ledger)."""
    rid = "CW-" + hashlib.sha256(f"{ctx.report_id}{n}".encode()).hexdigest()[:12].upper()
    c = replace(ctx, report_id=rid, run_id=ctx.run_id + n)
    paths = write_reports(c, ["html", "json"], out / "staging")
    return bundle_reports(paths, c, store, out, pdf=False, **kw)  # type: ignore[arg-type]


def cli_verify(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", *args], env=env)
    return result.exit_code, result.output


def test_untouched_bundle_verifies(ctx: AuditContext, tmp_path: Path) -> None:
    b = make_bundle(ctx, tmp_path)
    manifest = json.loads((b.directory / MANIFEST).read_text())
    assert manifest["report_id"] == b.directory.name
    assert manifest["run_id"] == ctx.run_id
    assert manifest["coverage"]["status"] == "partial"
    assert manifest["coverage"]["gaps"][0]["error_code"] == "AccessDenied"
    assert manifest["config_digest"] == ctx.config_digest
    assert set(manifest["files"]) == {p.name for p in b.files.values()}
    assert {"html", "json", "csv", "csv-findings"} <= set(b.files)
    result = verify_bundle(b.directory)
    assert result.ok, result.issues
    assert result.ledgers_checked == (str(tmp_path / LEDGER_FILE),)
    code, out = cli_verify(str(b.directory))
    assert code == 0 and out.endswith(
        f"OK {b.directory} (manifest and ledger; signature not verified)\n"
    )


def test_one_byte_changed(ctx: AuditContext, tmp_path: Path) -> None:
    b = make_bundle(ctx, tmp_path)
    html = b.files["html"]
    data = bytearray(html.read_bytes())
    data[100] ^= 0x01
    html.write_bytes(bytes(data))
    result = verify_bundle(b.directory)
    assert [(i.problem, i.subject) for i in result.issues] == [(Problem.FILE_CHANGED, html.name)]
    code, out = cli_verify(str(b.directory))
    assert code == 5 and f"FILE CHANGED: {html.name}" in out


def test_file_removed_and_extra_file(ctx: AuditContext, tmp_path: Path) -> None:
    b = make_bundle(ctx, tmp_path)
    b.files["csv"].unlink()
    (b.directory / "notes.txt").write_text("added later")
    result = verify_bundle(b.directory)
    assert {(i.problem, i.subject) for i in result.issues} == {
        (Problem.FILE_MISSING, b.files["csv"].name),
        (Problem.FILE_EXTRA, "notes.txt"),
    }


def test_manifest_rewritten_is_caught_by_ledger(ctx: AuditContext, tmp_path: Path) -> None:
    """Changing a report and recomputing the manifest still fails: the ledger holds its digest."""
    b = make_bundle(ctx, tmp_path)
    b.files["json"].write_text("{}")
    manifest = json.loads((b.directory / MANIFEST).read_text())
    manifest["files"][b.files["json"].name]["sha256"] = hashlib.sha256(b"{}").hexdigest()
    manifest["files"][b.files["json"].name]["bytes"] = 2
    (b.directory / MANIFEST).write_text(json.dumps(manifest))
    result = verify_bundle(b.directory)
    assert result.problems() == {Problem.MANIFEST_NOT_LEDGERED}
    assert result.issues[0].subject == f"{LEDGER_FILE} entry 1"


def _ledger_lines(out: Path) -> list[str]:
    return (out / LEDGER_FILE).read_text().splitlines()


def test_ledger_entry_altered(ctx: AuditContext, tmp_path: Path) -> None:
    bundles = [make_bundle(ctx, tmp_path, n=n) for n in range(3)]
    lines = _ledger_lines(tmp_path)
    entry = json.loads(lines[1])
    entry["created_at"] = "2020-01-01T00:00:00+00:00"
    lines[1] = json.dumps(entry)
    (tmp_path / LEDGER_FILE).write_text("\n".join(lines) + "\n")
    result = verify_bundle(bundles[2].directory)
    assert [(i.problem, i.subject) for i in result.issues] == [
        (Problem.ENTRY_ALTERED, f"{LEDGER_FILE} entry 2")
    ]
    code, out = cli_verify(str(bundles[0].directory))
    assert code == 5 and f"LEDGER ENTRY ALTERED: {LEDGER_FILE} entry 2" in out


def test_ledger_entry_rehashed_breaks_the_chain(ctx: AuditContext, tmp_path: Path) -> None:
    """An attacker who recomputes the altered entry's digest breaks the next entry's link."""
    for n in range(3):
        make_bundle(ctx, tmp_path, n=n)
    lines = _ledger_lines(tmp_path)
    row = LedgerRow(**json.loads(lines[1]))
    row = replace(row, manifest_sha256="f" * 64)
    row = replace(row, digest=entry_digest(row))
    lines[1] = json.dumps(asdict(row))
    (tmp_path / LEDGER_FILE).write_text("\n".join(lines) + "\n")
    issues = check_chain(read_ledger_file(tmp_path / LEDGER_FILE), LEDGER_FILE)
    assert [(i.problem, i.subject) for i in issues] == [
        (Problem.ENTRY_ALTERED, f"{LEDGER_FILE} entry 3")
    ]


def test_ledger_entry_removed_and_reordered(ctx: AuditContext, tmp_path: Path) -> None:
    bundles = [make_bundle(ctx, tmp_path, n=n) for n in range(4)]
    lines = _ledger_lines(tmp_path)
    (tmp_path / LEDGER_FILE).write_text("\n".join([lines[0], lines[2], lines[3]]) + "\n")
    result = verify_bundle(bundles[3].directory)
    assert [(i.problem, i.subject) for i in result.issues] == [
        (Problem.ENTRY_REMOVED, f"{LEDGER_FILE} entry 2")
    ]
    # the removed entry's own bundle is also no longer in the ledger
    assert Problem.NOT_IN_LEDGER in verify_bundle(bundles[1].directory).problems()
    (tmp_path / LEDGER_FILE).write_text("\n".join([lines[0], lines[2], lines[1], lines[3]]) + "\n")
    result = verify_bundle(bundles[0].directory)
    assert [(i.problem, i.subject) for i in result.issues] == [
        (Problem.ENTRY_REORDERED, f"{LEDGER_FILE} entry 2")
    ]
    with pytest.raises(UsageError, match="broken ledger"):
        make_bundle(ctx, tmp_path, n=9)


def test_a_report_is_bundled_once(ctx: AuditContext, tmp_path: Path) -> None:
    make_bundle(ctx, tmp_path)
    with pytest.raises(UsageError, match="already a sealed bundle"):
        make_bundle(ctx, tmp_path)
    assert len(_ledger_lines(tmp_path)) == 1


def _keys() -> tuple[Ed25519PrivateKey, str, str]:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, pem, base64.b64encode(pub).decode()


def test_signed_manifest(
    ctx: AuditContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, pem, pub = _keys()
    monkeypatch.setenv("CW_SIGNING_KEY", pem)
    b = make_bundle(ctx, tmp_path, signing_key_env="CW_SIGNING_KEY")
    assert pem not in (b.directory / MANIFEST).read_text()
    assert "PRIVATE" not in (b.directory / SIGNATURE).read_text()
    monkeypatch.setenv("CW_PUB", pub)
    assert cli_verify(str(b.directory), "--public-key-env", "CW_PUB")[0] == 0
    # a different key is refused even though the signature is self-consistent
    _, _, other = _keys()
    code, out = cli_verify(str(b.directory), "--public-key-env", "OTHER", env={"OTHER": other})
    assert code == 5 and "signed by a different key" in out
    # the manifest's signature no longer matches once the manifest changes
    manifest = b.directory / MANIFEST
    manifest.write_text(manifest.read_text().replace('"run_id": 7', '"run_id": 8'))
    result = verify_bundle(b.directory)
    assert Problem.SIGNATURE_BAD in result.problems()


def test_raw_base64_key_and_missing_signature(
    ctx: AuditContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _, pub = _keys()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    monkeypatch.setenv("CW_KEY", base64.b64encode(raw).decode())
    signed = make_bundle(ctx, tmp_path, n=0, signing_key_env="CW_KEY")
    unsigned = make_bundle(ctx, tmp_path, n=1)
    monkeypatch.setenv("CW_PUB", pub)
    assert cli_verify(str(signed.directory), "--public-key-env", "CW_PUB")[0] == 0
    code, out = cli_verify(str(unsigned.directory), "--public-key-env", "CW_PUB")
    assert code == 5 and "SIGNATURE MISSING" in out
    monkeypatch.setenv("CW_KEY", "not a key")
    with pytest.raises(UsageError, match="CW_KEY does not hold") as err:
        make_bundle(ctx, tmp_path, n=2, signing_key_env="CW_KEY")
    assert "not a key" not in str(err.value)


def test_store_ledger_both_backends(ctx: AuditContext, tmp_path: Path, store_url: str) -> None:
    with Store.open(store_url) as store:
        later = replace(ctx, generated_at=ctx.generated_at + timedelta(hours=1))
        bundles = [make_bundle(later, tmp_path, store, n=n) for n in range(3)]
        rows = store.ledger.entries()
        assert [r.seq for r in rows] == [1, 2, 3]
        assert [r.manifest_sha256 for r in rows] == [b.manifest_sha256 for b in bundles]
        assert rows[1].prev_digest == rows[0].digest
        assert check_chain(rows, "store ledger") == []
        (tmp_path / LEDGER_FILE).unlink()  # the store alone still vouches for the bundle
        result = verify_bundle(bundles[1].directory, store=store)
        assert result.ok and result.ledgers_checked == ("store",)
        code, out = cli_verify(str(bundles[1].directory), "--store", store_url)
        assert code == 0, out
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM evidence_ledger WHERE seq = 2")
        result = verify_bundle(bundles[2].directory, store=store)
        assert [(i.problem, i.subject) for i in result.issues] == [
            (Problem.ENTRY_REMOVED, "store ledger entry 2")
        ]


def _forge(bundle: Path, ledger: Path, key: Ed25519PrivateKey | None = None) -> None:
    """What an attacker with write access to the report directory does: change a report,
    rewrite the manifest (re-signed with a key of their own) and rebuild the ledger file."""
    from datetime import datetime

    from computewatch.delivery.ledger import next_entry

    report = next(bundle.glob("*.html"))
    report.write_text(report.read_text("utf-8").replace("BREACH", "OK"), encoding="utf-8")
    manifest = json.loads((bundle / MANIFEST).read_text("utf-8"))
    manifest["files"][report.name] = {
        "sha256": hashlib.sha256(report.read_bytes()).hexdigest(),
        "bytes": report.stat().st_size,
    }
    body = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (bundle / MANIFEST).write_bytes(body)
    if key is not None:
        pub = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        sig = {
            "algorithm": "Ed25519",
            "public_key": base64.b64encode(pub).decode(),
            "signature": base64.b64encode(key.sign(body)).decode(),
        }
        (bundle / SIGNATURE).write_text(json.dumps(sig), encoding="utf-8")
    rows: list[LedgerRow] = []
    for old in read_ledger_file(ledger):
        assert isinstance(old, LedgerRow)
        sha = hashlib.sha256(body).hexdigest() if old.bundle == bundle.name else old.manifest_sha256
        at = datetime.fromisoformat(old.created_at)
        rows.append(next_entry(rows[-1] if rows else None, old.bundle, old.report_id, sha, at))
    ledger.write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows), encoding="utf-8")


def test_rewritten_manifest_and_ledger_say_what_was_not_checked(
    ctx: AuditContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 12: a forgery consistent with the ledger file passes a file-only check, but verify
    says so; the e-mailed ledger head (--anchor), the store and a trusted key each catch it."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _, pem, pub = _keys()
    monkeypatch.setenv("CW_SIGNING_KEY", pem)
    with Store.open(url) as store:
        b = make_bundle(ctx, tmp_path, store, signing_key_env="CW_SIGNING_KEY")
    anchor = b.ledger_entry.digest
    _forge(b.directory, tmp_path / LEDGER_FILE, key=Ed25519PrivateKey.generate())
    code, out = cli_verify(str(b.directory))
    assert code == 0, out  # consistent forgery, file ledger only: OK, but qualified
    assert "signature not verified" in out
    assert "not checked  store ledger: no --store" in out
    assert "not checked  signature: no public key given" in out
    code, out = cli_verify(str(b.directory), "--anchor", anchor)
    assert code == 5 and "anchored digest" in out, out
    code, out = cli_verify(str(b.directory), "--store", url)
    assert code == 5 and "MANIFEST DIFFERS FROM ITS LEDGER ENTRY: store ledger" in out, out
    code, out = cli_verify(str(b.directory), "--public-key-env", "CW_PUB", env={"CW_PUB": pub})
    assert code == 5 and "signed by a different key" in out, out


@pytest.mark.parametrize(
    ("flag", "needs"),
    [("--require-signature", "--public-key-env"), ("--require-store", "--store")],
)
def test_strict_flags_refuse_an_unchecked_verdict(
    ctx: AuditContext, tmp_path: Path, flag: str, needs: str
) -> None:
    b = make_bundle(ctx, tmp_path)
    code, out = cli_verify(str(b.directory), flag)
    assert code == 2 and f"{flag} needs {needs}" in out and "OK" not in out


def test_interrupted_bundle_is_incomplete_not_tampered_and_replaced(
    ctx: AuditContext, tmp_path: Path
) -> None:
    """Item 4: a folder a killed run left without a manifest is not reported as tampering, and
    a rerun of the same report id replaces it (nothing stale is sealed)."""
    sealed = make_bundle(ctx, tmp_path, n=1)  # the ledger exists and has other entries
    rid = "CW-" + hashlib.sha256(f"{ctx.report_id}0".encode()).hexdigest()[:12].upper()
    leftover = tmp_path / rid
    leftover.mkdir()
    (leftover / "stale-notice.html").write_text("half written", encoding="utf-8")
    result = verify_bundle(leftover)
    assert result.incomplete and not result.ok and result.issues == ()
    code, out = cli_verify(str(leftover))
    assert code == 4 and "TAMPERED" not in out
    assert "incomplete bundle from an interrupted run" in out
    rerun = make_bundle(ctx, tmp_path, n=0)
    assert rerun.directory == leftover and not (leftover / "stale-notice.html").exists()
    assert verify_bundle(leftover).ok
    # A sealed bundle whose manifest was removed is tampering: the ledger knows it was sealed.
    (sealed.directory / MANIFEST).unlink()
    code, out = cli_verify(str(sealed.directory))
    assert code == 5 and "MANIFEST UNREADABLE" in out and "was sealed" in out
