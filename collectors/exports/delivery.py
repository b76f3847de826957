"""Which files make up one billing period of an export, and their fingerprints (provenance).

AWS Data Exports deliver `<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/<export>-<n>.<ext>` and a
`metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` naming the execution (`executionId`),
the export (`exportArn`), its `columns` and its `dataFiles` (AWS Data Exports user guide,
"Understanding export delivery" and "Data Exports manifest file reference"). A re-delivery
replaces the period's files; the delivery id (execution id, or a digest of the files' hashes when
there is no manifest) tells which one a report used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from computewatch.domain.errors import SourceError

SERVICE = "exports"
DATA_SUFFIXES = (".parquet", ".csv.gz", ".csv")


@dataclass(frozen=True, slots=True)
class DeliveredFile:
    name: str  # relative to the export's location
    path: Path  # local (downloaded) copy
    etag: str  # the store's ETag for remote objects, else the SHA-256 of the content
    size: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One billing period of one export, as delivered."""

    export: str
    billing_period: str  # YYYY-MM
    delivery_id: str
    files: tuple[DeliveredFile, ...]
    columns: tuple[str, ...] = ()  # from the manifest, when there is one
    manifest: str = ""  # relative name of the manifest read
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def fingerprint(self) -> list[dict[str, object]]:
        return [{"name": f.name, "etag": f.etag, "size": f.size} for f in self.files]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_data_file(name: str) -> bool:
    return name.endswith(DATA_SUFFIXES)


def period_folder(period: str) -> str:
    return f"BILLING_PERIOD={period}"


def locate(root: Path, period: str, export: str, etags: dict[str, str] | None = None) -> Delivery:
    """The delivery of `period` under `root` (a local folder, or the local mirror of a bucket
    prefix whose objects' ETags are in `etags`). SourceError when there is none."""
    part = period_folder(period)
    manifests = sorted(root.glob(f"**/metadata/{part}/*Manifest.json"))
    if manifests:
        return _from_manifest(root, manifests[-1], period, export, etags or {})
    azure = _azure_run(root, period)
    if azure is not None:
        return _from_azure_run(root, azure, period, export, etags or {})
    folders = sorted(p for p in root.glob(f"**/{part}") if p.is_dir())
    files = sorted(f for d in folders for f in d.rglob("*") if f.is_file() and is_data_file(f.name))
    if not files:
        raise SourceError(SERVICE, "NoDelivery", f"export {export}: no files for {period}")
    delivered = tuple(_file(root, f, etags or {}) for f in files)
    digest = hashlib.sha256("".join(f.etag for f in delivered).encode()).hexdigest()[:16]
    return Delivery(export, period, f"files-{digest}", delivered)


def _file(root: Path, path: Path, etags: dict[str, str]) -> DeliveredFile:
    name = path.relative_to(root).as_posix()
    etag = etags.get(name) or sha256_file(path)
    return DeliveredFile(name, path, etag, path.stat().st_size)


def _from_manifest(
    root: Path, manifest: Path, period: str, export: str, etags: dict[str, str]
) -> Delivery:
    rel = manifest.relative_to(root).as_posix()
    try:
        doc = json.loads(manifest.read_text("utf-8"))
        data_files = [str(u) for u in doc["dataFiles"]]
        columns = tuple(str(c["name"]) for c in doc.get("columns", []))
        execution = str(doc["executionId"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(SERVICE, "BadManifest", f"{rel}: {exc}") from None
    files = []
    for uri in data_files:
        # dataFiles are full s3:// URIs; the files sit at the same place under our root.
        tail = uri.split("/data/", 1)[-1]
        matches = sorted(root.glob(f"**/data/{tail}"))
        if not matches:
            raise SourceError(SERVICE, "MissingFile", f"{rel} lists {uri}, which is not there")
        files.append(_file(root, matches[0], etags))
    if not files:
        raise SourceError(SERVICE, "NoDelivery", f"{rel} lists no data files")
    extra = {"exportArn": doc.get("exportArn", "")}
    return Delivery(export, period, execution, tuple(files), columns, rel, extra)


def _azure_run(root: Path, period: str) -> Path | None:
    """Azure Cost Management exports deliver `<export>/<YYYYMMDD-YYYYMMDD>/<run id>/part_*.csv`
    with a `manifest.json` per run; the latest run (its manifest's `runInfo.submittedTime`) is
    the delivery."""
    ym = period.replace("-", "")
    runs = [
        d
        for folder in root.glob(f"**/{ym}01-{ym}*")
        if folder.is_dir()
        for d in folder.iterdir()
        if d.is_dir() and any(is_data_file(f.name) for f in d.iterdir())
    ]
    if not runs:
        return None

    def submitted(run: Path) -> str:
        try:
            doc = json.loads((run / "manifest.json").read_text("utf-8"))
            return str(doc["runInfo"]["submittedTime"])
        except (OSError, ValueError, KeyError, TypeError):
            return ""

    return max(runs, key=lambda r: (submitted(r), r.stat().st_mtime))


def _from_azure_run(
    root: Path, run: Path, period: str, export: str, etags: dict[str, str]
) -> Delivery:
    files = tuple(_file(root, f, etags) for f in sorted(run.iterdir()) if is_data_file(f.name))
    manifest = run / "manifest.json"
    run_id = run.name
    rel = manifest.relative_to(root).as_posix() if manifest.exists() else ""
    if manifest.exists():
        try:
            doc = json.loads(manifest.read_text("utf-8"))
            run_id = str(doc["runInfo"]["runId"])
            listed = [(str(b["blobName"]), int(b["byteCount"])) for b in doc.get("blobs", [])]
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(SERVICE, "BadManifest", f"{rel}: {exc}") from None
        _check_listed(run, rel, listed)
    return Delivery(export, period, run_id, files, (), rel)


def _check_listed(run: Path, rel: str, listed: list[tuple[str, int]]) -> None:
    """Every blob the run's manifest lists is there, whole (a run still being written, or a
    copy cut short, is a gap, never a smaller month)."""
    for name, size in listed:
        path = run / Path(name).name
        if not path.is_file():
            raise SourceError(SERVICE, "MissingFile", f"{rel} lists {name}, which is not there")
        if path.stat().st_size != size:
            raise SourceError(
                SERVICE,
                "TruncatedFile",
                f"{rel} lists {name} with {size} bytes; {path.stat().st_size} were delivered",
            )
