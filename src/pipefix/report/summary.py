"""The run's summary object (`--json`): every figure counted in the database or taken from the
step records the agent wrote, none assumed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipefix.domain.constraints import Constraint, ConstraintKind
from pipefix.domain.goals import Goal
from pipefix.domain.records import StepRecord
from pipefix.engines import store
from pipefix.tools.context import PipelineContext


def recovered_step(
    records: Sequence[StepRecord], after: int | None, health: float, error_rate: float
) -> int | None:
    """First step after `after` from which health and error rate hold to the end of the run."""
    if after is None:
        return None
    recovered = None
    for record in records:
        if record.step <= after:
            continue
        ok = record.metrics.health >= health and record.metrics.error_rate < error_rate
        if ok and recovered is None:
            recovered = record.step
        elif not ok:
            recovered = None
    return recovered


def fixes(records: Sequence[StepRecord]) -> list[dict[str, Any]]:
    return [
        {
            "step": r.step,
            "action": str(result.action.fix_type or result.action.tool),
            "target": result.action.target,
            "ok": result.ok,
            "detail": result.detail,
        }
        for r in records
        for result in r.results
        if result.action.is_fix
    ]


def budget(records: Sequence[StepRecord], constraints: tuple[Constraint, ...]) -> dict[str, Any]:
    """Fix attempts used against the budget, and how many fixes it refused (and from when)."""
    limit = next((c.limit for c in constraints if c.kind is ConstraintKind.BUDGET), None)
    refused = [(r.step, refusal) for r in records for refusal in r.refused if refusal.constraint == "budget"]
    return {
        "max_fixes": limit,
        "used": sum(1 for r in records for result in r.results if result.action.is_fix),
        "refused": len(refused),
        "exhausted_at_step": refused[0][0] if refused else None,
    }


def build_summary(
    pipeline: PipelineContext,
    records: Sequence[StepRecord],
    goal: Goal,
    constraints: tuple[Constraint, ...],
    stop_reason: str,
    health_target: float = 0.95,
    error_target: float = 0.02,
) -> dict[str, Any]:
    engine = pipeline.engine
    drift_step = store.first_drift_step(engine)
    last = records[-1].metrics if records else None
    return {
        "steps": len(records),
        "stop_reason": stop_reason,
        "drift_step": drift_step,
        "recovered_step": recovered_step(records, drift_step, health_target, error_target),
        "goal": {
            "description": goal.description,
            "version": goal.version,
            "criteria": [str(c) for c in goal.criteria],
        },
        "final": {
            "health": last.health if last else None,
            "error_rate": last.error_rate if last else None,
            "throughput": last.throughput if last else None,
        },
        "rows": store.row_accounting(engine, pipeline.source_tables),
        "fixes": fixes(records),
        "budget": budget(records, constraints),
        "revisions": [
            {
                "step": r.step,
                "reason": r.revision.reason,
                "from_version": r.revision.from_goal.version,
                "to_version": r.revision.to_goal.version,
            }
            for r in records
            if r.revision is not None
        ],
        "constraints": {
            "active": [f"{c.name}: {c.description}" for c in constraints],
            "evolutions": [
                {
                    "step": change.step,
                    "change": change.change,
                    "constraint": change.constraint.name,
                    "reason": change.reason,
                }
                for r in records
                for change in r.constraint_changes
            ],
        },
    }


def model_summary(session: Any) -> dict[str, Any] | None:
    """The model's part in a run, counted: the evidence behind the mode line."""
    if session is None:
        return None
    return {
        "label": session.label,
        "live": session.live,
        "calls": session.calls,
        "answered": session.answered,
        "accepted": session.accepted,
        "refused": session.refused,
        "fallbacks": session.fallbacks,
        "tokens": session.tokens,
    }
