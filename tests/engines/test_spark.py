"""The Spark engine (local mode, one JVM for the whole session): the loader and the tools run on
it unchanged, and every guarantee holds — received = loaded + held, a migration and a replay add
no duplicate, a retype writes a new table version that rollback restores, nothing destructive
runs, and a crash between the data write and the bookkeeping re-runs without duplicates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pyspark = pytest.importorskip("pyspark")

from pipefix.engines import loader, store  # noqa: E402
from pipefix.engines.base import EngineError, scalar  # noqa: E402
from pipefix.engines.safety import DestructiveStatementError  # noqa: E402
from pipefix.engines.spark import STATE_FILE, SparkEngine  # noqa: E402
from pipefix.pipeline.drift import DriftKind  # noqa: E402
from pipefix.tools import retry_failed, schema_migration  # noqa: E402
from tests.engines.spark_helpers import DESTRUCTIVE, accounting, order, set_up, write_batch  # noqa: E402

pytestmark = pytest.mark.slow


def test_a_batch_loads_with_its_bad_rows_held(spark: SparkEngine, tmp_path: Path) -> None:
    set_up(spark, tmp_path)
    assert accounting(spark) == {
        "received": 10,
        "loaded": 8,
        "quarantined": 2,
        "replayed": 0,
        "duplicates": 0,
        "lost": 0,
        "duplicated": 0,
    }
    # values exact: the decimal to the cent, the offset timestamp normalised to UTC
    row = spark.query("SELECT price, created_at, status FROM orders WHERE order_id = ?", (3,))
    assert row == [(Decimal("3.25"), datetime(2026, 11, 1, 8, 0), "paid")]
    reasons = {r[0] for r in spark.query("SELECT reason FROM pipefix.quarantine")}
    assert len(reasons) == 2
    # the same file again is the same content: not loaded twice
    assert loader.load_batch(spark, tmp_path / "b1.jsonl", "orders", 2) is None
    assert spark.table_columns("orders")["price"] == "DECIMAL(12,2)"


def test_added_column_migrates_and_replays_once(spark: SparkEngine, tmp_path: Path) -> None:
    ctx = set_up(spark, tmp_path)
    drifted = [order(i, coupon="WINTER") for i in range(11, 15)]
    batch = loader.load_batch(spark, write_batch(tmp_path / "b2.jsonl", drifted), "orders", 2)
    assert batch is not None
    assert batch.quarantined == 4
    added = tuple(d for d in batch.drift if d.kind is DriftKind.ADDED)
    assert [d.column for d in added] == ["coupon"]

    detail, plan = schema_migration.apply_schema_migration(ctx, batch.drift, 3, shadow=True)
    assert "coupon" in detail
    assert any("ADD COLUMN" in s for s in plan.statements)
    assert "coupon" in spark.table_columns("orders")
    replay_detail, replayed = retry_failed.apply_retry_failed(ctx, "orders", 3)
    assert replayed == 4, replay_detail
    again = retry_failed.apply_retry_failed(ctx, "orders", 4)[1]
    assert again == 0
    assert accounting(spark)["lost"] == 0
    assert accounting(spark)["duplicated"] == 0
    assert accounting(spark)["loaded"] == 12
    assert scalar(spark, "SELECT count(coupon) FROM orders") == 4
    # v1 readers keep their view
    assert scalar(spark, "SELECT count(*) FROM orders_v1") == 12


def test_retype_writes_a_new_version_and_rollback_restores(spark: SparkEngine, tmp_path: Path) -> None:
    set_up(spark, tmp_path)
    before = spark.query("SELECT order_id, qty, price FROM orders ORDER BY order_id")
    first = spark.active_version("orders")

    spark.execute('ALTER TABLE "orders" ALTER COLUMN "qty" TYPE BIGINT')
    second = spark.active_version("orders")
    assert second != first
    assert spark.table_versions("orders") == [first, second]
    assert spark.table_columns("orders")["qty"] == "BIGINT"
    assert spark.query("SELECT order_id, qty, price FROM orders ORDER BY order_id") == before

    spark.restore_table_version("orders", first)
    assert spark.active_version("orders") == first
    assert spark.table_columns("orders")["qty"] == "INT"
    assert spark.query("SELECT order_id, qty, price FROM orders ORDER BY order_id") == before

    # once rows land in the new version, going back to the old one would hide them: refused
    spark.execute('ALTER TABLE "orders" ALTER COLUMN "qty" TYPE BIGINT')
    third = spark.active_version("orders")
    assert third not in (first, second)
    loader.load_batch(spark, write_batch(tmp_path / "b2.jsonl", [order(20)]), "orders", 2)
    with pytest.raises(EngineError, match="would hide 1 rows"):
        spark.restore_table_version("orders", first)
    assert accounting(spark)["lost"] == 0


@pytest.mark.parametrize("sql", DESTRUCTIVE)
def test_the_safety_guard_refuses_destruction(spark: SparkEngine, tmp_path: Path, sql: str) -> None:
    set_up(spark, tmp_path)
    with pytest.raises(DestructiveStatementError):
        spark.execute(sql)
    assert accounting(spark)["loaded"] == 8


def test_a_crash_between_data_and_bookkeeping_reruns_without_duplicates(
    spark: SparkEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_up(spark, tmp_path)
    path = write_batch(tmp_path / "b2.jsonl", [order(i) for i in range(30, 40)] + [order(40, qty="x")])
    real = SparkEngine.execute

    def crash_at_bookkeeping(self: SparkEngine, sql: str, params: Any = ()) -> None:
        if sql.startswith(f'INSERT INTO "{store.SCHEMA}"."batches"'):
            raise KeyboardInterrupt("killed after the rows reached Spark")
        real(self, sql, params)

    monkeypatch.setattr(SparkEngine, "execute", crash_at_bookkeeping)
    with pytest.raises(KeyboardInterrupt):
        loader.load_batch(spark, path, "orders", 2)
    monkeypatch.setattr(SparkEngine, "execute", real)
    # the rows are in Spark, the bookkeeping is not: the batch counts as not loaded
    assert scalar(spark, "SELECT count(*) FROM orders") == 18
    assert scalar(spark, "SELECT count(*) FROM pipefix.quarantine") == 2

    batch = loader.load_batch(spark, path, "orders", 2)
    assert batch is not None
    assert (batch.received, batch.loaded, batch.quarantined) == (11, 10, 1)
    assert accounting(spark) == {
        "received": 21,
        "loaded": 18,
        "quarantined": 3,
        "replayed": 0,
        "duplicates": 0,
        "lost": 0,
        "duplicated": 0,
    }


def test_a_new_session_sees_the_catalog_the_state_describes(
    spark: SparkEngine, spark_session: Any, tmp_path: Path
) -> None:
    set_up(spark, tmp_path)
    spark.execute('ALTER TABLE "orders" ALTER COLUMN "qty" TYPE BIGINT')
    database = spark.database
    spark.close()
    fresh = spark_session.newSession()  # an empty catalog, as after a restart
    reopened = SparkEngine(
        "spark://local[2]",
        tmp_path / "warehouse",
        tmp_path / STATE_FILE,
        session=fresh,
        database=database,
    )
    try:
        assert reopened.table_columns("orders")["qty"] == "BIGINT"
        assert accounting(reopened)["loaded"] == 8
    finally:
        reopened.close()
