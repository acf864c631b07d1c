"""Schema migration: the exact DDL and its inverse, then applied to a real DuckDB file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines import loader, replays, store
from pipefix.engines.base import Engine
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected
from pipefix.tools.schema_migration import apply_schema_migration, plan_schema_migration
from tests.conftest import clock, orders_contract, v1_order, v2_order


class _Undo(Exception):
    """Raised to roll a transaction back."""


V2_DRIFTS = (
    Drift(DriftKind.REMOVED, "orders", "price_usd", rows=2),
    Drift(DriftKind.ADDED, "orders", "currency_code", observed="varchar", rows=2),
    Drift(DriftKind.ADDED, "orders", "price", observed="decimal(18,1)", rows=2),
)
EPOCH_DRIFT = Drift(
    DriftKind.RETYPED,
    "orders",
    "created_at",
    expected="timestamp",
    observed="bigint",
    rows=2,
    hint="epoch_ms",
)


def columns_snapshot(engine: Engine, table: str = "orders") -> list[tuple[Any, ...]]:
    return engine.query(
        "SELECT column_name, data_type, is_nullable, ordinal_position FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        (table,),
    )


def load_v1_and_v2(ctx: PipelineContext, write_batch: Callable[..., Path]) -> tuple[Drift, ...]:
    loader.load_batch(ctx.engine, write_batch("orders", "v1.jsonl", [v1_order(1), v1_order(2)]), "orders", 1)
    result = loader.load_batch(
        ctx.engine, write_batch("orders", "v2.jsonl", [v2_order(100), v2_order(101)]), "orders", 2
    )
    assert result is not None
    assert result.drift == V2_DRIFTS
    return result.drift


def test_plan_for_the_v2_drift_is_exact() -> None:
    v1 = orders_contract()
    plan = plan_schema_migration(v1, V2_DRIFTS, 2)
    assert plan.statements == (
        'ALTER TABLE "orders" ADD COLUMN "currency_code" VARCHAR',
        'ALTER TABLE "orders" ADD COLUMN "price" DECIMAL(18,1)',
    )
    assert plan.inverse == (
        'ALTER TABLE "orders" DROP COLUMN "price"',
        'ALTER TABLE "orders" DROP COLUMN "currency_code"',
    )
    assert plan.changes == (
        "price_usd becomes optional (kept, never dropped)",
        "add column currency_code varchar",
        "price keeps the value rules of price_usd",
        "add column price decimal(18,1)",
    )
    assert plan.left_for_adapter == ()
    assert not plan.is_empty
    price_usd = replace(v1.columns[1], nullable=True)
    assert plan.new_contract == Contract(
        "orders",
        2,
        (
            v1.columns[0],
            price_usd,
            *v1.columns[2:],
            ColumnSpec("currency_code", "varchar", nullable=True),
            ColumnSpec("price", "decimal(18,1)", nullable=True, min=0),
        ),
        key="order_id",
        freshness_column="created_at",
        freshness_seconds=600,
    )
    assert v1 == orders_contract(), "planning must not change the current contract"


def test_a_widening_runs_and_its_inverse_restores_the_type(engine: DuckDBEngine) -> None:
    events = Contract("events", 1, (ColumnSpec("event_id", "bigint"), ColumnSpec("qty", "integer")))
    widen = Drift(DriftKind.RETYPED, "events", "qty", expected="integer", observed="bigint")
    lossy = Drift(DriftKind.RETYPED, "events", "event_id", expected="bigint", observed="varchar")
    plan = plan_schema_migration(events, (widen, lossy), 5)
    assert plan.statements == ('ALTER TABLE "events" ALTER COLUMN "qty" TYPE BIGINT',)
    assert plan.inverse == ('ALTER TABLE "events" ALTER COLUMN "qty" TYPE INTEGER',)
    assert plan.changes == ("widen qty integer -> bigint",)
    assert plan.left_for_adapter == (lossy,)
    assert plan.new_contract.columns == (ColumnSpec("event_id", "bigint"), ColumnSpec("qty", "bigint"))
    assert plan.new_contract.version == 5

    ctx = PipelineContext(engine, ("events",), clock, 60)
    ingest.setup(ctx, {"events": events})
    engine.execute("INSERT INTO events (event_id, qty) VALUES (1, 2147483647), (2, -3)")
    before = columns_snapshot(engine, "events")
    for statement in plan.statements:
        engine.execute(statement)
    assert engine.table_columns("events")["qty"] == "BIGINT"

    def fits_now_then_undone() -> None:  # undone, not updated: a user row is never changed
        with engine.transaction():
            engine.execute("INSERT INTO events (event_id, qty) VALUES (3, 2147483648)")  # did not fit before
            raise _Undo

    with pytest.raises(_Undo):
        fits_now_then_undone()
    engine.execute("INSERT INTO events (event_id, qty) VALUES (3, 0)")
    for statement in plan.inverse:
        engine.execute(statement)
    assert columns_snapshot(engine, "events") == before
    assert engine.query("SELECT event_id, qty FROM events ORDER BY 1") == [(1, 2147483647), (2, -3), (3, 0)]


def test_apply_moves_the_table_to_v2(ctx: PipelineContext, write_batch: Callable[..., Path]) -> None:
    engine = ctx.engine
    drifts = load_v1_and_v2(ctx, write_batch)
    negative = write_batch("orders", "v2-negative.jsonl", [v2_order(102, price=-1.5)])
    loader.load_batch(engine, negative, "orders", 2)
    v1 = store.active_contract(engine, "orders")
    before = columns_snapshot(engine)

    detail, plan = apply_schema_migration(ctx, drifts, step=3, shadow=False)

    assert detail == (
        "v1.0 -> v2.0: price_usd becomes optional (kept, never dropped); "
        "add column currency_code varchar; price keeps the value rules of price_usd; "
        "add column price decimal(18,1); v1 readers keep orders_v1"
    )
    assert engine.query("SELECT column_name FROM (DESCRIBE orders_v1)") == [(c,) for c in v1.column_names]
    assert plan == plan_schema_migration(v1, drifts, 2)
    assert store.active_contract(engine, "orders") == plan.new_contract
    assert store.contract_version(engine, "orders", 1) == v1
    after = columns_snapshot(engine)
    assert after[: len(before)] == before, "existing columns are kept as they were"
    assert [(c[0], c[1]) for c in after[len(before) :]] == [
        ("currency_code", "VARCHAR"),
        ("price", "DECIMAL(18,1)"),
    ]
    assert engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (2,)]
    # the held v2 rows now fit, except the negative price (price_usd's rule carried over);
    # applying the migration does not load them by itself
    assert replays.trial_replay(engine, plan.new_contract, None) == (2, 1, ["price: below minimum 0"])
    assert engine.query("SELECT count(*) FROM pipefix.quarantine WHERE replayed_step IS NULL") == [(3,)]
    fixes = store.audit_trail(engine, ("fix",))
    assert len(fixes) == 1
    step, _, payload = fixes[0]
    assert step == 3
    assert payload["statements"] == list(plan.statements)
    assert payload["inverse"] == list(plan.inverse)
    assert (payload["from_version"], payload["to_version"], payload["shadow"]) == (1, 2, "")
    assert store.table_state(engine, "orders", 2) == (None, sorted(c[0] for c in after))


def test_running_the_inverse_restores_the_original_columns(
    ctx: PipelineContext, write_batch: Callable[..., Path]
) -> None:
    drifts = load_v1_and_v2(ctx, write_batch)
    before = columns_snapshot(ctx.engine)
    _, plan = apply_schema_migration(ctx, drifts, step=3, shadow=False)
    assert columns_snapshot(ctx.engine) != before
    for statement in plan.inverse:
        ctx.engine.execute(statement)
    assert columns_snapshot(ctx.engine) == before
    assert ctx.engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (2,)]


def test_the_shadow_trial_runs_on_a_copy_and_leaves_nothing_behind(
    ctx: PipelineContext, write_batch: Callable[..., Path]
) -> None:
    engine = ctx.engine
    drifts = load_v1_and_v2(ctx, write_batch)
    detail, plan = apply_schema_migration(ctx, drifts, step=3, shadow=True)
    assert detail.endswith("(shadow trial passed: 2 statement(s), 2 held rows load)")
    assert 'ALTER TABLE "_pipefix_shadow_orders" ADD COLUMN "price" DECIMAL(18,1)' in engine.statement_log
    leftovers = engine.query(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_pipefix_shadow_%'"
    )
    assert leftovers == []
    assert store.active_contract(engine, "orders") == plan.new_contract
    # the trial loaded its copy only: the real table and the quarantine are as before
    assert engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (2,)]
    assert engine.query("SELECT count(*) FROM pipefix.quarantine WHERE replayed_step IS NULL") == [(2,)]
    assert store.audit_trail(engine, ("fix",))[0][2]["shadow"].startswith("shadow trial passed")


def test_a_migration_with_nothing_to_change_is_rejected(
    ctx: PipelineContext, write_batch: Callable[..., Path]
) -> None:
    engine = ctx.engine
    load_v1_and_v2(ctx, write_batch)
    before = columns_snapshot(engine)
    assert plan_schema_migration(orders_contract(), (EPOCH_DRIFT,), 2).is_empty
    with pytest.raises(FixRejected, match="nothing a lossless migration can change on orders"):
        apply_schema_migration(ctx, (EPOCH_DRIFT,), step=3, shadow=True)
    assert store.active_contract(engine, "orders") == orders_contract()
    assert store.latest_contract_version(engine, "orders") == 1
    assert columns_snapshot(engine) == before
    assert store.audit_trail(engine) == []


def test_a_migration_with_no_drift_at_all_is_rejected(ctx: PipelineContext) -> None:
    with pytest.raises(FixRejected):
        apply_schema_migration(ctx, (), step=1, shadow=False)
