"""A store that cannot be reached, or that the role in its URL cannot write, is bad input (exit 2)
with the URL, password redacted, and a hint; nothing is collected."""

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.app.daemon import Daemon
from computewatch.domain import RunStatus, Window, utc
from computewatch.domain.errors import StoreUnavailable
from computewatch.store import Store
from computewatch.store.schema import run_processes
from tests.helpers.aws import write_config
from tests.helpers.process import free_port


def _status(tmp_path: Path, url: str) -> tuple[int, str]:
    cfg = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    result = CliRunner().invoke(main, ["status", "--config", str(cfg), "--store", url])
    return result.exit_code, result.output


@pytest.mark.postgres
def test_missing_database_exits_2_with_hint(tmp_path: Path) -> None:
    code, out = _status(
        tmp_path, "postgresql+psycopg://postgres:s3cret@127.0.0.1:5432/cw_no_such_db_here"
    )
    assert code == 2, out
    assert "does not exist" in out and "createdb" in out
    assert "cw_no_such_db_here" in out and "s3cret" not in out and "***" in out


def test_unreachable_server_exits_2_with_hint(tmp_path: Path) -> None:
    port = free_port()
    code, out = _status(tmp_path, f"postgresql+psycopg://u:s3cret@127.0.0.1:{port}/db")
    assert code == 2, out
    assert f"127.0.0.1:{port}" in out and "s3cret" not in out
    assert "is PostgreSQL running there" in out


@pytest.mark.parametrize("url", ["mysql://u:s3cret@localhost/db", "mongodb://h/db", "nonsense"])
def test_unsupported_scheme_names_the_supported_ones(tmp_path: Path, url: str) -> None:
    code, out = _status(tmp_path, url)
    assert code == 2, out
    assert "unsupported scheme" in out and "sqlite:///" in out and "postgresql+psycopg://" in out
    assert "s3cret" not in out


def test_sqlite_file_in_an_impossible_place_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    code, out = _status(tmp_path, f"sqlite:///{blocker}/sub/store.db")
    assert code == 2, out
    assert "cannot create" in out and "internal error" not in out


# --- a store the tool cannot write (issue 14, item 5 on PostgreSQL) -------------------------

_SETUPS = {
    # a fresh database: PostgreSQL 15 gives other roles no CREATE on schema public
    "no privileges on a new database": ([], "permission denied for schema public"),
    "read-only grants": (
        ["GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"],
        "permission denied for table",
    ),
    "no sequence usage": (
        ["GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"],
        "permission denied for sequence",
    ),
    "read-only transactions": (
        [
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
            "ALTER ROLE {role} SET default_transaction_read_only = on",
        ],
        "read-only transaction",
    ),
}


@pytest.fixture
def limited_role(postgres_url: str) -> Iterator[Callable[[list[str]], str]]:
    """A throwaway login role on the test database; returns a function that applies grants
    (after the owner migrated the schema, unless none are given) and gives the role's URL."""
    role = f"cw_test_ro_{uuid.uuid4().hex[:10]}"
    owner = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 's3cret'"))
    url = postgres_url.replace("postgres@", f"{role}:s3cret@", 1)

    def grant(statements: list[str]) -> str:
        if statements:
            with Store.open(postgres_url):
                pass  # the owner creates the tables
            with owner.connect() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement.format(role=f'"{role}"')))
        return url

    try:
        yield grant
    finally:
        Store.dispose(url)
        Store.dispose(postgres_url)
        with owner.connect() as conn:
            conn.execute(sa.text(f'REASSIGN OWNED BY "{role}" TO postgres'))
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))  # cluster-wide, from here
        owner.dispose()


def _run_rows(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("runs"):
                return 0
            return int(conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("setup", sorted(_SETUPS))
def test_store_the_role_cannot_write_exits_2_before_collecting(
    tmp_path: Path, postgres_url: str, limited_role: Callable[[list[str]], str], setup: str
) -> None:
    statements, says = _SETUPS[setup]
    url = limited_role(statements)
    cfg = write_config(tmp_path, url)
    # No AWS credentials or endpoint: reaching any cloud API would fail differently.
    result = CliRunner().invoke(
        main, ["audit", "--config", str(cfg), "--month", "2026-10", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output and says in result.output, result.output
    assert "GRANT" in result.output and "s3cret" not in result.output and "***" in result.output
    assert "internal error" not in result.output
    assert _run_rows(postgres_url) == 0  # no run was recorded, so nothing was collected


@pytest.mark.postgres
def test_read_only_role_can_still_read_and_a_writer_passes(
    tmp_path: Path, limited_role: Callable[[list[str]], str]
) -> None:
    url = limited_role(["GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"])
    code, out = _status(tmp_path, url)
    assert code == 0 and "no runs yet" in out, out
    writer = limited_role(
        [
            "GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        ]
    )
    Store.dispose(writer)
    with Store.open(writer) as store:
        store.check_writable()  # raises if any table or sequence cannot be written


@pytest.mark.postgres
def test_daemon_refuses_to_start_on_a_store_it_cannot_write(
    tmp_path: Path, postgres_url: str, limited_role: Callable[[list[str]], str]
) -> None:
    url = limited_role(["GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"])
    daemon = Daemon(write_config(tmp_path, url))
    with pytest.raises(StoreUnavailable) as err:
        daemon.run()  # before the catch-up and the scheduler: nothing is collected
    assert err.value.exit_code == 2 and "cannot write" in str(err.value)
    assert _run_rows(postgres_url) == 0


@pytest.mark.postgres
def test_read_only_role_leaves_dead_runs_for_a_writer(
    tmp_path: Path, postgres_url: str, limited_role: Callable[[list[str]], str]
) -> None:
    url = limited_role(["GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"])
    with Store.open(postgres_url) as store:  # the owner records a run of a process that ended
        run_id = store.runs.start(Window.month("2026-10"), utc(2026, 11, 2), "t", "0" * 64)
        with store.engine.begin() as conn:
            conn.execute(
                run_processes.update()
                .where(run_processes.c.run_id == run_id)
                .values(pid=_ended_pid())
            )
    code, out = _status(tmp_path, url)  # cannot mark it abandoned, but still reports
    assert code == 0 and f"running run #{run_id}" in out, out
    Store.dispose(postgres_url)
    with Store.open(postgres_url) as store:  # the next writer does mark it
        assert store.runs.get(run_id).status is RunStatus.ABANDONED


def _ended_pid() -> int:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(ended.stdout)
