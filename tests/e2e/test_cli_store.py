"""The store commands (`findings`, `outbox`, `status`) against a real SQLite store: what they
print, their filters, their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.domain import FindingStatus, Window, utc
from computewatch.engine import lifecycle
from computewatch.store import Store
from tests.helpers.aws import write_config
from tests.helpers.store import finding, outbox_row

NOW = utc(2026, 11, 2, 9)


def seeded(tmp_path: Path) -> Path:
    """A config whose store holds a BREACH (October), an UNKNOWN (November), an OK, and one
    pending e-mail."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = write_config(tmp_path, url, {"daemon": {"state_file": "state.json"}})
    items = [
        finding(FindingStatus.BREACH, "aws:111111111111"),
        finding(
            FindingStatus.UNKNOWN, "aws:222222222222", value=None, window=Window.month("2026-11")
        ),
        finding(FindingStatus.OK, "aws:333333333333", value=1.0),
    ]
    with Store.open(url) as store:
        run = store.runs.start(Window.month("2026-10"), NOW, "t", "d")
        store.findings.save(items, lifecycle.advance(items, {}, NOW), run)
        store.outbox.add(outbox_row("<m1@example.org>", NOW))
    return config


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_findings_newest_first_and_filtered(tmp_path: Path) -> None:
    config = str(seeded(tmp_path))
    code, out = invoke("findings", "--config", config)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[0].startswith("UNKNOWN new      2026-11-01 r aws:222222222222: unknown")
    assert lines[1].startswith("OK      none     2026-10-01 r aws:333333333333: 1 (threshold 100)")
    assert lines[2].startswith("BREACH  new      2026-10-01 r aws:111111111111: 120")
    code, out = invoke("findings", "--config", config, "--status", "BREACH", "--json")
    (doc,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and doc["scope_key"] == "aws:111111111111" and doc["lifecycle"] == "new"
    assert doc["window_start"] == "2026-10-01T00:00:00+00:00"
    code, out = invoke("findings", "--config", config, "--lifecycle", "resolved")
    assert code == 0 and "no findings match" in out
    code, out = invoke("findings", "--config", config, "--status", "MAYBE")
    assert code == 2


def test_outbox_lists_and_writes_eml(tmp_path: Path) -> None:
    config = str(seeded(tmp_path))
    code, out = invoke("outbox", "--config", config, "--eml-dir", str(tmp_path / "eml"))
    assert code == 0
    assert f"wrote   {tmp_path / 'eml' / '_m1_example.org_.eml'}" in out
    assert "pending <m1@example.org> monthly to officer@example.com, audit@example.org" in out
    assert out.splitlines()[-1] == "1 message(s) pending"
    assert (tmp_path / "eml" / "_m1_example.org_.eml").read_bytes().startswith(b"Subject: hi")
    code, out = invoke("outbox", "--config", config, "--send", "--eml-dir", str(tmp_path))
    assert code == 2 and "give --send or --eml-dir, not both" in out
    code, out = invoke("outbox", "--config", config, "--send")
    assert code == 2 and "no mail: section" in out


def test_status_reads_store_and_state_file(tmp_path: Path) -> None:
    config = seeded(tmp_path)
    code, out = invoke("status", "--config", str(config))
    assert code == 0
    assert "last run #1: running" in out and "never" in out
    assert "open findings: 1 BREACH, 1 UNKNOWN" in out and "outbox pending: 1" in out
    assert "daemon state: no state file" in out
    state = {"pid": 7, "started_at": "2026-11-02 09:00", "next_runs": {"collect": "x"}}
    (tmp_path / "state.json").write_text(json.dumps(state), encoding="utf-8")
    code, out = invoke("status", "--config", str(config))
    assert "daemon pid 7 started 2026-11-02 09:00" in out and "  next collect: x" in out
