"""Hand-built pipeline situations for the planner, reviser and evolver tests (no database)."""

from __future__ import annotations

from pipefix.domain.actions import Action, ActionResult, FixType, Tool
from pipefix.domain.constraints import Constraint, initial_constraints
from pipefix.domain.goals import Evaluation, Goal, baseline_goal, evaluate
from pipefix.domain.records import StepMetrics, StepRecord, TableHealth
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.planners.view import PlanningView
from pipefix.tools.run_diagnostic import Diagnosis


def table(
    name: str,
    *,
    drift: tuple[str, ...] = (),
    schema_open: int = 0,
    version: int = 1,
    received: int = 100,
    quarantined: int = 0,
    checks: dict[str, bool] | None = None,
) -> TableHealth:
    return TableHealth(
        table=name,
        checks=checks if checks is not None else {"schema": True, "rejected_rows": True},
        received=received,
        loaded=received - quarantined,
        quarantined=quarantined,
        quarantine_open=schema_open,
        quarantine_schema_open=schema_open,
        contract_version=version,
        drift=drift,
    )


def metrics(*tables: TableHealth, step: int = 1, throughput_ratio: float = 1.0) -> StepMetrics:
    received = sum(t.received for t in tables)
    quarantined = sum(t.quarantined for t in tables)
    return StepMetrics(
        step=step,
        health=1.0,
        error_rate=quarantined / received if received else 0.0,
        throughput=100.0 * throughput_ratio,
        throughput_ratio=throughput_ratio,
        schema_conformance=1.0,
        received=received,
        loaded=received - quarantined,
        quarantined=quarantined,
        tables=tables,
    )


def result(action: Action, ok: bool) -> ActionResult:
    return ActionResult(action, ok, "done" if ok else "failed")


def record(step: int, step_metrics: StepMetrics, results: tuple[ActionResult, ...] = ()) -> StepRecord:
    goal = baseline_goal()
    return StepRecord(
        step, step_metrics, evaluate(goal, step_metrics.as_signals()), goal.version, results=results
    )


def view(
    step_metrics: StepMetrics,
    *,
    step: int = 1,
    diagnoses: dict[str, Diagnosis] | None = None,
    history: tuple[StepRecord, ...] = (),
    backlog: int = 0,
    goal: Goal | None = None,
    score: float | None = None,
    constraints: tuple[Constraint, ...] | None = None,
) -> PlanningView:
    goal = goal or baseline_goal()
    evaluation = evaluate(goal, step_metrics.as_signals())
    if score is not None:
        evaluation = Evaluation(score, evaluation.results)
    return PlanningView(
        step=step,
        goal=goal,
        evaluation=evaluation,
        metrics=step_metrics,
        constraints=constraints if constraints is not None else initial_constraints(10),
        fixes_used=0,
        diagnoses=diagnoses or {},
        history=history,
        backlog_files=backlog,
    )


def diagnosis(name: str, *drifts: Drift, version: int = 1, schema_rows: int = 10) -> Diagnosis:
    return Diagnosis(name, version, schema_rows, schema_rows, drifts, (), None, ())


def added(name: str, column: str = "currency_code") -> Drift:
    return Drift(DriftKind.ADDED, name, column, observed="varchar", rows=10)


def epoch(name: str) -> Drift:
    return Drift(DriftKind.RETYPED, name, "created_at", "timestamp", "bigint", 10, "epoch_ms")


def fix(name: str, fix_type: FixType) -> Action:
    return Action(Tool.APPLY_FIX, name, fix_type)
