"""remove_adapter(table, column): a person takes one transform out of a table's active adapter.

The table is not touched: rows loaded through the transform stay loaded as they are. Only how
the next records (and a replay of held ones) are read changes. The inverse activates the adapter
version that was active before, which stays recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipefix.engines import health, store
from pipefix.pipeline.contracts import Adapter, ColumnTransform
from pipefix.tools.context import PipelineContext


@dataclass(frozen=True)
class AdapterRemovalPlan:
    table: str
    removed: ColumnTransform
    before: Adapter
    after: Adapter | None  # None: no transform left, records are read as the contract names them

    @property
    def inverse(self) -> str:
        return f"activate adapter v{self.before.version}"


def plan_remove_adapter(current: Adapter, column: str, next_version: int) -> AdapterRemovalPlan:
    """Pure: the adapter without `column`'s transform, as version `next_version`, or no adapter
    when it was the last. Raises LookupError when the adapter does not map `column`."""
    removed = current.transform_for(column)
    if removed is None:
        mapped = ", ".join(t.column for t in current.transforms)
        raise LookupError(f"the adapter of {current.table} maps {mapped}, not {column}")
    kept = tuple(t for t in current.transforms if t.column != column)
    after = Adapter(current.table, next_version, kept) if kept else None
    return AdapterRemovalPlan(current.table, removed, current, after)


def apply_remove_adapter(ctx: PipelineContext, plan: AdapterRemovalPlan, step: int) -> str:
    """Apply the plan with its table state and audit record, in one transaction."""
    engine = ctx.engine
    with engine.transaction():
        if plan.after is not None:
            note = ", ".join(t.describe() for t in plan.after.transforms)
            store.save_adapter(engine, plan.after, step, note)
        else:
            store.deactivate_adapter(engine, plan.table, None)
        store.record_table_state(
            engine, step, plan.table, sorted(health.physical_columns(engine, plan.table)), "remove_adapter"
        )
        store.audit(
            engine,
            step,
            "fix",
            {
                "fix_type": "remove_adapter",
                "target": plan.table,
                "removed": plan.removed.describe(),
                "from_adapter_version": plan.before.version,
                "adapter_version": plan.after.version if plan.after else None,
                "inverse": plan.inverse,
            },
        )
    now = f"adapter v{plan.after.version}" if plan.after else "no adapter"
    return f"removed {plan.removed.describe()} from adapter v{plan.before.version} of {plan.table}; {now} now"
