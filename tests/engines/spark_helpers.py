"""What the Spark tests (local mode and Spark Connect) share: a small orders contract, its
records, a batch writer, and the set-up every test starts from (10 records: 8 load, 2 held)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipefix.engines import loader, store
from pipefix.engines.spark import SparkEngine
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext

ORDERS = Contract(
    "orders",
    1,
    (
        ColumnSpec("order_id", "bigint", False),
        ColumnSpec("qty", "integer", False),
        ColumnSpec("price", "decimal(12,2)", False, 0),
        ColumnSpec("status", "varchar", False, None, None, ("paid", "open")),
        ColumnSpec("created_at", "timestamp", True),
    ),
    key="order_id",
)


def context(engine: SparkEngine) -> PipelineContext:
    return PipelineContext(engine, ("orders",), lambda step: datetime(2026, 11, 1, tzinfo=UTC), 60)


def write_batch(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def order(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": i,
        "qty": i % 7 + 1,
        "price": i + 0.25,
        "status": "paid",
        "created_at": "2026-11-01T10:00:00+02:00",
        **extra,
    }


def accounting(engine: SparkEngine) -> dict[str, int]:
    return store.row_accounting(engine, ("orders",))


def set_up(engine: SparkEngine, tmp_path: Path) -> PipelineContext:
    ctx = context(engine)
    ingest.setup(ctx, {"orders": ORDERS})
    good = [order(i) for i in range(1, 9)]
    bad = [order(9, price=-3.0), order(10, status="teleport")]
    batch = loader.load_batch(engine, write_batch(tmp_path / "b1.jsonl", good + bad), "orders", 1)
    assert batch is not None
    assert (batch.received, batch.loaded, batch.quarantined) == (10, 8, 2)
    return ctx


# Refused on every Spark warehouse, before they reach Spark.
DESTRUCTIVE = (
    "DROP TABLE orders",
    'DROP TABLE "orders__v1"',
    "TRUNCATE orders",
    "DELETE FROM orders WHERE order_id = 1",
    "CREATE OR REPLACE TABLE orders AS SELECT 1 AS x",
    "ALTER TABLE orders RENAME TO orders_old",
    "ALTER TABLE orders DROP COLUMN price",
    "SELECT 1; DROP TABLE orders",
    "UPDATE orders SET qty = 0",
    "SELECT 1; UPDATE orders SET qty = 0",
    "MERGE INTO orders USING (SELECT 1 AS order_id) AS s ON orders.order_id = s.order_id "
    "WHEN MATCHED THEN UPDATE SET qty = 0",
    "INSERT OVERWRITE orders SELECT * FROM orders",
)
