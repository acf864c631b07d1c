"""Table health in one aggregate query per table, incremental by default, on both engines.

Exact semantics: int32 is not int64; an integer column with nulls is still an integer column;
null keys are not duplicates; a table without rows has defined results. Incremental figures
equal a full rescan's, step after step, including rows that arrive after a step was measured.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.cli import main
from pipefix.engines import health, loader, store
from pipefix.engines.base import Engine
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.tools import ingest
from pipefix.tools.check_health import measure
from pipefix.tools.context import PipelineContext
from tests.conftest import clock, orders_contract, v1_order

LINEAGE = ("_pipefix_batch", "_pipefix_line", "_pipefix_loaded_step")


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine: Engine
    if request.param == "duckdb":
        engine = DuckDBEngine(tmp_path / "warehouse.duckdb")
    else:
        engine = PostgresEngine(request.getfixturevalue("pg_url"))
    store.ensure_schema(engine)
    yield engine
    engine.close()


def pipeline(engine: Engine, contract: Contract) -> PipelineContext:
    ctx = PipelineContext(engine, (contract.table,), clock, 60)
    ingest.setup(ctx, {contract.table: contract})
    return ctx


def physical(engine: Engine, table: str) -> dict[str, str]:
    return health.physical_schemas(engine, (table,))[table]


def full_figures(engine: Engine, table: str, step: int) -> health.TableFigures:
    contract = store.active_contract(engine, table)
    return health.measure_table(engine, contract, physical(engine, table), step).figures


def incremental(engine: Engine, table: str, step: int) -> health.Measured:
    """The table's figures from what the last measure saved plus the rows loaded since."""
    contract = store.active_contract(engine, table)
    columns = physical(engine, table)
    known = health.known_for(health.saved_figures(engine).get(table), health.signature(contract, columns))
    assert known is not None, "no figures saved for this contract"
    return health.measure_table(engine, contract, columns, step, known)


