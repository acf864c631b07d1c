"""A table another tool already loaded, on DuckDB and PostgreSQL: `pipefix check` judges it
read-only before pipefix ever ran (creating nothing), `pipefix run` adopts it in place and then
loads new batches, with every row accounted for and no key twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.engines.base import Engine
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.engines.sql.dialects import POSTGRES
from pipefix.errors import ConfigError
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.tools.adopt import plan_adoption
from tests.conftest import settled

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

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
      created_at:  {{type: timestamp}}
goal: {{health: 0.95, error_rate: 0.02}}
"""

TYPES = {
    "duckdb": "order_id BIGINT NOT NULL, customer_id BIGINT, price_usd DECIMAL(12,2), status VARCHAR, "
    "created_at TIMESTAMP",
    "postgres": "order_id BIGINT NOT NULL, customer_id BIGINT, price_usd NUMERIC(12,2), "
    "status VARCHAR, created_at TIMESTAMP",
}
ADOPTED_ROWS = 40
COLUMNS = ("order_id", "customer_id", "price_usd", "status", "created_at")


def clock(step: int) -> datetime:
    return NOW


def statuses(i: int) -> str:
    return ("new", "paid", "shipped")[i % 3]


def other_tool_rows() -> list[tuple[Any, ...]]:
    """What another loader wrote: plain rows, one without a customer."""
    return [
        (
            i,
            None if i == 7 else 1000 + i % 9,
            Decimal(f"{i * 3}.{i % 100:02d}"),
            statuses(i),
            datetime(2026, 11, i % 19 + 1, 8, 0),
        )
        for i in range(1, ADOPTED_ROWS + 1)
    ]


def connect(kind: str, project: Path, url: str) -> Engine:
    return DuckDBEngine(project / "warehouse.duckdb") if kind == "duckdb" else PostgresEngine(url)


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, str]:
    """A folder with pipefix.yaml, and a warehouse where another tool created and filled `orders`
    with plain SQL. Yields (folder, kind, warehouse URL)."""
    kind = str(request.param)
    url = request.getfixturevalue("pg_url") if kind == "postgres" else "duckdb:///warehouse.duckdb"
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=url))
    engine = connect(kind, tmp_path, url)
    engine.execute(f"CREATE TABLE orders ({TYPES[kind]})")
    engine.copy_rows("orders", COLUMNS, other_tool_rows())
    engine.close()
    return tmp_path, kind, url


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    names = ", ".join(COLUMNS)
    return engine.query(f"SELECT {names} FROM orders WHERE _pipefix_line IS NULL ORDER BY order_id")


def plain_snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    return engine.query(f"SELECT {', '.join(COLUMNS)} FROM orders ORDER BY order_id")


def schemas(engine: Engine) -> set[str]:
    return {str(r[0]) for r in engine.query("SELECT schema_name FROM information_schema.schemata")}


def write_batch(project: Path, name: str, ids: range, extra: list[dict[str, Any]] | None = None) -> int:
    rows = [
        {
            "order_id": i,
            "customer_id": 2000 + i,
            "price_usd": i + 0.25,
            "status": statuses(i),
            "created_at": "2026-11-20T11:00:00Z",
        }
        for i in ids
    ] + (extra or [])
    folder = project / "landing" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(folder / name)
    return len(rows)


