"""A user's own pipeline: three tables, three formats, drift arriving over several `run`s —
on DuckDB, on a real PostgreSQL and on a real Spark Connect server, ending healthy with 0 rows
lost and values exact."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipefix.api import Pipeline
from tests.conftest import settled

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

CONFIG = """
warehouse: {warehouse}
landing: landing
tables:
  customers:
    key: customer_id
    columns:
      customer_id: {{type: bigint, nullable: false}}
      email:       {{type: varchar, nullable: false}}
      tier:        {{type: varchar, values: [free, pro]}}
      signup_at:   {{type: timestamp, nullable: false}}
  orders:
    key: order_id
    columns:
      order_id:    {{type: bigint, nullable: false}}
      customer_id: {{type: bigint, nullable: false}}
      amount:      {{type: "decimal(12,2)", nullable: false, min: 0}}
      status:      {{type: varchar, values: [new, paid]}}
      created_at:  {{type: timestamp, nullable: false}}
    freshness: 24h
  shipments:
    key: shipment_id
    columns:
      shipment_id: {{type: bigint, nullable: false}}
      order_id:    {{type: bigint, nullable: false}}
      carrier:     {{type: varchar}}
      shipped_at:  {{type: timestamp, nullable: false}}
budget: {{max_fixes: 15}}
goal: {{health: 0.95, error_rate: 0.02}}
"""


def clock(step: int) -> datetime:
    return NOW


def iso(offset_minutes: int) -> str:
    return (NOW - timedelta(minutes=offset_minutes)).isoformat()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(path)


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    settled(path)


def write_parquet(path: Path, select: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    settled(path)


def first_batches(landing: Path) -> None:
    write_jsonl(
        landing / "customers" / "c-001.jsonl",
        [
            {"customer_id": i, "email": f"c{i}@x.io", "tier": "free", "signup_at": iso(i)}
            for i in range(1, 41)
        ],
    )
    write_csv(
        landing / "orders" / "o-001.csv",
        ["order_id", "customer_id", "amount", "status", "created_at"],
        [[i, i % 40 + 1, f"{i * 3}.{i % 100:02d}", "new", iso(i)] for i in range(1, 101)],
    )
    write_parquet(
        landing / "shipments" / "s-001.parquet",
        "SELECT i AS shipment_id, i AS order_id, 'ups' AS carrier, "
        "(TIMESTAMP '2026-11-20 11:00:00' - INTERVAL (i) MINUTE)::VARCHAR AS shipped_at "
        "FROM range(1, 31) t(i)",
    )


def drifted_batches(landing: Path, start: int) -> None:
    """Schema v2 from the producers, without warning: a column added (orders.coupon), a required
    column dropped (customers.email), a timestamp sent as epoch milliseconds plus a nested object
    (shipments.shipped_at, shipments.dimensions)."""
    write_csv(
        landing / "orders" / f"o-{start:03d}.csv",
        ["order_id", "customer_id", "amount", "status", "created_at", "coupon"],
        [
            [i, i % 40 + 1, f"{i}.{i % 100:02d}", "paid", iso(1), "WINTER"]
            for i in range(start * 100, start * 100 + 80)
        ],
    )
    write_jsonl(
        landing / "customers" / f"c-{start:03d}.jsonl",
        [
            {"customer_id": i, "tier": "pro", "signup_at": iso(1)}
            for i in range(start * 100, start * 100 + 20)
        ],
    )
    base_ms = int((NOW - timedelta(hours=1)).timestamp() * 1000)
    write_parquet(
        landing / "shipments" / f"s-{start:03d}.parquet",
        f"SELECT {start * 100} + i AS shipment_id, i AS order_id, 'dhl' AS carrier, "
        f"{base_ms} + i * 1000 AS shipped_at, {{'l': i, 'w': 2, 'h': 3}} AS dimensions "
        "FROM range(0, 25) t(i)",
    )


def sent_amounts(landing: Path) -> Decimal:
    total = Decimal(0)
    for path in sorted((landing / "orders").glob("*.csv")):
        lines = path.read_text().splitlines()
        column = lines[0].split(",").index("amount")
        total += sum(Decimal(line.split(",")[column]) for line in lines[1:])
    return total


@pytest.fixture(params=["duckdb", "postgres", pytest.param("spark-connect", marks=pytest.mark.slow)])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = "duckdb:///warehouse.duckdb"
    if request.param == "postgres":
        warehouse = request.getfixturevalue("pg_url")
    elif request.param == "spark-connect":  # `warehouse: sc://127.0.0.1:PORT`, a real server
        warehouse = request.getfixturevalue("spark_connect_url")
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    return tmp_path


def run(project: Path, steps: int) -> dict[str, Any]:
    with Pipeline.open(project / "pipefix.yaml", clock=clock) as pipeline:
        return pipeline.run(steps)


def test_drift_over_several_runs_ends_healthy_with_nothing_lost(project: Path) -> None:
    landing = project / "landing"
    first_batches(landing)
    summary = run(project, 1)
    assert summary["rows"] | {"replayed": 0} == {
        "received": 170,
        "loaded": 170,
        "quarantined": 0,
        "replayed": 0,
        "duplicates": 0,
        "lost": 0,
        "duplicated": 0,
    }
    assert summary["final"]["health"] == 1.0

    drifted_batches(landing, start=2)
    summary = run(project, 1)  # the drift arrives: rows held, goal revised, tables diagnosed
    assert summary["drift_step"] == 2
    assert summary["rows"]["quarantined"] == 125
    assert summary["rows"]["lost"] == 0
    assert len(summary["revisions"]) == 1

    summary = run(project, 1)  # a separate invocation repairs: migrate, adapt, replay
    assert summary["rows"]["quarantined"] == 0
    assert summary["rows"]["replayed"] == 125

    drifted_batches(landing, start=3)  # more v2 data now loads directly
    summary = run(project, 1)
    assert summary["steps"] == 4
    rows = summary["rows"]
    assert rows == {
        "received": 420,
        "loaded": 420,
        "quarantined": 0,
        "replayed": 125,
        "duplicates": 0,
        "lost": 0,
        "duplicated": 0,
    }
    assert summary["final"]["health"] >= 0.95
    assert summary["final"]["error_rate"] < 0.02
    # The repair ran in step 3, which was measured (at its start) with the rows still held;
    # step 4 is the first measured with nothing waiting.
    assert summary["recovered_step"] == 4
    assert {f["target"] for f in summary["fixes"] if f["ok"]} == {"orders", "customers", "shipments"}

    with Pipeline.open(project / "pipefix.yaml", read_only=True, clock=clock) as pipeline:
        engine = pipeline.engine
        assert engine.query("SELECT sum(amount) FROM orders")[0][0] == sent_amounts(landing)
        stamps = engine.query("SELECT shipped_at FROM shipments WHERE shipment_id = 301")
        assert stamps == [(datetime(2026, 11, 20, 11, 0, 1),)]
        dims = engine.query("SELECT dimensions FROM shipments WHERE shipment_id = 301")[0][0]
        assert json.loads(dims) == {"l": 1, "w": 2, "h": 3}
        coupons = engine.query("SELECT count(coupon) FROM orders")[0][0]
        assert coupons == 160
        result = pipeline.check()
        assert result.healthy
        assert {t.table: t.contract_version for t in result.metrics.tables} == {
            "customers": 2,
            "orders": 2,
            "shipments": 2,
        }
