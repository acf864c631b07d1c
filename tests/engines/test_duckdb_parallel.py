"""DuckDB runs query_many's independent statements at once, with the rows of running them one
after another (engines/duckdb_parallel.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipefix.engines.duckdb import DuckDBEngine
from pipefix.errors import EngineError, Interrupted


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBEngine:
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    for i in range(12):
        engine.execute(f"CREATE TABLE t{i} AS SELECT range AS id FROM range({i * 100})")
    return engine


def _statements() -> list[str]:
    return [f"SELECT count(*), coalesce(sum(id), 0), {i} FROM t{i}" for i in range(12)]


def test_statements_at_once_give_each_ones_rows_in_order(warehouse: DuckDBEngine) -> None:
    at_once = warehouse.query_many(_statements())
    assert at_once == [warehouse.query(sql) for sql in _statements()]
    assert at_once[5] == [(500, sum(range(500)), 5)]
    assert warehouse.statement_log[-24:-12] == _statements()
    warehouse.close()


def test_inside_a_transaction_they_see_its_uncommitted_rows(warehouse: DuckDBEngine) -> None:
    with warehouse.transaction():
        warehouse.execute("INSERT INTO t3 SELECT 1000 FROM range(7)")
        rows = warehouse.query_many(_statements())
    assert rows[3] == [(307, sum(range(300)) + 7000, 3)]
    warehouse.close()


def test_a_failing_statement_names_itself(warehouse: DuckDBEngine) -> None:
    statements = [*_statements(), "SELECT count(*) FROM no_such_table"]
    with pytest.raises(EngineError, match="in: SELECT count\\(\\*\\) FROM no_such_table"):
        warehouse.query_many(statements)
    assert warehouse.query("SELECT count(*) FROM t2") == [(200,)]  # the engine goes on
    warehouse.close()


def test_an_interrupt_stops_statements_running_at_once(warehouse: DuckDBEngine) -> None:
    slow = "SELECT count(*) FROM range(10000000000) AS a WHERE a.range % 7 = 3"
    timer = threading.Timer(0.5, warehouse.interrupt)
    timer.start()
    with pytest.raises(Interrupted):
        warehouse.query_many([slow] * 4)
    timer.join()
    warehouse.close()
