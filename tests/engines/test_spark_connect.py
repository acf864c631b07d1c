"""The Spark engine through Spark Connect (`sc://host:port`), against a real Spark Connect server
started from the pyspark package on 127.0.0.1 (tests/spark_server.py): the warehouse opens from
the URL with its tables in the server's warehouse and pipefix's state on this machine, a batch
splits exactly into table and quarantine, a drift is repaired by the tools with nothing lost or
doubled, and nothing destructive runs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipefix.engines import loader
from pipefix.engines.base import scalar
from pipefix.engines.connect import open_warehouse
from pipefix.engines.safety import DestructiveStatementError
from pipefix.engines.spark import STATE_FILE, SparkEngine, is_connect
from pipefix.pipeline.drift import DriftKind
from pipefix.tools import retry_failed, schema_migration
from tests.engines.spark_helpers import DESTRUCTIVE, accounting, order, set_up, write_batch
from tests.spark_server import SparkConnectServer

pytestmark = pytest.mark.slow

UTC_8AM = datetime(2026, 11, 1, 8, 0)  # order()'s "2026-11-01T10:00:00+02:00", as UTC wall time
COLUMNS = "order_id, qty, price, status, created_at"


def expected(i: int, **changed: Any) -> tuple[Any, ...]:
    """An order() record as the table holds it: the decimal to the cent, the time in UTC."""
    row = {"order_id": i, "qty": i % 7 + 1, "price": Decimal(i) + Decimal("0.25"), "status": "paid"}
    return (*{**row, **changed}.values(), UTC_8AM)


def test_an_sc_url_opens_a_warehouse_whose_tables_live_on_the_server(
    spark_connect_url: str, spark_connect_server: SparkConnectServer, tmp_path: Path
) -> None:
    local = tmp_path / "spark-warehouse"
    engine = open_warehouse("spark", spark_connect_url, local)
    try:
        assert isinstance(engine, SparkEngine)
        assert is_connect(engine.spark)
        # the server's spark.sql.warehouse.dir, as the server reports it
        assert engine.warehouse_dir.endswith(f"{spark_connect_server.warehouse}/pipefix")
        set_up(engine, tmp_path)
        physical = engine.active_version("orders")
    finally:
        engine.close()

    # pipefix's state is here; the rows are in the server's warehouse, as Parquet any reader reads
    assert (local / STATE_FILE).is_file()
    assert not list(local.rglob("*.parquet"))
    [folder] = (spark_connect_server.warehouse / "pipefix" / "orders").glob(f"v{physical[-1]}-*")
    with duckdb.connect() as reader_of_files:
        on_disk = reader_of_files.execute(
            f"SELECT order_id, price, created_at FROM read_parquet('{folder}/*.parquet') ORDER BY order_id"
        ).fetchall()
    assert on_disk == [(i, Decimal(i) + Decimal("0.25"), UTC_8AM) for i in range(1, 9)]

    # a second process would re-open it from the URL: same catalog, same rows, read-only
    reader = open_warehouse("spark", spark_connect_url, local, read_only=True)
    try:
        assert isinstance(reader, SparkEngine)
        assert accounting(reader) == {
            "received": 10,
            "loaded": 8,
            "quarantined": 2,
            "replayed": 0,
            "duplicates": 0,
            "lost": 0,
            "duplicated": 0,
        }
        assert scalar(reader, "SELECT sum(price) FROM orders") == sum(
            (Decimal(i) + Decimal("0.25") for i in range(1, 9)), Decimal(0)
        )
    finally:
        reader.close()


def test_a_batch_splits_exactly_into_table_and_quarantine(spark_connect: SparkEngine, tmp_path: Path) -> None:
    set_up(spark_connect, tmp_path)  # 8 good records, a negative price, an unknown status
    edges = [
        order(20, price=0.01, created_at="2026-11-01T23:59:59.123456-05:00"),
        order(21, price=9999999999.99, created_at="2026-11-01T00:00:00Z"),
        order(22, created_at=None),
        order(23, qty="seven"),
        order(24, price=-0.01),
        {"qty": 1, "price": 1.0, "status": "paid"},  # no order_id
    ]
    batch = loader.load_batch(spark_connect, write_batch(tmp_path / "b2.jsonl", edges), "orders", 2)
    assert batch is not None
    assert (batch.received, batch.loaded, batch.quarantined) == (6, 3, 3)
    assert accounting(spark_connect) == {
        "received": 16,
        "loaded": 11,
        "quarantined": 5,
        "replayed": 0,
        "duplicates": 0,
        "lost": 0,
        "duplicated": 0,
    }
    assert spark_connect.query(f"SELECT {COLUMNS} FROM orders ORDER BY order_id") == [
        *[expected(i) for i in range(1, 9)],
        (20, 7, Decimal("0.01"), "paid", datetime(2026, 11, 2, 4, 59, 59, 123456)),
        (21, 1, Decimal("9999999999.99"), "paid", datetime(2026, 11, 1, 0, 0)),
        (22, 2, Decimal("22.25"), "paid", None),
    ]
    held = spark_connect.query(
        "SELECT line_no, kind, reason, raw FROM pipefix.quarantine ORDER BY quarantined_step, line_no"
    )
    assert [(line, kind) for line, kind, _, _ in held[:2]] == [(9, "value"), (10, "value")]
    assert [(line, kind, reason) for line, kind, reason, _ in held[2:]] == [
        (4, "schema", "qty: expected integer, got VARCHAR seven"),
        (5, "value", "price: below minimum 0"),
        (6, "schema", "order_id: missing"),
    ]
    # each held row keeps its raw text, byte for byte
    assert [raw for *_, raw in held[2:]] == (tmp_path / "b2.jsonl").read_text().splitlines()[3:]
    # the same file again is the same content: not loaded twice
    assert loader.load_batch(spark_connect, tmp_path / "b2.jsonl", "orders", 3) is None
    assert accounting(spark_connect)["received"] == 16


def test_an_added_and_a_retyped_column_are_repaired_with_nothing_lost(
    spark_connect: SparkEngine, tmp_path: Path
) -> None:
    ctx = set_up(spark_connect, tmp_path)
    first = spark_connect.active_version("orders")
    big = 3_000_000_000  # qty now beyond INT: integer -> bigint, a lossless widening
    drifted = [order(i, qty=big + i, coupon=f"W{i}") for i in range(11, 15)]
    batch = loader.load_batch(spark_connect, write_batch(tmp_path / "b2.jsonl", drifted), "orders", 2)
    assert batch is not None
    assert (batch.received, batch.loaded, batch.quarantined) == (4, 0, 4)
    kinds = {(d.kind, d.column) for d in batch.drift}
    assert {(DriftKind.ADDED, "coupon"), (DriftKind.RETYPED, "qty")} <= kinds

    detail, plan = schema_migration.apply_schema_migration(ctx, batch.drift, 3, shadow=True)
    assert "coupon" in detail
    assert any("ADD COLUMN" in s for s in plan.statements)
    assert any("ALTER COLUMN" in s and "BIGINT" in s for s in plan.statements)
    # the retype wrote a new physical version (Parquet cannot retype in place); the old one stays
    assert spark_connect.table_versions("orders") == [first, spark_connect.active_version("orders")]
    assert spark_connect.table_columns("orders")["qty"] == "BIGINT"
    assert spark_connect.table_columns("orders")["coupon"] == "STRING"

    replay_detail, replayed = retry_failed.apply_retry_failed(ctx, "orders", 3)
    assert replayed == 4, replay_detail
    assert retry_failed.apply_retry_failed(ctx, "orders", 4)[1] == 0  # a second replay adds nothing
    assert accounting(spark_connect) == {
        "received": 14,
        "loaded": 12,
        "quarantined": 2,
        "replayed": 4,
        "duplicates": 0,
        "lost": 0,
        "duplicated": 0,
    }
    assert spark_connect.query(f"SELECT {COLUMNS}, coupon FROM orders ORDER BY order_id") == [
        *[(*expected(i), None) for i in range(1, 9)],
        *[(*expected(i, qty=big + i), f"W{i}") for i in range(11, 15)],
    ]
    assert scalar(spark_connect, "SELECT count(*) FROM orders_v1") == 12  # v1 readers keep their view


def test_a_destructive_statement_is_refused_before_it_reaches_the_server(
    spark_connect: SparkEngine, spark_connect_session: Any, tmp_path: Path
) -> None:
    set_up(spark_connect, tmp_path)
    logged = len(spark_connect.statement_log)
    for sql in DESTRUCTIVE:
        with pytest.raises(DestructiveStatementError):
            spark_connect.execute(sql)
    assert spark_connect.statement_log[logged:] == []  # none was sent
    database = spark_connect.database
    assert spark_connect_session.catalog.tableExists(f"{database}.orders__v1")
    assert spark_connect_session.catalog.tableExists(f"{database}.orders")
    assert spark_connect.query(f"SELECT {COLUMNS} FROM orders ORDER BY order_id") == [
        expected(i) for i in range(1, 9)
    ]
    assert accounting(spark_connect)["lost"] == 0