def insert(engine: Engine, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Rows written straight into a table, as a step would have loaded them (lineage included)."""
    names = ", ".join([*columns, *LINEAGE])
    marks = ", ".join("?" for _ in (*columns, *LINEAGE))
    for row in rows:
        engine.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", row)


# --- exact semantics ---------------------------------------------------------------------------


def test_int32_is_not_int64(warehouse: Engine) -> None:
    """A bigint contract over an INTEGER column fails the schema check, and the other way round."""
    warehouse.execute(
        "CREATE TABLE orders (order_id INTEGER, price_usd DECIMAL(12,2), status VARCHAR, "
        "created_at TIMESTAMP, _pipefix_batch VARCHAR, _pipefix_line BIGINT, _pipefix_loaded_step BIGINT)"
    )
    ctx = pipeline(warehouse, orders_contract())  # the table exists: setup leaves it as it is
    mismatches = health.schema_mismatches(
        orders_contract(), physical(warehouse, "orders"), warehouse.capabilities.dialect
    )
    assert mismatches == (
        f"order_id: expected bigint, table has {physical(warehouse, 'orders')['order_id']}",
    )
    assert measure(ctx, 1).table("orders").checks["schema"] is False  # type: ignore[union-attr]

    narrower = Contract("wide", 1, (ColumnSpec("n", "integer"),))
    warehouse.execute("CREATE TABLE wide (n BIGINT)")
    assert health.schema_mismatches(narrower, physical(warehouse, "wide"), warehouse.capabilities.dialect)


def test_exact_types_pass_including_decimal_scale(warehouse: Engine) -> None:
    ctx = pipeline(warehouse, orders_contract())
    assert (
        health.schema_mismatches(
            orders_contract(), physical(warehouse, "orders"), warehouse.capabilities.dialect
        )
        == ()
    )
    assert measure(ctx, 1).table("orders").checks["schema"] is True  # type: ignore[union-attr]
    other_scale = Contract("orders", 2, (ColumnSpec("price_usd", "decimal(12,3)"),))
    assert health.schema_mismatches(
        other_scale, physical(warehouse, "orders"), warehouse.capabilities.dialect
    ) == ("price_usd: expected decimal(12,3), table has " + physical(warehouse, "orders")["price_usd"],)


def test_an_integer_column_with_nulls_is_still_an_integer_column(
    warehouse: Engine, write_batch: Callable[..., Path]
) -> None:
    contract = Contract(
        "items",
        1,
        (ColumnSpec("item_id", "bigint", nullable=False), ColumnSpec("qty", "integer")),
        key="item_id",
    )
    ctx = pipeline(warehouse, contract)
    batch = write_batch(
        "items", "b1.jsonl", [{"item_id": 1, "qty": 3}, {"item_id": 2, "qty": None}, {"item_id": 3}]
    )
    result = loader.load_batch(warehouse, batch, "items", 1)
    assert result is not None
    assert result.loaded == 3
    assert (
        health.schema_mismatches(contract, physical(warehouse, "items"), warehouse.capabilities.dialect) == ()
    )
    figures = full_figures(warehouse, "items", 1)
    assert figures.nulls == {"item_id": 0, "qty": 2}
    assert figures.null_fraction("qty") == pytest.approx(2 / 3)
    checks = measure(ctx, 1).table("items").checks  # type: ignore[union-attr]
    assert checks["schema"]
    assert checks["not_null"]


def test_null_keys_are_not_duplicates(warehouse: Engine) -> None:
    contract = Contract(
        "events", 1, (ColumnSpec("event_id", "bigint"), ColumnSpec("n", "integer")), key="event_id"
    )
    ctx = pipeline(warehouse, contract)
    insert(
        warehouse,
        "events",
        ("event_id", "n"),
        [(None, 1, "a", 1, 1), (1, 2, "a", 2, 1), (None, 3, "a", 3, 1)],
    )
    assert full_figures(warehouse, "events", 2).duplicate_keys == 0
    measure(ctx, 2)  # saves the figures of step 1's rows
    insert(
        warehouse,
        "events",
        ("event_id", "n"),
        [(None, 4, "b", 1, 2), (2, 5, "b", 2, 2), (2, 6, "b", 3, 2), (1, 7, "b", 4, 2)],
    )
    assert full_figures(warehouse, "events", 3).duplicate_keys == 2  # 2 twice, 1 again; nulls never
    measured = incremental(warehouse, "events", 3)
    assert measured.scanned_after == 1
    assert measured.figures.duplicate_keys == 2
    assert measured.figures == full_figures(warehouse, "events", 3)


def test_a_table_without_rows_has_defined_results(warehouse: Engine) -> None:
    pipeline(warehouse, orders_contract())
    figures = full_figures(warehouse, "orders", 1)
    assert figures.rows == 0
    assert figures.duplicate_keys == 0
    assert figures.newest is None
    assert figures.null_fraction("price_usd") is None  # undefined, not 0 and not 1
    now = clock(1).replace(tzinfo=None)
    judged = health.judge(
        orders_contract(),
        figures,
        (),
        now,
        health.Thresholds(min_rows=1, max_null_fraction={"price_usd": 0.1}),
    )
    assert judged["row_count"] is False  # a minimum of 1 row fails on 0 rows
    assert judged["null_fraction"] is True  # an undefined fraction is not a failure
    assert judged["freshness"] is False  # no timestamp at all is not fresh
    assert judged["not_null"]
    assert judged["unique_key"]
    assert judged["ranges"]
    assert (
        health.judge(orders_contract(), figures, (), now, health.Thresholds(min_rows=0))["row_count"] is True
    )


def test_null_fraction_and_row_count_judged_from_the_figures(warehouse: Engine) -> None:
    contract = Contract("c", 1, (ColumnSpec("id", "bigint"), ColumnSpec("coupon", "varchar")))
    pipeline(warehouse, contract)
    insert(warehouse, "c", ("id", "coupon"), [(i, None if i % 4 else "X", "a", i, 1) for i in range(8)])
    figures = full_figures(warehouse, "c", 2)
    assert figures.null_fraction("coupon") == 0.75
    now = datetime(2026, 11, 1)
    assert health.judge(contract, figures, (), now, health.Thresholds(8, {"coupon": 0.75}))["null_fraction"]
    judged = health.judge(contract, figures, (), now, health.Thresholds(9, {"coupon": 0.7}))
    assert judged["null_fraction"] is False
    assert judged["row_count"] is False


# --- incremental == full ----------------------------------------------------------------------


def test_incremental_figures_equal_a_full_rescan_step_after_step(
    warehouse: Engine, write_batch: Callable[..., Path]
) -> None:
    ctx = pipeline(warehouse, orders_contract())
    columns = ("order_id", "price_usd", "status", "created_at")
    late = datetime(2026, 11, 1, 0, 9)

    loader.load_batch(
        warehouse, write_batch("orders", "1.jsonl", [v1_order(i) for i in range(1, 6)]), "orders", 1
    )
    first = measure(ctx, 1)
    assert first.table("orders").checks["unique_key"]  # type: ignore[union-attr]

    # Step 2: a batch through the loader (one bad price is held, not loaded), then rows the
    # loader would never let in, written straight into the table: a duplicate key, a negative
    # price, a status not allowed, a NULL in a required column.
    batch = [v1_order(6), v1_order(7, price=-1.0), v1_order(8, status="paid")]
    loader.load_batch(warehouse, write_batch("orders", "2.jsonl", batch), "orders", 2)
    insert(
        warehouse,
        "orders",
        columns,
        [
            (3, Decimal("1.00"), "new", late, "x", 1, 2),
            (20, Decimal("-2.50"), "lost", late, "x", 2, 2),
            (21, None, "new", late, "x", 3, 2),
        ],
    )
    second = measure(ctx, 2)
    checks = second.table("orders").checks  # type: ignore[union-attr]
    assert not checks["unique_key"]
    assert not checks["ranges"]
    assert not checks["not_null"]
    assert health.saved_figures(warehouse)["orders"]["through"] == 1

    # Rows loaded at step 2 after step 2 was measured (a replay in the act phase) must count.
    insert(warehouse, "orders", columns, [(30, Decimal("5.00"), "paid", late, "replay", 1, 2)])
    loader.load_batch(warehouse, write_batch("orders", "3.jsonl", [v1_order(40), v1_order(41)]), "orders", 3)
    measured = incremental(warehouse, "orders", 3)
    assert measured.scanned_after == 1  # only the rows of steps 2 and 3 were read
    full = full_figures(warehouse, "orders", 3)
    assert measured.figures == full
    assert full.rows == 13
    assert full.duplicate_keys == 1
    assert full.below_min == {"price_usd": 1}
    assert full.not_allowed == {"status": 1}
    assert full.nulls["price_usd"] == 1
    assert full.newest == late

    third = measure(ctx, 3)
    rescanned = measure(ctx, 3, read_only=True, full=True)
    assert third.table("orders") == rescanned.table("orders")
    saved = health.saved_figures(warehouse)["orders"]
    assert saved["through"] == 2
    assert saved["figures"]["rows"] == 11


def test_saved_figures_are_dropped_when_the_contract_changes(warehouse: Engine) -> None:
    ctx = pipeline(warehouse, orders_contract())
    insert(warehouse, "orders", ("order_id", "status"), [(1, "new", "a", 1, 1), (2, "odd", "a", 2, 1)])
    measure(ctx, 2)
    saved = health.saved_figures(warehouse)["orders"]
    contract = store.active_contract(warehouse, "orders")
    assert health.known_for(saved, health.signature(contract, physical(warehouse, "orders"))) is not None
    widened = contract.next_version(
        tuple(
            ColumnSpec(c.name, c.type, c.nullable, c.min, c.max, ("new", "odd") if c.values else None)
            for c in contract.columns
        )
    )
    store.save_contract(warehouse, widened, 2, "allow odd")
    assert health.known_for(saved, health.signature(widened, physical(warehouse, "orders"))) is None
    after = measure(ctx, 3)  # rescans under the new contract
    assert after.table("orders").checks["ranges"] is True  # type: ignore[union-attr]


# --- pipefix check and check --full -----------------------------------------------------------


def test_check_and_check_full_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "shop"]).exit_code == 0
    monkeypatch.chdir(tmp_path / "shop")
    assert runner.invoke(main, ["run", "--json"]).exit_code == 0
    quick = runner.invoke(main, ["check", "--json"])
    full = runner.invoke(main, ["check", "--full", "--json"])
    assert quick.exit_code == full.exit_code
    assert json.loads(quick.output)["tables"] == json.loads(full.output)["tables"]
    assert "--full" in runner.invoke(main, ["check", "--help"]).output


# --- PostgreSQL: the key probe stays linear ------------------------------------------------------


def test_postgres_probes_new_keys_without_a_nested_loop_on_stale_statistics(pg_url: str) -> None:
    """Two runs that once loaded every batch twice left 80,000 rows with each key twice; the
    statistics were gathered before the newest 20,000. A correlated EXISTS probe was planned as
    one scan of the older rows per new key (12 minutes, until killed): the probe is an INTERSECT,
    which PostgreSQL hashes or sorts, and the figures equal a full rescan's."""
    engine = PostgresEngine(pg_url)
    contract = Contract("orders", 1, (ColumnSpec("order_id", "bigint", nullable=False),), key="order_id")
    ctx = pipeline(engine, contract)
    rows = (
        "INSERT INTO orders SELECT k, 'b', k, {step} "
        "FROM generate_series({first}, {last}) AS k, generate_series(1, 2)"
    )
    engine.execute(rows.format(step=1, first=0, last=29_999))
    measure(ctx, 2)  # saves the figures of step 1's rows
    engine.execute("ANALYZE orders")
    engine.execute(rows.format(step=2, first=25_000, last=34_999))  # 5,000 keys seen before
    planned = health.plan_measure(
        contract,
        physical(engine, "orders"),
        3,
        health.known_for(
            health.saved_figures(engine)["orders"], health.signature(contract, physical(engine, "orders"))
        ),
        set_probe=engine.capabilities.stale_plan_risk,
    )
    plan = "\n".join(r[0] for r in engine.query("EXPLAIN " + planned.sql))
    assert "SubPlan" not in plan
    assert "Intersect" in plan
    engine.execute("SET statement_timeout = '30s'")  # the old probe would not finish
    measured = planned.read(engine.query(planned.sql)[0])
    assert measured.scanned_after == 1
    assert measured.figures == full_figures(engine, "orders", 3)
    assert measured.figures.duplicate_keys == 80_000 - 35_000  # rows less distinct keys
    engine.close()
