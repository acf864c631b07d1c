"""Contract types on Spark: timestamptz is Spark's TIMESTAMP_LTZ in a UTC session (instants exact,
read back in UTC), beside a timestamp (TIMESTAMP_NTZ, a UTC time); decimals read on the text."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("pyspark")

from pipefix.engines import health, loader
from pipefix.engines.spark import SparkEngine
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.tools import ingest
from tests.engines.spark_helpers import context, write_batch

pytestmark = pytest.mark.slow

PAYMENTS = Contract(
    "orders",
    1,
    (
        ColumnSpec("order_id", "bigint", False),
        ColumnSpec("paid_at", "timestamptz"),
        ColumnSpec("noted_at", "timestamp"),
        ColumnSpec("rate", "decimal(38,20)"),
    ),
    key="order_id",
)


def test_timestamptz_is_an_exact_instant_on_spark(spark: SparkEngine, tmp_path: Path) -> None:
    ingest.setup(context(spark), {"orders": PAYMENTS})
    sent = ["2026-11-01T06:00:00-04:00", "2026-11-01T10:00:00Z", "2026-11-01 10:00:00"]
    records = [{"order_id": i, "paid_at": t, "noted_at": t, "rate": 0.5} for i, t in enumerate(sent, 1)]
    path = write_batch(tmp_path / "b1.jsonl", records)
    path.write_text(path.read_text().replace("0.5", "0.12345678901234567890"))
    batch = loader.load_batch(spark, path, "orders", 1)
    assert batch is not None
    assert (batch.loaded, batch.quarantined) == (3, 0)
    rows = spark.query("SELECT paid_at, noted_at, rate FROM orders ORDER BY order_id")
    instant = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    for paid, noted, rate in rows:
        # pyspark hands an instant back as the Python process's local time: the same instant
        assert paid.astimezone(UTC) == instant
        assert noted == instant.replace(tzinfo=None)  # a UTC time
        assert rate == Decimal("0.12345678901234567890")
    columns = spark.table_columns("orders")
    assert (columns["paid_at"], columns["noted_at"]) == ("TIMESTAMP_LTZ", "TIMESTAMP")
    assert health.schema_mismatches(PAYMENTS, columns, "spark") == ()
