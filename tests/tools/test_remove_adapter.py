"""remove_adapter: a person takes one transform out of an adapter, planned purely, applied for real,
undone by its inverse; the table's rows are never touched."""

from __future__ import annotations

import pytest

from pipefix.engines import store
from pipefix.pipeline.contracts import Adapter, ColumnTransform, TransformKind
from pipefix.tools.context import PipelineContext
from pipefix.tools.remove_adapter import AdapterRemovalPlan, apply_remove_adapter, plan_remove_adapter

PRICE = ColumnTransform("price_usd", TransformKind.RENAME, "price")
STAMP = ColumnTransform("created_at", TransformKind.EPOCH_MS_TO_TIMESTAMP, "created_at")
BOTH = Adapter("orders", 2, (PRICE, STAMP))


def test_plan_keeps_the_other_transforms_or_leaves_no_adapter() -> None:
    assert plan_remove_adapter(BOTH, "price_usd", 3) == AdapterRemovalPlan(
        "orders", PRICE, BOTH, Adapter("orders", 3, (STAMP,))
    )
    only = Adapter("orders", 1, (PRICE,))
    plan = plan_remove_adapter(only, "price_usd", 2)
    assert (plan.after, plan.inverse) == (None, "activate adapter v1")
    with pytest.raises(LookupError, match="the adapter of orders maps price_usd, created_at, not status"):
        plan_remove_adapter(BOTH, "status", 3)


def test_apply_then_inverse_restores_the_adapter(ctx: PipelineContext) -> None:
    engine = ctx.engine
    store.save_adapter(engine, Adapter("orders", 1, (PRICE,)), 1, "price_usd <- price")
    store.save_adapter(engine, BOTH, 2, "both")
    rows_before = engine.query("SELECT count(*) FROM orders")

    plan = plan_remove_adapter(BOTH, "created_at", store.latest_adapter_version(engine, "orders") + 1)
    detail = apply_remove_adapter(ctx, plan, step=3)

    assert detail == (
        "removed created_at <- epoch_ms_to_timestamp(created_at) from adapter v2 of orders; adapter v3 now"
    )
    assert store.active_adapter(engine, "orders") == Adapter("orders", 3, (PRICE,))
    assert [v for v, _, _ in store.adapter_versions(engine, "orders")] == [1, 2, 3]
    (payload,) = [p for _, _, p in store.audit_trail(engine, ("fix",)) if p["fix_type"] == "remove_adapter"]
    assert payload["inverse"] == "activate adapter v2"
    assert engine.query("SELECT count(*) FROM orders") == rows_before

    last = plan_remove_adapter(Adapter("orders", 3, (PRICE,)), "price_usd", 4)
    assert apply_remove_adapter(ctx, last, step=4).endswith("; no adapter now")
    assert store.active_adapter(engine, "orders") is None
    assert store.table_state(engine, "orders", 1)[0] is None

    store.deactivate_adapter(engine, "orders", plan.before.version)  # the inverse, as recorded
    assert store.active_adapter(engine, "orders") == BOTH
