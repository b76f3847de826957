"""Compare JSON audit reports apart from what differs between runs of the same data: report and
finding ids, timestamps, the config digest, the account ids the emulator assigns (replaced by
account names) and the export files' hashes and sizes that embed them; evidence lists are compared
as sets and numbers as numbers.

Regenerate the golden demo report after an intended change (and review its diff in git):
    .venv/bin/python -m tests.helpers.report_diff --update
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.helpers.paths import REPO

GOLDEN = REPO / "tests" / "golden" / "demo-audit.json"
DEMO_NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # audits November 2026


def normalize(doc: dict[str, Any]) -> Any:
    names = {a["account_id"]: (a["name"] or a["account_id"]) for a in doc["accounts"]}
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False)
    for aid, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if re.fullmatch(r"\d{12}", aid):
            text = text.replace(aid, f"<{name}>")
    d = json.loads(text)
    d["report_id"] = "<id>"
    d["generated_at"] = "<ts>"
    d["run"]["config_digest"] = "<digest>"
    for f in d["findings"]:
        f["id"] = "<id>"
        f["first_seen"] = "<ts>"
        f["evidence"] = sorted(f["evidence"])
    d["findings"].sort(
        key=lambda f: (f["status"], f["rule"], f["scope"]["key"], f["window"]["start"])
    )
    d["accounts"].sort(key=lambda a: (a["provider"], a["account_id"]))
    d.get("simultaneous_peaks", []).sort(key=lambda p: p["account"])
    d.get("training_runs", []).sort(key=lambda r: (r["owner"], r["start"]))
    exports = d.get("billing_exports") or {}
    for delivery in exports.get("deliveries", []):
        for f in delivery["files"]:  # the demo's export files carry the emulator's account ids
            f["etag"], f["size"] = "<etag>", "<size>"
    exports.get("reconciliation", []).sort(key=lambda v: (v["account"], v["metric"], v["key"]))
    exports.get("overlaps", []).sort(key=lambda o: (o["billing_period"], o["account"]))
    return numbers(d)


def numbers(x: Any) -> Any:
    """JSON numbers compare as numbers (0 and 0.0 are the same figure), to 12 significant digits:
    the last binary digits of a sum depend on the order it was added in, which SQL does not fix
    (the store sums per chip over days, Python per day over chips)."""
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, int | float):
        return float(f"{float(x):.12g}")
    if isinstance(x, dict):
        return {k: numbers(v) for k, v in x.items()}
    if isinstance(x, list):
        return [numbers(v) for v in x]
    return x


def diff(expected: Any, actual: Any) -> list[str]:
    a = json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    b = json.dumps(actual, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    return list(difflib.unified_diff(a, b, "golden", "now", lineterm="", n=2))


def demo_report(out_dir: Path) -> dict[str, Any]:
    """The demo's JSON report (json only, no bundle), audited at DEMO_NOW."""
    from computewatch.demo.run import run_demo

    result = run_demo(out_dir, DEMO_NOW, full=False)
    doc: dict[str, Any] = json.loads(result.outcome.paths["json"].read_text("utf-8"))
    return doc


def main() -> int:
    if sys.argv[1:] != ["--update"]:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        doc = normalize(demo_report(Path(tmp)))
    GOLDEN.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
