"""check_health: measure every contract check from the warehouse's rows."""

from __future__ import annotations

from statistics import mean

from pipefix.domain.actions import Action, ActionResult
from pipefix.domain.records import StepMetrics, TableHealth
from pipefix.engines import health, store
from pipefix.tools.context import PipelineContext

BASELINE_STEPS = 3


def _table_health(
    ctx: PipelineContext,
    table: str,
    step: int,
    load: health.StepLoad,
    open_rows: dict[tuple[str, str], int],
) -> TableHealth:
    contract = store.active_contract(ctx.engine, table)
    physical = health.physical_columns(ctx.engine, table)
    facts = health.table_facts(ctx.engine, contract, physical)
    first = store.contract_version(ctx.engine, table, 1)
    now = ctx.clock(step).replace(tzinfo=None)
    fresh = True
    if contract.freshness_seconds is not None:
        fresh = facts.newest is not None and (now - facts.newest).total_seconds() <= (
            contract.freshness_seconds
        )
    checks = {
        "schema": not load.drift and not facts.missing_columns,
        "rejected_rows": load.received == 0 or load.quarantined / load.received <= ctx.max_rejected_rate,
        "not_null": facts.null_violations == 0,
        "unique_key": facts.duplicate_keys == 0,
        "ranges": facts.range_violations == 0,
        "freshness": fresh,
    }
    if table in ctx.source_tables:
        history = [n for n in health.loaded_history(ctx.engine, table, step) if n > 0]
        # Judged on steps that received data: a quiet step is freshness's business, not volume's.
        checks["volume"] = (
            load.received == 0 or not history or load.loaded >= ctx.min_volume_ratio * mean(history)
        )
    return TableHealth(
        table=table,
        checks=checks,
        received=load.received,
        loaded=load.loaded,
        quarantined=load.quarantined,
        quarantine_open=sum(n for (t, _), n in open_rows.items() if t == table),
        quarantine_schema_open=open_rows.get((table, "schema"), 0),
        contract_version=contract.version,
        original_columns_kept=first is None or set(first.column_names) <= physical,
        drift=load.drift,
    )


def measure(ctx: PipelineContext, step: int, *, read_only: bool = False) -> StepMetrics:
    """Every figure the goal is judged on, for this step, counted in the database."""
    loads = health.step_loads(ctx.engine, step)
    open_rows = health.open_quarantine(ctx.engine)
    tables = tuple(
        _table_health(ctx, t, step, loads.get(t, health.StepLoad()), open_rows) for t in ctx.tables
    )
    sources = [t for t in tables if t.table in ctx.source_tables]
    received = sum(t.received for t in sources)
    loaded = sum(t.loaded for t in sources)
    quarantined = sum(t.quarantined for t in sources)
    total_checks = sum(len(t.checks) for t in tables)
    throughput = loaded / ctx.step_seconds
    return StepMetrics(
        step=step,
        health=round(sum(t.passed for t in tables) / total_checks, 4) if total_checks else 1.0,
        error_rate=round(quarantined / received, 4) if received else 0.0,
        throughput=round(throughput, 2),
        # Nothing arrived, nothing fell behind: the ratio only means something when data came in.
        throughput_ratio=round(throughput / _baseline(ctx, step, throughput, read_only), 4)
        if received
        else 1.0,
        schema_conformance=round(sum(t.checks["schema"] for t in sources) / len(sources), 4)
        if sources
        else 1.0,
        received=received,
        loaded=loaded,
        quarantined=quarantined,
        tables=tables,
    )


def _baseline(ctx: PipelineContext, step: int, throughput: float, read_only: bool) -> float:
    """Mean throughput of the first steps; fixed once they are seen."""
    seen = [float(x) for x in store.recall(ctx.engine, "throughput.first_steps") or []]
    if len(seen) < BASELINE_STEPS and throughput > 0 and not read_only:
        seen.append(throughput)
        store.remember(ctx.engine, step, "throughput.first_steps", seen)
    return mean(seen) if seen else max(throughput, 1.0)


def check_health(ctx: PipelineContext, metrics: StepMetrics, action: Action) -> ActionResult:
    """The tool: report the health of one table (or the whole pipeline) from the step's measure."""
    if action.target == "pipeline":
        failing = [f"{t.table}.{c}" for t in metrics.tables for c in t.failing]
        detail = f"health {metrics.health:.2f}; failing: {', '.join(failing) or 'none'}"
        return ActionResult(action, True, detail, evidence={"failing": failing})
    table = metrics.table(action.target)
    if table is None:
        return ActionResult(action, False, f"unknown table {action.target}")
    detail = f"{table.passed}/{len(table.checks)} checks pass" + (
        f"; failing: {', '.join(table.failing)}" if table.failing else ""
    )
    return ActionResult(action, True, detail, evidence={"checks": table.checks})
