"""A user table's shape changes through typed operations (engines/sql/migration.py), applied by
engines/table_shape.py on every engine: the SQL each dialect gets, exactly; then the operations
run on a real DuckDB, PostgreSQL and Spark (local) with a producer's hostile names, rows kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipefix.engines import table_shape
from pipefix.engines.base import Engine, columns_of, scalar
from pipefix.engines.health import physical_schemas
from pipefix.engines.safety import DestructiveStatementError
from pipefix.engines.sql.dialects import DUCKDB, POSTGRES, SPARK
from pipefix.engines.sql.migration import (
    AddColumn,
    CreateTable,
    CreateView,
    DropColumn,
    EmptyTempCopy,
    RetypeColumn,
)
from pipefix.pipeline.contracts import ColumnSpec, Contract

TABLE = "order"  # a reserved word, as producers name things
CONTRACT = Contract(
    TABLE, 1, (ColumnSpec("select", "integer", False), ColumnSpec('price "usd"', "decimal(12,2)"))
)


def test_each_operation_renders_in_each_dialect_with_every_name_quoted() -> None:
    add = AddColumn(TABLE, "group", "timestamptz")
    assert add.sql(DUCKDB) == 'ALTER TABLE "order" ADD COLUMN "group" TIMESTAMPTZ'
    assert add.sql(SPARK) == "ALTER TABLE `order` ADD COLUMN `group` TIMESTAMP_LTZ"
    assert AddColumn(TABLE, "src", "varchar", "it's").sql(POSTGRES) == (
        """ALTER TABLE "order" ADD COLUMN "src" VARCHAR DEFAULT 'it''s'"""
    )
    assert AddColumn(TABLE, "step", "bigint", 0).sql(POSTGRES).endswith('"step" BIGINT DEFAULT 0')
    assert RetypeColumn(TABLE, "select", "bigint").sql(POSTGRES) == (
        'ALTER TABLE "order" ALTER COLUMN "select" TYPE BIGINT'
    )
    assert DropColumn(TABLE, "a`b").sql(SPARK) == "ALTER TABLE `order` DROP COLUMN `a``b`"
    view = CreateView("order_v1", TABLE, ("select", "qty"), {"qty": "double"}, detached=True)
    assert view.sql(POSTGRES) == (
        'CREATE OR REPLACE VIEW "order_v1" AS SELECT "select", '
        'CAST(NULL AS DOUBLE PRECISION) AS "qty" FROM "order"'
    )
    assert CreateTable.of(CONTRACT).sql(SPARK) == (
        'CREATE TABLE IF NOT EXISTS `order` (`select` INT, `price "usd"` DECIMAL(12,2), '
        "`_pipefix_batch` STRING, `_pipefix_line` BIGINT, `_pipefix_loaded_step` BIGINT)"
    )
    assert EmptyTempCopy("_pipefix_shadow_order", TABLE).sql(DUCKDB) == (
        'CREATE TEMP TABLE "_pipefix_shadow_order" AS SELECT * FROM "order" LIMIT 0'
    )


def q(name: str) -> str:
    """A name in a query's text (Spark's router reads DuckDB's quoting too)."""
    return DUCKDB.ident(name)


def _types(engine: Engine) -> dict[str, str]:
    return {c: t.upper() for c, t in physical_schemas(engine, (TABLE,))[TABLE].items()}


def test_operations_change_the_table_and_keep_every_row(any_engine: Engine) -> None:
    table_shape.apply(any_engine, CreateTable.of(CONTRACT))
    table_shape.apply(any_engine, CreateTable.of(CONTRACT))  # IF NOT EXISTS: harmless again
    columns = ("select", 'price "usd"', "_pipefix_batch", "_pipefix_line", "_pipefix_loaded_step")
    rows = [(1, Decimal("9.99"), "b1", 1, 1), (2, Decimal("0.01"), "b1", 2, 1)]
    assert any_engine.copy_rows(TABLE, columns, rows) == 2

    table_shape.apply(any_engine, AddColumn(TABLE, "group", "varchar"))
    table_shape.apply(any_engine, RetypeColumn(TABLE, "select", "bigint"))
    assert list(columns_of(any_engine, TABLE)) == [*columns[:2], *columns[2:], "group"]
    assert _types(any_engine)["select"] == "BIGINT"
    kept = any_engine.query(f"SELECT {q('select')}, {q('group')} FROM {q(TABLE)} ORDER BY 1")
    assert kept == [(1, None), (2, None)]

    table_shape.apply(any_engine, CreateView("order_v1", TABLE, ("select", 'price "usd"')))
    assert scalar(any_engine, f"SELECT count(*) FROM {q('order_v1')}") == 2

    table_shape.apply(any_engine, DropColumn(TABLE, "group"))  # empty: nothing is lost
    assert "group" not in columns_of(any_engine, TABLE)
    with pytest.raises(DestructiveStatementError, match="refused"):
        table_shape.apply(any_engine, DropColumn(TABLE, 'price "usd"'))  # holds two values
    assert scalar(any_engine, f"SELECT count(*) FROM {q(TABLE)}") == 2

    shadow = "_pipefix_shadow_order"
    table_shape.apply(any_engine, EmptyTempCopy(shadow, TABLE))
    assert scalar(any_engine, f"SELECT count(*) FROM {q(shadow)}") == 0
    table_shape.apply(any_engine, AddColumn(shadow, "coupon", "varchar"))
    assert any_engine.query(f"SELECT {q('coupon')} FROM {q(shadow)}") == []


@pytest.mark.slow
def test_spark_carries_out_the_operations_without_parsing_them(spark: Engine) -> None:
    """Each typed change is logged as the Spark SQL it stands for (backquoted), never as the
    DuckDB text the router would have parsed: the router is not on its path."""
    before = len(spark.statement_log)
    table_shape.apply(spark, CreateTable.of(CONTRACT))
    table_shape.apply(spark, AddColumn(TABLE, "group", "varchar"))
    table_shape.apply(spark, RetypeColumn(TABLE, "group", "varchar"))
    logged = spark.statement_log[before:]
    assert CreateTable.of(CONTRACT).sql(SPARK) in logged
    assert AddColumn(TABLE, "group", "varchar").sql(SPARK) in logged
    assert not [s for s in logged if s.startswith(('CREATE TABLE IF NOT EXISTS "', 'ALTER TABLE "'))]
