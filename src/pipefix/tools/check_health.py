"""check_health: measure every contract check from the warehouse's rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean
from typing import Any

from pipefix.domain.actions import Action, ActionResult
from pipefix.domain.records import StepMetrics, TableHealth
from pipefix.engines import health, store
from pipefix.pipeline.contracts import Contract
from pipefix.tools.context import PipelineContext

BASELINE_STEPS = 3


@dataclass(frozen=True)
class _Lookups:
    """What every table's check needs, read once per measure."""

    contracts: dict[str, Contract]
    first_contracts: dict[str, Contract]
    schemas: dict[str, dict[str, str]]
    histories: dict[str, list[int]]
    open_rows: dict[tuple[str, str], int]
    received_totals: dict[str, int]
    adapters: dict[str, int]
    saved: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class _Planned:
    """One table's check before its statement runs."""

    contract: Contract
    physical: dict[str, str]
    signature: str
    measurement: health.Measurement


def _plan(
    ctx: PipelineContext, table: str, step: int, seen: _Lookups, full: bool, read_only: bool
) -> _Planned:
    contract = seen.contracts.get(table) or store.active_contract(ctx.engine, table)
    physical = seen.schemas.get(table, {})
    signature = health.signature(contract, physical)
    known = None if full else health.known_for(seen.saved.get(table), signature)
    risk = ctx.engine.capabilities.stale_plan_risk
    measurement = health.plan_measure(contract, physical, step, known, keep=not read_only, set_probe=risk)
    return _Planned(contract, physical, signature, measurement)


def _table_health(
    ctx: PipelineContext,
    table: str,
    step: int,
    load: health.StepLoad,
    seen: _Lookups,
    planned: _Planned,
    row: Sequence[Any],
) -> tuple[TableHealth, dict[str, Any] | None]:
    contract, physical, signature = planned.contract, planned.physical, planned.signature
    measured = planned.measurement.read(row)
    mismatches = health.schema_mismatches(contract, physical, ctx.engine.capabilities.dialect)
    now = ctx.clock(step).replace(tzinfo=None)
    checks = health.judge(contract, measured.figures, mismatches, now)
    checks["schema"] = checks["schema"] and not load.drift
    checks["rejected_rows"] = load.received == 0 or load.quarantined / load.received <= ctx.max_rejected_rate
    held = sum(n for (t, _), n in seen.open_rows.items() if t == table)
    held_for_shape = seen.open_rows.get((table, "schema"), 0)
    received_total = seen.received_totals.get(table, 0)
    # Rows still waiting, whenever they came: a step without a batch must not read as healthy.
    checks["held_rows"] = held_for_shape == 0 and (
        held == 0 or (received_total > 0 and held / received_total < ctx.max_rejected_rate)
    )
    if table in ctx.source_tables:
        history = [n for n in seen.histories.get(table, []) if n > 0]
        # Judged on steps that received data: a quiet step is freshness's business, not volume's.
        checks["volume"] = (
            load.received == 0 or not history or load.loaded >= ctx.min_volume_ratio * mean(history)
        )
    first = seen.first_contracts.get(table)
    result = TableHealth(
        table=table,
        checks={name: checks[name] for name in CHECK_ORDER if name in checks},
        received=load.received,
        loaded=load.loaded,
        quarantined=load.quarantined,
        quarantine_open=held,
        quarantine_schema_open=held_for_shape,
        received_total=received_total,
        contract_version=contract.version,
        adapter_version=seen.adapters.get(table, 0),
        original_columns_kept=first is None or set(first.column_names) <= set(physical),
        drift=load.drift,
        resent=load.resent,
    )
    keep = None
    if measured.saved is not None:
        keep = {"signature": signature, "through": step - 1, "figures": measured.saved.to_plain()}
    return result, keep


# The order checks are reported in (and counted towards health).
CHECK_ORDER = (
    "schema",
    "rejected_rows",
    "held_rows",
    "not_null",
    "unique_key",
    "ranges",
    "freshness",
    "null_fraction",
    "row_count",
    "volume",
)


def measure(ctx: PipelineContext, step: int, *, read_only: bool = False, full: bool = False) -> StepMetrics:
    """Every figure the goal is judged on, for this step, counted in the database.

    Each table is read from the rows loaded since the figures last saved (`full`: read whole);
    unless read-only, the figures of the rows loaded before this step are saved for the next."""
    engine = ctx.engine
    seen = _Lookups(
        contracts=store.active_contracts(engine),
        first_contracts=health.first_contracts(engine),
        schemas=health.physical_schemas(engine, ctx.tables),
        histories=health.loaded_histories(engine, step),
        open_rows=health.open_quarantine(engine),
        received_totals=health.received_totals(engine),
        adapters=health.active_adapter_versions(engine),
        saved=health.saved_figures(engine),
    )
    loads = health.step_loads(engine, step)
    plans = [_plan(ctx, table, step, seen, full, read_only) for table in ctx.tables]
    # One statement per table, independent of each other: an engine may run them at once.
    rows = engine.query_many([planned.measurement.sql for planned in plans])
    tables = []
    keep = dict(seen.saved)
    for table, planned, table_rows in zip(ctx.tables, plans, rows, strict=True):
        load = loads.get(table, health.StepLoad())
        result, kept = _table_health(ctx, table, step, load, seen, planned, table_rows[0])
        tables.append(result)
        if kept is not None:
            keep[table] = kept
    if not read_only and keep != seen.saved:
        health.save_figures(engine, keep)
    tables_t = tuple(tables)
    sources = [t for t in tables_t if t.table in ctx.source_tables]
    received = sum(t.received for t in sources)
    loaded = sum(t.loaded for t in sources)
    quarantined = sum(t.quarantined for t in sources)
    total_checks = sum(len(t.checks) for t in tables_t)
    throughput = loaded / ctx.step_seconds
    return StepMetrics(
        step=step,
        health=round(sum(t.passed for t in tables_t) / total_checks, 4) if total_checks else 1.0,
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
        tables=tables_t,
        held_for_shape=sum(t.held_for_shape for t in tables_t),
        max_held_share=round(max((t.held_share for t in tables_t), default=0.0), 4),
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