def test_check_judges_the_table_read_only_and_run_adopts_it(project: tuple[Path, str, str]) -> None:
    folder, kind, url = project
    engine = connect(kind, folder, url)
    before, schemas_before = plain_snapshot(engine), schemas(engine)
    engine.close()

    checked = CliRunner().invoke(main, ["check", "--config", str(folder / "pipefix.yaml"), "--json"])
    assert checked.exit_code == 0, checked.output
    result = json.loads(checked.output)
    assert result["healthy"] is True
    assert result["tables"]["orders"]["checks"] == {
        "schema": True,
        "not_null": True,
        "unique_key": True,
        "ranges": True,
        "freshness": True,
    }
    assert any("40 rows judged read-only" in note for note in result["notes"])

    engine = connect(kind, folder, url)
    assert schemas(engine) == schemas_before, "check created a schema"
    assert "pipefix" not in schemas(engine)
    assert list(engine.table_columns("orders")) == list(COLUMNS), "check changed the table"
    assert plain_snapshot(engine) == before
    engine.close()

    # One new order, and one whose key another tool already loaded: held as a duplicate.
    sent = write_batch(
        folder, "b-001.jsonl", range(101, 111), [{"order_id": 5, "price_usd": 1, "status": "new"}]
    )
    with Pipeline.open(folder / "pipefix.yaml", clock=clock) as pipeline:
        summary = pipeline.run(1)
        log = list(pipeline.engine.statement_log)
    assert summary["rows"] == {
        "received": sent,
        "loaded": ADOPTED_ROWS + sent - 1,
        "quarantined": 1,
        "replayed": 0,
        "duplicates": 0,
        "lost": 0,
        "duplicated": 0,
        "adopted": ADOPTED_ROWS,
    }
    touching = [s for s in log if "orders" in s and s.lstrip().upper().startswith(("UPDATE", "DELETE"))]
    assert touching == [], "a row of the adopted table was changed"

    engine = connect(kind, folder, url)
    assert snapshot(engine) == before, "an adopted row changed"
    lineage = engine.query(
        "SELECT DISTINCT _pipefix_batch, _pipefix_line, _pipefix_loaded_step FROM orders "
        "WHERE _pipefix_line IS NULL"
    )
    assert lineage == [("adopted:orders", None, 0)]
    keys = engine.query("SELECT count(*), count(DISTINCT order_id) FROM orders")[0]
    assert keys == (ADOPTED_ROWS + sent - 1, ADOPTED_ROWS + sent - 1)
    held = engine.query("SELECT reason FROM pipefix.quarantine WHERE replayed_step IS NULL")
    assert held == [("order_id: duplicate key",)]
    engine.close()

    # A second batch loads as usual; the health figures cover the adopted rows too.
    more = write_batch(folder, "b-002.jsonl", range(111, 121))
    ran = CliRunner().invoke(main, ["run", "--config", str(folder / "pipefix.yaml"), "--no-color"])
    assert ran.exit_code == 0, ran.output
    total = ADOPTED_ROWS + sent + more - 1
    assert (
        f"rows: received {sent + more} | loaded {total} (adopted {ADOPTED_ROWS}) | quarantined 1"
        in ran.output
    )
    with Pipeline.open(folder / "pipefix.yaml", read_only=True, clock=clock) as pipeline:
        rows = pipeline.summary()["rows"]
    assert (rows["received"], rows["loaded"], rows["adopted"]) == (
        sent + more,
        ADOPTED_ROWS + sent + more - 1,
        40,
    )
    assert (rows["lost"], rows["duplicated"]) == (0, 0)
    with Pipeline.open(folder / "pipefix.yaml", read_only=True, clock=clock) as pipeline:
        quick, full = pipeline.check(), pipeline.check(full=True)
    for result_now in (quick, full):
        orders = result_now.metrics.table("orders")
        assert orders is not None
        assert orders.checks["unique_key"]
        assert orders.checks["not_null"]
    assert quick.metrics.health == full.metrics.health


def test_a_table_that_does_not_match_is_reported_and_left_alone(project: tuple[Path, str, str]) -> None:
    folder, kind, url = project
    engine = connect(kind, folder, url)
    engine.execute("CREATE TABLE customers (customer_id INTEGER, email VARCHAR NOT NULL, loaded_by VARCHAR)")
    engine.copy_rows("customers", ("customer_id", "email", "loaded_by"), [(1, "a@x.io", "etl")])
    schemas_before = schemas(engine)
    engine.close()
    config = folder / "pipefix.yaml"
    customers = (
        "  customers:\n    columns:\n      customer_id: {type: bigint}\n      email: {type: varchar}\n"
        "      country: {type: varchar}\ngoal:"
    )
    config.write_text(config.read_text().replace("goal:", customers))
    checked = CliRunner().invoke(main, ["check", "--config", str(config), "--json"])
    assert checked.exit_code == 1, checked.output
    result = json.loads(checked.output)
    assert result["tables"]["customers"]["checks"]["schema"] is False
    notes = "\n".join(result["notes"])
    assert "customers.customer_id: pipefix.yaml says bigint" in notes
    assert "customers.country: in pipefix.yaml (varchar), not in the table" in notes
    assert "customers.loaded_by: in the table" in notes
    assert "customers.email: NOT NULL in the table but nullable in pipefix.yaml" in notes

    ran = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert ran.exit_code == 2
    for column in ("customer_id", "country", "loaded_by", "email"):
        assert f"  {column}: " in ran.output
    with pytest.raises(ConfigError, match="does not adopt it"):
        Pipeline.open(config, clock=clock)
    engine = connect(kind, folder, url)
    assert schemas(engine) == schemas_before, "a refused adoption created pipefix's state"
    assert list(engine.table_columns("orders")) == list(COLUMNS)
    assert list(engine.table_columns("customers")) == ["customer_id", "email", "loaded_by"]
    engine.close()


def test_adoption_only_adds_lineage_columns_with_defaults() -> None:
    contract = Contract("orders", 1, (ColumnSpec("order_id", "bigint"),))
    assert plan_adoption(contract, POSTGRES) == (
        """ALTER TABLE "orders" ADD COLUMN "_pipefix_batch" VARCHAR DEFAULT 'adopted:orders'""",
        'ALTER TABLE "orders" ADD COLUMN "_pipefix_line" BIGINT',
        'ALTER TABLE "orders" ADD COLUMN "_pipefix_loaded_step" BIGINT DEFAULT 0',
    )
