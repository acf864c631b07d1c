"""apply_fix(increase_throughput): let the loader take more batch files per table per step,
draining a backlog. Inverse: the previous capacity."""

from __future__ import annotations

from pipefix.engines import store
from pipefix.tools.context import PipelineContext

CAPACITY_KEY = "loader.max_files_per_step"
DEFAULT_CAPACITY = 4
MAX_CAPACITY = 64


def capacity(ctx: PipelineContext) -> int:
    return int(store.get_setting(ctx.engine, CAPACITY_KEY, str(DEFAULT_CAPACITY)))


def plan_increase_throughput(current: int) -> tuple[int, int]:
    """Pure: (new capacity, the capacity that undoes it)."""
    return min(current * 2, MAX_CAPACITY), current


def apply_increase_throughput(ctx: PipelineContext, step: int) -> str:
    new, previous = plan_increase_throughput(capacity(ctx))
    with ctx.engine.transaction():
        store.put_setting(ctx.engine, CAPACITY_KEY, str(new))
        store.audit(
            ctx.engine,
            step,
            "fix",
            {
                "fix_type": "increase_throughput",
                "target": "pipeline",
                "capacity": new,
                "inverse": f"capacity {previous}",
            },
        )
    return f"loader capacity {previous} -> {new} files per table per step"
