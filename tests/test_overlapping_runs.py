"""Two `pipefix run` at once on one pipeline: one run at a time, enforced by the warehouse (a
PostgreSQL advisory lock, DuckDB's file lock), and every batch exactly once, enforced by the
database (batch_id is unique in pipefix.batches; a batch's rows commit with its batch row).

Real processes over a real landing folder, on DuckDB and on a real PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pipefix.api import Pipeline
from pipefix.engines import run_lock, store
from pipefix.engines.base import Engine, EngineError
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.errors import PipelineBusy
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext
from tests.conftest import clock

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
warehouse: {warehouse}
landing: landing
tables:
  orders:
    key: order_id
    columns:
      order_id:    {{type: bigint, nullable: false}}
      customer_id: {{type: bigint}}
      price_usd:   {{type: "decimal(12,2)", min: 0}}
      status:      {{type: varchar, values: [new, paid, shipped]}}
"""


def write_batches(landing: Path, batches: int, lines: int) -> int:
    """`batches` JSONL files of `lines` orders each, one in 50 with a negative price (held). Their
    modification time is in the past: complete files, read at once."""
    folder = landing / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    past = time.time() - 120
    for b in range(batches):
        rows = []
        for i in range(lines):
            n = b * lines + i
            price = -1 if n % 50 == 0 else round(n * 0.37 % 500, 2)
            rows.append(
                json.dumps({"order_id": n, "customer_id": n % 97, "price_usd": price, "status": "paid"})
            )
        path = folder / f"b{b:03d}.jsonl"
        path.write_text("\n".join(rows) + "\n")
        os.utime(path, (past, past))
    return batches * lines


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = "duckdb:///warehouse.duckdb"
    if request.param == "postgres":
        warehouse = request.getfixturevalue("pg_url")
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    return tmp_path


