"""rollback(target, version): restore a table's contract and adapter to what they were at a
contract version. Columns added since are dropped only while they hold no value (the engine
verifies); a column that holds data is kept, and the rollback says so."""

from __future__ import annotations

from dataclasses import dataclass

from pipefix.engines import health, quarantine, store, table_shape
from pipefix.engines.sql.migration import DropColumn
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected


@dataclass(frozen=True)
class RollbackPlan:
    table: str
    to_version: int
    adapter_version: int | None
    drop_columns: tuple[str, ...]
    keep_columns: tuple[str, ...]


def plan_rollback(
    table: str,
    to_version: int,
    adapter_version: int | None,
    columns_then: list[str],
    columns_now: set[str],
    filled: dict[str, int],
) -> RollbackPlan:
    """Pure: which added columns can go (empty) and which must stay (they hold values)."""
    added = sorted(columns_now - set(columns_then))
    return RollbackPlan(
        table,
        to_version,
        adapter_version,
        tuple(c for c in added if filled.get(c, 0) == 0),
        tuple(c for c in added if filled.get(c, 0) > 0),
    )


def restore_state(
    ctx: PipelineContext,
    table: str,
    version: int,
    adapter_version: int | None,
    columns_then: list[str],
    step: int,
    cause: str,
) -> RollbackPlan:
    """Contract, adapter and columns back to a recorded state, inside the caller's transaction:
    a column added since is dropped only while it holds no value."""
    engine = ctx.engine
    columns_now = health.physical_columns(engine, table)
    filled = {c: quarantine.values_held(engine, table, c) for c in columns_now - set(columns_then)}
    plan = plan_rollback(table, version, adapter_version, columns_then, columns_now, filled)
    for column in plan.drop_columns:
        table_shape.apply(engine, DropColumn(table, column))
    store.activate_contract(engine, table, version)
    store.deactivate_adapter(engine, table, adapter_version)
    store.record_table_state(engine, step, table, sorted(health.physical_columns(engine, table)), cause)
    return plan


def apply_rollback(ctx: PipelineContext, table: str, version: int, step: int) -> str:
    engine = ctx.engine
    current = store.active_contract(engine, table)
    if version >= current.version:
        raise FixRejected(f"{table} is at {current.label}; rollback needs an earlier version")
    if store.contract_version(engine, table, version) is None:
        raise FixRejected(f"{table} has no contract version {version}")
    adapter_version, columns_then = store.table_state(engine, table, version)
    with engine.transaction():
        plan = restore_state(ctx, table, version, adapter_version, columns_then, step, "rollback")
        store.audit(
            engine,
            step,
            "rollback",
            {
                "target": table,
                "from_version": current.version,
                "to_version": version,
                "dropped_empty_columns": list(plan.drop_columns),
                "kept_columns_with_data": list(plan.keep_columns),
            },
        )
    kept = f"; kept {', '.join(plan.keep_columns)} (hold data)" if plan.keep_columns else ""
    return f"{table} {current.label} -> v{version}.0{kept}"
