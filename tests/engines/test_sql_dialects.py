"""The dialect layer's core: names and values written for each dialect read back as what they
were, on a real DuckDB file and a real PostgreSQL (Spark's backquotes and backslash escapes are
checked as text here; the hostile-identifier test drives them on Spark end to end)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipefix.engines.base import Engine
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.engines.sql.dialects import DUCKDB, POSTGRES, SPARK, Dialect, dialect_named

NAMES = ["order", "select", "timestamp", 'a"b', "o'brien", "unit price", "a.b", "оrder", "ﬁeld", "café"]
TEXTS = ["it's", 'say "hi"', "back\\slash", "", "ünïcode ✓", "--", "/* */", "?"]


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Dialect]]:
    if request.param == "duckdb":
        engine: Engine = DuckDBEngine(str(tmp_path / "w.duckdb"))
        dialect = DUCKDB
    else:
        engine = PostgresEngine(request.getfixturevalue("pg_url"))
        dialect = POSTGRES
    yield engine, dialect
    engine.close()


def test_hostile_names_and_texts_read_back_as_they_were(warehouse: tuple[Engine, Dialect]) -> None:
    engine, d = warehouse
    engine.execute(f"CREATE SCHEMA IF NOT EXISTS {d.ident('my schema')}")
    columns = ", ".join(f"{d.ident(name)} {d.column_type('varchar')}" for name in NAMES)
    table = d.table("my schema", 'odd "table"')
    engine.execute(f"CREATE TABLE {table} ({columns})")
    values = ", ".join(d.string(TEXTS[i % len(TEXTS)]) for i in range(len(NAMES)))
    engine.execute(f"INSERT INTO {table} VALUES ({values})")
    row = engine.query(f"SELECT {', '.join(d.ident(n) for n in NAMES)} FROM {table}")[0]
    assert list(row) == [TEXTS[i % len(TEXTS)] for i in range(len(NAMES))]
    assert list(engine.table_columns('odd "table"', "my schema")) == NAMES


def test_numbers_are_written_as_digits_every_dialect_reads(warehouse: tuple[Engine, Dialect]) -> None:
    engine, d = warehouse
    values = [0.0, 1e-05, -2.5, 1e20, 123456789.125]
    row = engine.query("SELECT " + ", ".join(f"CAST({d.number(v)} AS DOUBLE PRECISION)" for v in values))[0]
    assert list(row) == values
    assert d.number(1e300) == "1E+300"
    with pytest.raises(ValueError, match="not a finite number"):
        d.number(float("inf"))


def test_spark_writes_backquotes_and_backslash_escapes() -> None:
    assert SPARK.table("pipefix", "a`b") == "`pipefix`.`a``b`"
    assert SPARK.string("it's \\ ok") == "'it\\'s \\\\ ok'"
    assert SPARK.column_type("varchar") == "STRING"
    assert POSTGRES.temp_table("x") == '"pg_temp"."x"'
    assert dialect_named("spark") is SPARK
    with pytest.raises(ValueError, match="no SQL dialect 'oracle'"):
        dialect_named("oracle")
