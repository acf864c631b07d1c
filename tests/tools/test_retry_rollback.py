"""retry_failed replays held rows exactly once; rollback restores a contract without losing data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines import loader, store
from pipefix.engines.base import Engine
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.tools.adapter import apply_adapter
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected
from pipefix.tools.retry_failed import accounting_gap, apply_retry_failed, duplicate_lineage
from pipefix.tools.rollback import RollbackPlan, apply_rollback, plan_rollback
from pipefix.tools.schema_migration import apply_schema_migration
from tests.conftest import orders_contract, v1_order, v2_order

WriteBatch = Callable[..., Path]
V2_DRIFTS = (
    Drift(DriftKind.REMOVED, "orders", "price_usd"),
    Drift(DriftKind.ADDED, "orders", "currency_code", observed="varchar"),
    Drift(DriftKind.ADDED, "orders", "price", observed="decimal(12,2)"),
)


def columns(engine: Engine) -> list[tuple[Any, ...]]:
    return engine.query(
        "SELECT column_name, data_type, ordinal_position FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = 'orders' ORDER BY ordinal_position"
    )


def open_rows(engine: Engine) -> list[tuple[Any, ...]]:
    return engine.query(
        "SELECT line_no, reason FROM pipefix.quarantine WHERE replayed_step IS NULL ORDER BY line_no"
    )


def held_v2_rows(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    """Two v1 rows loaded; three v2 rows held, one of which (currency 5) fits no contract."""
    loader.load_batch(ctx.engine, write_batch("orders", "v1.jsonl", [v1_order(1), v1_order(2)]), "orders", 1)
    rows: list[dict[str, Any] | str] = [v2_order(100), {**v2_order(101), "currency_code": 5}, v2_order(102)]
    loader.load_batch(ctx.engine, write_batch("orders", "v2.jsonl", rows), "orders", 2)


def test_retry_replays_each_held_row_exactly_once(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    engine = ctx.engine
    held_v2_rows(ctx, write_batch)
    apply_schema_migration(ctx, V2_DRIFTS, step=3, shadow=False)

    assert apply_retry_failed(ctx, "orders", step=4) == (
        "replayed 2 held rows into orders (v2.0); 1 still held",
        2,
    )
    assert apply_retry_failed(ctx, "orders", step=5) == (
        "replayed 0 held rows into orders (v2.0); 1 still held",
        0,
    )

    assert (accounting_gap(ctx, "orders"), duplicate_lineage(ctx, "orders")) == (0, 0)
    assert engine.query(
        "SELECT order_id, price::VARCHAR, currency_code, split_part(_pipefix_batch, '@', 1), _pipefix_line, "
        "_pipefix_loaded_step "
        "FROM orders WHERE _pipefix_batch LIKE 'orders/v2.jsonl@%' ORDER BY order_id"
    ) == [(100, "10.50", "EUR", "orders/v2.jsonl", 1, 4), (102, "10.50", "EUR", "orders/v2.jsonl", 3, 4)]
    assert open_rows(engine) == [(2, "currency_code: expected varchar, got UBIGINT 5")]
    retries = [p for _, _, p in store.audit_trail(engine, ("fix",)) if p["fix_type"] == "retry_failed"]
    assert [(p["replayed"], p["still_held"], p["contract_version"]) for p in retries] == [
        (2, 1, 2),
        (0, 1, 2),
    ]


def test_retry_without_a_contract_change_replays_nothing(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    held_v2_rows(ctx, write_batch)
    before = open_rows(ctx.engine)
    assert apply_retry_failed(ctx, "orders", step=3)[1] == 0
    assert ctx.engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (2,)]
    assert open_rows(ctx.engine) == before
    assert accounting_gap(ctx, "orders") == 0


def test_retry_is_undone_when_the_accounting_does_not_add_up(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    engine = ctx.engine
    held_v2_rows(ctx, write_batch)
    apply_schema_migration(ctx, V2_DRIFTS, step=3, shadow=False)
    # a row nobody received through a batch: the post-check must notice and undo the replay
    engine.execute(
        "INSERT INTO orders (order_id, status, created_at, _pipefix_batch, _pipefix_line) "
        "VALUES (999, 'new', TIMESTAMP '2026-11-01', 'manual', 1)"
    )
    before = open_rows(engine)
    with pytest.raises(FixRejected, match="post-check: replay would lose -1 and double 0 rows"):
        apply_retry_failed(ctx, "orders", step=4)
    assert open_rows(engine) == before
    assert engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (2,), (999,)]
    assert [p["fix_type"] for _, _, p in store.audit_trail(engine, ("fix",))] == ["schema_migration"]


def test_plan_rollback_drops_only_empty_added_columns() -> None:
    plan = plan_rollback(
        "orders", 1, None, ["a", "b"], {"a", "b", "z_empty", "c_full", "m_empty"}, {"c_full": 3, "z_empty": 0}
    )
    assert plan == RollbackPlan("orders", 1, None, ("m_empty", "z_empty"), ("c_full",))
    assert plan_rollback("orders", 1, 4, ["a"], {"a"}, {}) == RollbackPlan("orders", 1, 4, (), ())


def test_rollback_of_an_unused_migration_drops_the_empty_columns(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    engine = ctx.engine
    held_v2_rows(ctx, write_batch)
    original = columns(engine)
    apply_schema_migration(ctx, V2_DRIFTS, step=3, shadow=False)
    assert columns(engine) != original

    detail = apply_rollback(ctx, "orders", 1, step=4)

    assert detail == "orders v2.0 -> v1.0"
    assert store.active_contract(engine, "orders") == orders_contract()
    assert columns(engine) == original
    assert engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (2,)]
    payload = store.audit_trail(engine, ("rollback",))[0][2]
    assert payload["dropped_empty_columns"] == ["currency_code", "price"]


def test_rollback_keeps_columns_that_hold_data(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    engine = ctx.engine
    held_v2_rows(ctx, write_batch)
    apply_schema_migration(ctx, V2_DRIFTS, step=3, shadow=False)
    apply_retry_failed(ctx, "orders", step=4)
    migrated = columns(engine)
    rows_before = engine.query("SELECT * FROM orders ORDER BY order_id")
    held_before = engine.query("SELECT * FROM pipefix.quarantine ORDER BY line_no")
    assert len(rows_before) == 4

    detail = apply_rollback(ctx, "orders", 1, step=5)

    assert detail == "orders v2.0 -> v1.0; kept currency_code, price (hold data)"
    assert store.active_contract(engine, "orders") == orders_contract()
    assert columns(engine) == migrated, "columns holding data are kept"
    assert engine.query("SELECT * FROM orders ORDER BY order_id") == rows_before
    assert engine.query("SELECT * FROM pipefix.quarantine ORDER BY line_no") == held_before
    payload = store.audit_trail(engine, ("rollback",))[0][2]
    assert payload == {
        "target": "orders",
        "from_version": 2,
        "to_version": 1,
        "dropped_empty_columns": [],
        "kept_columns_with_data": ["currency_code", "price"],
    }
    # the v2 contract stays on record: a later migration gets a new version number
    assert store.latest_contract_version(engine, "orders") == 2


@pytest.mark.parametrize(
    ("version", "message"),
    [(2, "orders is at v2.0; rollback needs an earlier version"), (0, "orders has no contract version 0")],
)
def test_rollback_to_a_version_that_cannot_be_restored_is_rejected(
    ctx: PipelineContext, write_batch: WriteBatch, version: int, message: str
) -> None:
    held_v2_rows(ctx, write_batch)
    apply_schema_migration(ctx, V2_DRIFTS, step=3, shadow=False)
    before = columns(ctx.engine)
    with pytest.raises(FixRejected, match=message):
        apply_rollback(ctx, "orders", version, step=4)
    assert store.active_contract(ctx.engine, "orders").version == 2
    assert columns(ctx.engine) == before
    assert store.audit_trail(ctx.engine, ("rollback",)) == []


def test_rollback_restores_the_adapter_state_of_the_old_version(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    engine = ctx.engine
    held_v2_rows(ctx, write_batch)
    apply_schema_migration(ctx, V2_DRIFTS, step=3, shadow=False)
    apply_retry_failed(ctx, "orders", step=4)
    epoch_rows: list[dict[str, Any] | str] = [{**v2_order(200), "created_at": 1793527200000}]
    held = loader.load_batch(engine, write_batch("orders", "epoch.jsonl", epoch_rows), "orders", 5)
    assert held is not None
    assert [d.hint for d in held.drift] == ["epoch_ms"]
    apply_adapter(ctx, "orders", held.drift, step=6, shadow=False)
    assert store.active_adapter(engine, "orders") is not None

    apply_rollback(ctx, "orders", 1, step=7)

    assert store.active_adapter(engine, "orders") is None, "v1 had no adapter"
    assert store.active_contract(engine, "orders") == orders_contract()
    assert store.latest_adapter_version(engine, "orders") == 1, "the adapter stays on record"
