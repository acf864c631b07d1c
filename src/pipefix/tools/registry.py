"""Dispatch a typed action to its tool. A tool that cannot act safely raises a RecoverableError
(pipefix/errors.py), which becomes a failed result (recorded in the step; the agent re-plans).
Anything else is a bug and propagates: never a failed fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from pipefix.domain.actions import Action, ActionResult, FixType, Tool
from pipefix.domain.constraints import Constraint, requires_shadow
from pipefix.domain.records import StepMetrics
from pipefix.engines import store
from pipefix.tools.adapter import apply_adapter
from pipefix.tools.check_health import check_health
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import RecoverableError
from pipefix.tools.fix_outcome import UnreleasedRows, judge_replay, undo_changes
from pipefix.tools.new_tables import apply_add_table
from pipefix.tools.retry_failed import apply_retry_failed
from pipefix.tools.rollback import apply_rollback
from pipefix.tools.run_diagnostic import diagnose, latest_diagnosis, run_diagnostic
from pipefix.tools.schema_migration import apply_schema_migration
from pipefix.tools.throughput import apply_increase_throughput


def execute(
    ctx: PipelineContext,
    action: Action,
    step: int,
    metrics: StepMetrics,
    constraints: Iterable[Constraint],
) -> ActionResult:
    try:
        return _dispatch(ctx, action, step, metrics, tuple(constraints))
    except RecoverableError as error:
        return ActionResult(action, False, str(error))


def _dispatch(
    ctx: PipelineContext,
    action: Action,
    step: int,
    metrics: StepMetrics,
    constraints: tuple[Constraint, ...],
) -> ActionResult:
    if action.tool is Tool.CHECK_HEALTH:
        return check_health(ctx, metrics, action)
    if action.tool is Tool.RUN_DIAGNOSTIC:
        return run_diagnostic(ctx, action, step)
    if action.tool is Tool.ROLLBACK:
        if action.version is None:
            return ActionResult(action, False, "rollback needs a version")
        return ActionResult(action, True, apply_rollback(ctx, action.target, action.version, step))
    shadow = requires_shadow(action, constraints)
    if action.fix_type == FixType.RETRY_FAILED:
        detail, replayed = apply_retry_failed(ctx, action.target, step)
        # The replay after a contract change is that change's post-check (fix_outcome.py):
        # released nothing, it fails, and execute_once undoes the change once it is rolled back.
        unreleased = judge_replay(ctx, action.target, step, replayed)
        if unreleased is not None:
            return ActionResult(action, False, unreleased.why, evidence={UNDO: unreleased})
        return ActionResult(action, True, detail, rows_affected=replayed)
    if action.fix_type == FixType.INCREASE_THROUGHPUT:
        return ActionResult(action, True, apply_increase_throughput(ctx, step))
    if action.fix_type == FixType.ADD_TABLE:
        return ActionResult(action, True, apply_add_table(ctx, action.target, step))
    diagnosis = latest_diagnosis(ctx, action.target)
    if diagnosis is None or diagnosis.contract_version != metrics_version(metrics, action.target):
        diagnosis = diagnose(ctx, action.target)
    if action.fix_type == FixType.SCHEMA_MIGRATION:
        detail, _ = apply_schema_migration(ctx, diagnosis.drifts, step, shadow)
        return ActionResult(action, True, detail)
    if action.fix_type == FixType.ADD_ADAPTER:
        detail, _ = apply_adapter(ctx, action.target, diagnosis.drifts, step, shadow)
        return ActionResult(action, True, detail)
    return ActionResult(action, False, f"unknown fix type {action.fix_type!r}")


def metrics_version(metrics: StepMetrics, table: str) -> int | None:
    health = metrics.table(table)
    return health.contract_version if health else None


# A failed replay's evidence: the step's changes it judged to have released nothing, to undo.
UNDO = "undo"


class _Undo(Exception):
    def __init__(self, result: ActionResult) -> None:
        self.result = result


def execute_once(
    ctx: PipelineContext,
    action: Action,
    step: int,
    index: int,
    metrics: StepMetrics,
    constraints: Iterable[Constraint],
) -> ActionResult:
    """Run the plan's `index`-th action of `step` at most once, whatever crashes and resumes.

    The action and its ledger row commit in one transaction (the tools' own transactions join
    it); an action that fails is rolled back whole. A replay that released none of the rows the
    step's contract changes were planned for is rolled back too, then those changes are undone,
    with the replay's failed ledger row, in one transaction. A step re-run after a crash finds
    the ledger row and returns the recorded result instead of acting again.
    """
    engine = ctx.engine
    done = store.ledger_entry(engine, step, index)
    if done is not None:
        ok, detail, rows = done
        return ActionResult(action, ok, detail, rows)
    try:
        with engine.transaction():
            result = execute(ctx, action, step, metrics, constraints)
            if not result.ok:
                raise _Undo(result)
            store.record_ledger(
                engine, step, index, str(action), result.ok, result.detail, result.rows_affected
            )
    except _Undo as undone:
        unreleased = undone.result.evidence.get(UNDO)
        if isinstance(unreleased, UnreleasedRows):
            return _undo_changes(ctx, action, step, index, unreleased)
        return undone.result
    return result


def _undo_changes(
    ctx: PipelineContext, action: Action, step: int, index: int, unreleased: UnreleasedRows
) -> ActionResult:
    try:
        with ctx.engine.transaction():
            detail = undo_changes(ctx, unreleased, step)
            store.record_ledger(ctx.engine, step, index, str(action), False, detail, 0)
    except RecoverableError as error:
        return ActionResult(action, False, f"{unreleased.why}; not undone: {error}")
    return ActionResult(action, False, detail)


def as_recorded(ctx: PipelineContext, step: int, results: Iterable[ActionResult]) -> tuple[ActionResult, ...]:
    """The step's results as the ledger holds them now: a change judged failed by a later
    replay of the same step reads failed, with why."""
    recorded = {index: (ok, detail) for index, _, ok, detail in store.ledger_of_step(ctx.engine, step)}
    return tuple(
        replace(r, ok=recorded[i][0], detail=recorded[i][1]) if i in recorded else r
        for i, r in enumerate(results)
    )