def pipefix(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipefix", *args, "--config", str(project / "pipefix.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def finished(process: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def exactly_once(engine: Engine) -> dict[str, int]:
    """Rows loaded twice, held twice and batches recorded twice, counted in the database."""
    return {
        "rows_twice": engine.query(
            'SELECT count(*) - count(DISTINCT (_pipefix_batch, _pipefix_line)) FROM "orders"'
        )[0][0],
        "held_twice": engine.query(
            f"SELECT count(*) - count(DISTINCT (batch_id, line_no)) FROM {store.SCHEMA}.quarantine"
        )[0][0],
        "batches_twice": engine.query(
            f"SELECT count(*) - count(DISTINCT batch_id) FROM {store.SCHEMA}.batches"
        )[0][0],
    }


def test_two_runs_at_once_load_every_line_exactly_once(project: Path) -> None:
    sent = write_batches(project / "landing", batches=4, lines=1500)
    runs = [pipefix(project, "run", "--json", "--wait", "120") for _ in range(2)]
    outcomes = [finished(run) for run in runs]
    assert [code for code, _, _ in outcomes] == [0, 0], [err for _, _, err in outcomes]
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        rows = pipeline.summary()["rows"]
        assert exactly_once(pipeline.engine) == {"rows_twice": 0, "held_twice": 0, "batches_twice": 0}
        batches = pipeline.engine.query(f"SELECT count(*), sum(received) FROM {store.SCHEMA}.batches")
    assert rows["received"] == sent == rows["loaded"] + rows["quarantined"]
    assert rows["quarantined"] == sent // 50
    assert (rows["lost"], rows["duplicated"]) == (0, 0)
    assert batches == [(4, sent)]
    # The run that waited found every batch loaded: each summary is the pipeline's, the same.
    first, second = (json.loads(out)["rows"] for _, out, _ in outcomes)
    assert first == second == rows


def test_a_second_run_exits_2_naming_the_run_that_holds_the_pipeline(project: Path) -> None:
    write_batches(project / "landing", batches=1, lines=100)
    config = project / "pipefix.yaml"
    started = time.time()
    with Pipeline.open(config) as holder:
        code, _, err = finished(pipefix(project, "run"), timeout=120)
        assert code == 2, err
        assert "is in use" in err
        assert "Traceback" not in err
        assert f"process {os.getpid()}" in err  # the holder: this test's process ...
        if isinstance(holder.engine, PostgresEngine):
            assert f"on {socket.gethostname()}" in err  # ... on this host, since it took the lock
        else:
            assert f"{project / 'warehouse.duckdb'} is in use by process {os.getpid()} on this machine" in err
        assert "since" in err
        assert "--wait SECONDS" in err
        # Writing commands wait their turn too; `check` is read-only and takes no lock.
        check = finished(pipefix(project, "check"), timeout=120)
        if isinstance(holder.engine, PostgresEngine):
            assert check[0] in (0, 1), check[2]
        else:  # DuckDB lets no process read a file another writes: said so, not a traceback
            assert check[0] == 2, check[2]
            assert "try again when that run ends" in check[2]
        # --wait: the run waits for the holder, then runs.
        threading.Timer(1.5, holder.close).start()
        code, out, err = finished(pipefix(project, "run", "--wait", "60"), timeout=120)
    assert code == 0, err
    assert time.time() - started >= 1.5
    assert "rows: received 100 | loaded 98 | quarantined 2" in out


def test_a_killed_holder_never_blocks_the_next_run(project: Path) -> None:
    write_batches(project / "landing", batches=1, lines=100)
    holder = pipefix(project, "run", "--watch", "--interval", "60", "--wait", "60")
    deadline = time.monotonic() + 120
    while not held(project / "pipefix.yaml"):
        assert holder.poll() is None, holder.communicate()
        assert time.monotonic() < deadline, "the watching run never held the pipeline"
        time.sleep(0.3)
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=30)
    code, out, err = finished(pipefix(project, "run", "--json", "--wait", "10"), timeout=120)
    assert code == 0, err
    assert json.loads(out)["rows"]["received"] == 100


def held(config: Path) -> bool:
    """Whether another process holds the pipeline now (taking it for an instant if not)."""
    try:
        Pipeline.open(config).close()
    except PipelineBusy:
        return True
    return False


def test_wait_polls_until_the_lock_is_free() -> None:
    attempts: list[float] = []

    def acquire() -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise PipelineBusy("held")
        return "held by me"

    def never() -> str:
        raise PipelineBusy("held")

    assert run_lock.waiting(acquire, 5) == "held by me"
    assert len(attempts) == 3
    with pytest.raises(PipelineBusy):
        run_lock.waiting(never, 0)


# --- exactly once, by the database itself -------------------------------------------------------


def orders() -> Contract:
    return Contract(
        "orders",
        1,
        (
            ColumnSpec("order_id", "bigint", nullable=False),
            ColumnSpec("customer_id", "bigint"),
            ColumnSpec("price_usd", "decimal(12,2)", min=0),
            ColumnSpec("status", "varchar", values=("new", "paid", "shipped")),
        ),
        key="order_id",
    )


@pytest.fixture
def two_sessions(pg_url: str) -> Iterator[tuple[PostgresEngine, PostgresEngine]]:
    """Two connections to one PostgreSQL warehouse, as two runs racing past the run lock."""
    first, second = PostgresEngine(pg_url), PostgresEngine(pg_url)
    ingest.setup(PipelineContext(first, ("orders",), clock, 60), {"orders": orders()})
    yield first, second
    first.close()
    second.close()


def test_a_batch_loaded_by_two_transactions_at_once_lands_once(
    two_sessions: tuple[PostgresEngine, PostgresEngine], tmp_path: Path, pg_url: str
) -> None:
    winner, loser = two_sessions
    landing = tmp_path / "landing"
    sent = write_batches(landing, batches=1, lines=500)
    outcome: dict[str, Any] = {}
    with winner.transaction():  # the winner's load, not committed yet
        assert len(ingest.ingest_step(PipelineContext(winner, ("orders",), clock, 60), landing, 1)) == 1

        def race() -> None:
            try:
                outcome["loads"] = ingest.ingest_step(
                    PipelineContext(loser, ("orders",), clock, 60), landing, 1
                )
            except BaseException as error:  # reported by the assertion below
                outcome["error"] = error

        racer = threading.Thread(target=race)
        racer.start()
        waiting_on_the_key(pg_url)  # the loser's batch row waits for the winner's
    racer.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["loads"] == []  # already loaded by another run: not an error, nothing twice
    assert exactly_once(winner) == {"rows_twice": 0, "held_twice": 0, "batches_twice": 0}
    assert winner.query('SELECT count(*) FROM "orders"')[0][0] == sent - sent // 50
    assert winner.query(f"SELECT count(*) FROM {store.SCHEMA}.quarantine")[0][0] == sent // 50


def waiting_on_the_key(url: str, timeout: float = 60) -> None:
    """Until a session of the database waits on a lock: the second insert of a unique key waits
    for the transaction that inserted it first."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            found = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()
            if found and found[0]:
                return
            time.sleep(0.05)
    pytest.fail("the second load never waited on the batch's key")


def test_the_database_refuses_a_batch_recorded_twice(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "warehouse.duckdb")
    store.ensure_schema(engine)
    row = (
        f"INSERT INTO {store.SCHEMA}.batches (batch_id, table_name, step) VALUES ('orders/a@1', 'orders', 1)"
    )
    engine.execute(row)
    with pytest.raises(EngineError, match=r"(?i)duplicate key"):
        engine.execute(row)
    engine.close()


# --- warehouses from before the key ---------------------------------------------------------------


@pytest.fixture(params=["duckdb", "postgres"])
def old_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """A warehouse whose pipefix.batches predates the unique key, and how to open it again."""
    if request.param == "duckdb":
        path = tmp_path / "warehouse.duckdb"
        (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse="duckdb:///warehouse.duckdb"))
        yield lambda: DuckDBEngine(path)
    else:
        url = request.getfixturevalue("pg_url")
        (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=url))
        yield lambda: PostgresEngine(url)


def old_batches(engine: Engine, batch_ids: list[str]) -> None:
    engine.execute(f"CREATE SCHEMA IF NOT EXISTS {store.SCHEMA}")
    engine.execute(
        f"CREATE TABLE {store.SCHEMA}.batches (batch_id VARCHAR, table_name VARCHAR, step BIGINT, "
        "path VARCHAR, sha256 VARCHAR, received BIGINT, loaded BIGINT, quarantined BIGINT, drift VARCHAR)"
    )
    for batch_id in batch_ids:
        engine.execute(
            f"INSERT INTO {store.SCHEMA}.batches VALUES (?, 'orders', 1, 'p', 's', 1, 1, 0, '[]')",
            (batch_id,),
        )


def has_key(engine: Engine) -> bool:
    if isinstance(engine, PostgresEngine):
        sql = "SELECT count(*) FROM pg_indexes WHERE schemaname = ? AND indexname = ?"
    else:
        sql = "SELECT count(*) FROM duckdb_indexes() WHERE schema_name = ? AND index_name = ?"
    return bool(engine.query(sql, (store.SCHEMA, store.BATCH_KEY))[0][0])


def test_an_old_warehouse_gets_the_key(old_warehouse: Callable[[], Engine], tmp_path: Path) -> None:
    engine = old_warehouse()
    old_batches(engine, ["orders/a.jsonl@1", "orders/b.jsonl@2"])
    engine.close()
    with Pipeline.open(tmp_path / "pipefix.yaml") as pipeline:
        assert pipeline.warnings == ()
        assert has_key(pipeline.engine)


def test_an_old_warehouse_with_a_batch_recorded_twice_is_told_and_kept(
    old_warehouse: Callable[[], Engine], tmp_path: Path
) -> None:
    engine = old_warehouse()
    old_batches(engine, ["orders/a.jsonl@1", "orders/a.jsonl@1", "orders/b.jsonl@2"])
    engine.close()
    with Pipeline.open(tmp_path / "pipefix.yaml") as pipeline:
        (warning,) = pipeline.warnings
        assert "records 1 batch(es) more than once: orders/a.jsonl (2 times)" in warning
        assert "nothing was removed" in warning
        assert not has_key(pipeline.engine)
        assert pipeline.engine.query(f"SELECT count(*) FROM {store.SCHEMA}.batches")[0][0] == 3
