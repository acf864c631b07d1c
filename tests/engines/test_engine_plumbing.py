"""The engines' own plumbing, built in the seam (engines/sql/bulk_rows.py, drop_guard.py,
run_lock.py): rows written in bulk and the count before a column drop, under hostile names, on
a real DuckDB file and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pipefix.engines import safety
from pipefix.engines.base import Engine
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.engines.safety import DestructiveStatementError
from pipefix.engines.sql import bulk_rows, drop_guard, run_lock, staging
from pipefix.engines.sql.dialects import DUCKDB, POSTGRES, SPARK, Dialect

SCHEMA = "my schema"
TABLE = 'odd "table"'
COLUMNS = ("order", 'a"b', "unit price")


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Dialect]]:
    """An engine with an empty table of hostile names: SCHEMA.TABLE (COLUMNS), all text."""
    if request.param == "duckdb":
        engine: Engine = DuckDBEngine(tmp_path / "w.duckdb")
        d = DUCKDB
    else:
        engine = PostgresEngine(request.getfixturevalue("pg_url"))
        d = POSTGRES
    engine.execute(f"CREATE SCHEMA {d.ident(SCHEMA)}")
    columns = ", ".join(f"{d.ident(c)} {d.column_type('varchar')}" for c in COLUMNS)
    engine.execute(f"CREATE TABLE {d.table(SCHEMA, TABLE)} ({columns})")
    yield engine, d
    engine.close()


def rows_of(engine: Engine, d: Dialect) -> list[tuple[object, ...]]:
    names = ", ".join(d.ident(c) for c in COLUMNS)
    return engine.query(f"SELECT {names} FROM {d.table(SCHEMA, TABLE)} ORDER BY {d.ident('order')}")


def test_the_bulk_statements_quote_every_part_of_the_name() -> None:
    assert bulk_rows.insert_rows_sql(DUCKDB, "pipefix.quarantine", ("a", 'b"c'), 2) == (
        'INSERT INTO "pipefix"."quarantine" ("a", "b""c") VALUES (?, ?), (?, ?)'
    )
    assert bulk_rows.insert_rows_logged(DUCKDB, "t", ("a", "b"), 250) == (
        'INSERT INTO "t" ("a", "b") VALUES (?, ?), ... -- 250 rows'
    )
    copy = bulk_rows.copy_from_stdin_sql
    assert copy(POSTGRES, "pg_temp.k", ("v",)) == 'COPY "pg_temp"."k" ("v") FROM STDIN'
    assert copy(POSTGRES, "t", ("a",), csv=True) == 'COPY "t" ("a") FROM STDIN (FORMAT csv)'
    held = drop_guard.values_held_sql(SPARK, ("main", "my`t"), "order")
    assert held == "SELECT count(`order`) FROM `main`.`my``t`"


def test_rows_copied_in_bulk_land_whole_under_hostile_names(warehouse: tuple[Engine, Dialect]) -> None:
    engine, d = warehouse
    # 250 rows: DuckDB writes them in INSERTs of 100, 100 and 50; PostgreSQL in one COPY
    rows = [(f"{i:03d}", f"it's {i}" if i % 2 else None, "?" if i % 3 else "--") for i in range(250)]
    logged = len(engine.statement_log)

    assert engine.copy_rows(f"{SCHEMA}.{TABLE}", COLUMNS, iter(rows)) == 250

    [written] = engine.statement_log[logged:]  # one line, whatever the chunks
    assert written.startswith(f"{'INSERT INTO' if d is DUCKDB else 'COPY'} {d.table(SCHEMA, TABLE)} (")
    assert rows_of(engine, d) == rows
    assert engine.copy_rows(f"{SCHEMA}.{TABLE}", COLUMNS, []) == 0
    assert len(rows_of(engine, d)) == 250


def test_a_hostile_column_is_dropped_only_while_it_holds_no_value(warehouse: tuple[Engine, Dialect]) -> None:
    engine, d = warehouse
    table = d.table(SCHEMA, TABLE)
    engine.copy_rows(f"{SCHEMA}.{TABLE}", COLUMNS, [("1", "x", None), ("2", None, None), ("3", "y", None)])

    with pytest.raises(DestructiveStatementError) as refused:
        engine.execute(f"ALTER TABLE {table} DROP COLUMN {d.ident(COLUMNS[1])}")
    assert str(refused.value) == 'refused: dropping column a"b of my schema.odd "table" would lose 2 values'
    engine.execute(f"ALTER TABLE {table} DROP COLUMN {d.ident('unit price')}")  # all NULL: nothing lost

    assert list(engine.table_columns(TABLE, SCHEMA)) == ["order", 'a"b']
    names = ", ".join(d.ident(c) for c in COLUMNS[:2])
    assert engine.query(f"SELECT {names} FROM {table} ORDER BY 1") == [("1", "x"), ("2", None), ("3", "y")]


def test_unquoted_names_are_counted_as_the_warehouse_folds_them(warehouse: tuple[Engine, Dialect]) -> None:
    # PostgreSQL folds an unquoted name to lower case: `Users.Name` is users.name, and its values
    # are counted there (quoting the name as written would count a column that does not exist)
    engine, _ = warehouse
    engine.execute("CREATE TABLE users (id INTEGER, name VARCHAR, note VARCHAR)")
    engine.execute("INSERT INTO users VALUES (1, 'ada', NULL), (2, NULL, NULL)")

    refusal = "^refused: dropping column name of users would lose 1 values$"
    with pytest.raises(DestructiveStatementError, match=refusal):
        engine.execute("ALTER TABLE Users DROP COLUMN Name")
    engine.execute("ALTER TABLE Users DROP COLUMN Note")

    assert list(engine.table_columns("users")) == ["id", "name"]
    assert engine.query("SELECT id, name FROM users ORDER BY id") == [(1, "ada"), (2, None)]


def test_the_guard_names_the_column_by_its_parts() -> None:
    [dropped] = safety.inspect('ALTER TABLE "My S"."T""x" DROP COLUMN "Ord"', "postgres")
    assert (dropped.table_path, dropped.column_name) == (("My S", 'T"x'), "Ord")


def test_every_scratch_rebuild_the_judge_writes_skips_the_parser() -> None:
    # the judge's own scratch tables are rebuilt every batch: their statements must match the
    # pattern the guard lets through unparsed, or each batch pays for a parse
    rebuilds = [
        staging.restage("SELECT replace(raw, 'a', 'b') AS raw FROM t"),
        staging.stage_without_line(),
        staging.stage_holding_line(),
        staging.stage_parquet(),
        staging.judge_into_checked("SELECT 1 AS x"),
        staging.keep_prior(staging.NO_LINEAGE),
        staging.stage_lines(staging.STAGE, starts_file=True),
        staging.stage_json_document(staging.STAGE, "array"),
    ]
    for statement in rebuilds:
        assert staging.SCRATCH_REBUILD.match(statement), statement
        assert not safety._needs_parsing(statement), statement
    assert safety._needs_parsing(staging.scratch_table_as("users", "SELECT 1 AS x; DROP TABLE users"))


def test_closing_a_postgres_engine_lets_its_advisory_locks_go(pg_url: str) -> None:
    engine = PostgresEngine(pg_url)
    assert engine.query(run_lock.try_lock_sql(), (4242,)) == [(True,)]
    with psycopg.connect(pg_url, autocommit=True) as other:
        taken = other.execute("SELECT pg_try_advisory_lock(4242)").fetchone()
        assert taken == (False,)  # held by the engine's session
        engine.close()
        taken = other.execute("SELECT pg_try_advisory_lock(4242)").fetchone()
        assert taken == (True,)  # let go at close, not whenever the server ends the session
