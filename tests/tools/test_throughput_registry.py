"""Loader capacity (throughput) and the registry that turns a tool's refusal into a failed result
(and lets a bug through)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipefix.domain.actions import Action, FixType, Tool
from pipefix.engines import loader, store
from pipefix.errors import (
    DestructiveStatementError,
    EngineError,
    FixRejected,
    NotFoundError,
    RecoverableError,
)
from pipefix.tools import ingest, registry
from pipefix.tools.check_health import measure
from pipefix.tools.context import PipelineContext
from pipefix.tools.throughput import (
    CAPACITY_KEY,
    DEFAULT_CAPACITY,
    MAX_CAPACITY,
    apply_increase_throughput,
    capacity,
    plan_increase_throughput,
)
from tests.conftest import orders_contract, v1_order, v2_order

WriteBatch = Callable[..., Path]


@pytest.mark.parametrize(
    ("current", "planned"),
    [(1, (2, 1)), (4, (8, 4)), (32, (64, 32)), (40, (64, 40)), (64, (64, 64))],
)
def test_plan_doubles_capacity_up_to_the_cap(current: int, planned: tuple[int, int]) -> None:
    assert plan_increase_throughput(current) == planned


def test_apply_doubles_the_stored_capacity_and_records_the_inverse(ctx: PipelineContext) -> None:
    assert capacity(ctx) == DEFAULT_CAPACITY == 4
    assert apply_increase_throughput(ctx, step=1) == "loader capacity 4 -> 8 files per table per step"
    assert capacity(ctx) == 8
    assert store.get_setting(ctx.engine, CAPACITY_KEY, "unset") == "8"
    payload = store.audit_trail(ctx.engine, ("fix",))[0][2]
    assert payload == {
        "fix_type": "increase_throughput",
        "target": "pipeline",
        "capacity": 8,
        "inverse": "capacity 4",
    }


def test_capacity_stops_at_the_cap(ctx: PipelineContext) -> None:
    for step in range(1, 6):
        apply_increase_throughput(ctx, step)
    assert capacity(ctx) == MAX_CAPACITY == 64
    assert apply_increase_throughput(ctx, step=6) == "loader capacity 64 -> 64 files per table per step"
    inverses = [p["inverse"] for _, _, p in store.audit_trail(ctx.engine, ("fix",))]
    assert inverses == [
        "capacity 4",
        "capacity 8",
        "capacity 16",
        "capacity 32",
        "capacity 64",
        "capacity 64",
    ]


def test_more_capacity_drains_a_backlog_faster(
    ctx: PipelineContext, write_batch: WriteBatch, tmp_path: Path
) -> None:
    for n in range(14):
        write_batch("orders", f"b{n:02d}.jsonl", [v1_order(n)])
    landing = tmp_path / "landing"
    assert len(ingest.ingest_step(ctx, landing, step=1)) == 4
    apply_increase_throughput(ctx, step=1)
    assert len(ingest.ingest_step(ctx, landing, step=2)) == 8
    assert len(ingest.ingest_step(ctx, landing, step=3)) == 2
    assert ctx.engine.query("SELECT _pipefix_loaded_step, count(*) FROM orders GROUP BY 1 ORDER BY 1") == [
        (1, 4),
        (2, 8),
        (3, 2),
    ]


def held_v2(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    loader.load_batch(ctx.engine, write_batch("orders", "v1.jsonl", [v1_order(1)]), "orders", 1)
    loader.load_batch(
        # Prices unlike the v1 row's: equal values would (rightly) read as price_usd renamed to price.
        ctx.engine,
        write_batch("orders", "v2.jsonl", [v2_order(100, price=20.25), v2_order(101, price=30.75)]),
        "orders",
        2,
    )


def test_registry_applies_a_migration_then_replays(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    held_v2(ctx, write_batch)
    migrate = Action(Tool.APPLY_FIX, "orders", FixType.SCHEMA_MIGRATION)
    result = registry.execute(ctx, migrate, 3, measure(ctx, 2), ())
    assert result.ok, result.detail
    assert result.detail.startswith("v1.0 -> v2.0: price_usd becomes optional")
    assert store.active_contract(ctx.engine, "orders").version == 2
    replay = Action(Tool.APPLY_FIX, "orders", FixType.RETRY_FAILED)
    result = registry.execute(ctx, replay, 4, measure(ctx, 3), ())
    assert (result.ok, result.rows_affected) == (True, 2)
    assert ctx.engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (100,), (101,)]


def test_registry_turns_a_rejected_fix_into_a_failed_result(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    held_v2(ctx, write_batch)
    metrics = measure(ctx, 2)
    adapter = Action(Tool.APPLY_FIX, "orders", FixType.ADD_ADAPTER)
    result = registry.execute(ctx, adapter, 3, metrics, ())
    assert (result.action, result.ok) == (adapter, False)
    assert result.detail == "no drift on orders that an adapter maps without loss"
    assert store.active_adapter(ctx.engine, "orders") is None
    assert store.audit_trail(ctx.engine, ("fix",)) == []


def test_registry_reports_a_rollback_it_cannot_do(ctx: PipelineContext) -> None:
    for version, detail in [
        (1, "orders is at v1.0; rollback needs an earlier version"),
        (None, "rollback needs a version"),
    ]:
        action = Action(Tool.ROLLBACK, "orders", version=version)
        result = registry.execute(ctx, action, 1, measure(ctx, 1), ())
        assert (result.ok, result.detail) == (False, detail)
    assert store.active_contract(ctx.engine, "orders") == orders_contract()
    assert store.audit_trail(ctx.engine, ("rollback",)) == []


def test_registry_turns_a_failed_post_check_into_a_failed_result(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    held_v2(ctx, write_batch)
    ctx.engine.execute(
        "INSERT INTO orders (order_id, price_usd, status, created_at, _pipefix_batch, _pipefix_line) "
        "VALUES (999, 1, 'new', TIMESTAMP '2026-11-01', 'manual', 1)"
    )
    action = Action(Tool.APPLY_FIX, "orders", FixType.RETRY_FAILED)
    result = registry.execute(ctx, action, 3, measure(ctx, 2), ())
    assert result.ok is False
    assert result.detail.startswith("post-check: replay would lose -1")
    assert ctx.engine.query("SELECT count(*) FROM pipefix.quarantine WHERE replayed_step IS NULL") == [(2,)]


@pytest.mark.parametrize("fix_type", ["drop_table", "truncate_table", "delete_rows", "drop_column"])
def test_registry_never_runs_a_destructive_fix_type(
    ctx: PipelineContext, write_batch: WriteBatch, fix_type: str
) -> None:
    held_v2(ctx, write_batch)
    log_size = len(ctx.engine.statement_log)
    result = registry.execute(ctx, Action(Tool.APPLY_FIX, "orders", fix_type), 3, measure(ctx, 2), ())
    assert (result.ok, result.detail) == (False, f"unknown fix type {fix_type!r}")
    ran = ctx.engine.statement_log[log_size:]
    assert not any(word in s.upper() for s in ran for word in ("DROP TABLE", "TRUNCATE", "DELETE", "ALTER"))
    assert ctx.engine.query("SELECT order_id FROM orders") == [(1,)]
    assert store.active_contract(ctx.engine, "orders") == orders_contract()


def test_registry_rolls_back_an_unused_migration(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    held_v2(ctx, write_batch)
    registry.execute(ctx, Action(Tool.APPLY_FIX, "orders", FixType.SCHEMA_MIGRATION), 3, measure(ctx, 2), ())
    result = registry.execute(ctx, Action(Tool.ROLLBACK, "orders", version=1), 4, measure(ctx, 3), ())
    assert result.ok, result.detail
    assert "price" not in ctx.engine.table_columns("orders")


def test_registry_reports_a_table_it_has_no_contract_for(ctx: PipelineContext) -> None:
    for action in (
        Action(Tool.RUN_DIAGNOSTIC, "nowhere"),
        Action(Tool.APPLY_FIX, "nowhere", FixType.RETRY_FAILED),
        Action(Tool.ROLLBACK, "nowhere", version=1),
    ):
        result = registry.execute(ctx, action, 1, measure(ctx, 1), ())
        assert (result.ok, result.detail) == (False, "no contract for table 'nowhere'")


def _raising(error: Exception) -> Callable[..., object]:
    def tool(*args: object) -> object:
        raise error

    return tool


@pytest.mark.parametrize(
    "error",
    [
        FixRejected("shadow trial failed"),
        NotFoundError("no such thing"),
        EngineError("disk full"),
        DestructiveStatementError("refused: UPDATE of orders"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_declared_recoverable_error_becomes_a_failed_result(
    ctx: PipelineContext, monkeypatch: pytest.MonkeyPatch, error: RecoverableError
) -> None:
    monkeypatch.setattr(registry, "run_diagnostic", _raising(error))
    action = Action(Tool.RUN_DIAGNOSTIC, "orders")
    result = registry.execute(ctx, action, 1, measure(ctx, 1), ())
    assert (result.action, result.ok, result.detail) == (action, False, str(error))


@pytest.mark.parametrize(
    "error",
    [KeyError("orders"), IndexError("list index out of range"), TypeError("bad"), RuntimeError("bug")],
    ids=lambda e: type(e).__name__,
)
def test_a_bug_in_a_tool_propagates_instead_of_failing_the_fix(
    ctx: PipelineContext, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    monkeypatch.setattr(registry, "run_diagnostic", _raising(error))
    action = Action(Tool.RUN_DIAGNOSTIC, "orders")
    with pytest.raises(type(error)) as raised:
        registry.execute(ctx, action, 1, measure(ctx, 1), ())
    assert raised.value is error
    # ... and through the ledger too: nothing is recorded as done, so a fixed pipefix acts again
    with pytest.raises(type(error)):
        registry.execute_once(ctx, action, 1, 0, measure(ctx, 1), ())
    assert store.ledger_entry(ctx.engine, 1, 0) is None
