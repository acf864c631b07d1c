"""The run's summary object (`--json`): every figure counted in the database or taken from the
step records the agent wrote, none assumed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipefix.domain.constraints import Constraint, ConstraintKind
from pipefix.domain.goals import Goal
from pipefix.domain.records import StepRecord
from pipefix.engines import health as health_figures
from pipefix.engines import store
from pipefix.engines.conversions import variant_figures
from pipefix.pipeline import landing_report
from pipefix.pipeline.landing_report import Reported
from pipefix.tools.context import PipelineContext
from pipefix.tools.waiting import REPAIR_NEEDED


def recovered_step(
    records: Sequence[StepRecord], after: int | None, health: float, error_rate: float
) -> int | None:
    """First step after `after` from which the pipeline holds to the end of the run: health and
    error rate on target, no row held for its shape, no table holding `error_rate` of its rows."""
    if after is None:
        return None
    recovered = None
    for record in records:
        if record.step <= after:
            continue
        m = record.metrics
        ok = (
            m.health >= health
            and m.error_rate < error_rate
            and m.held_for_shape == 0
            and m.max_held_share < error_rate
        )
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


def held_rows(pipeline: PipelineContext, error_target: float) -> dict[str, Any]:
    """Rows still held now, per table and by why: for their shape (waiting on a repair), for their
    values (the producer's, under the contract), unreadable (lines that are no record)."""
    engine = pipeline.engine
    open_rows = health_figures.open_quarantine(engine)
    received = health_figures.received_totals(engine)
    tables: dict[str, dict[str, Any]] = {}
    for table in pipeline.tables:
        by_kind = {kind: n for (t, kind), n in open_rows.items() if t == table}
        held = sum(by_kind.values())
        total = received.get(table, 0)
        share = held / total if total else 0.0
        tables[table] = {
            "for_shape": by_kind.get("schema", 0),
            "for_value": by_kind.get("value", 0),
            "unreadable": held - by_kind.get("schema", 0) - by_kind.get("value", 0),
            "received": total,
            "share": round(share, 4),
            "waits": by_kind.get("schema", 0) > 0 or (held > 0 and share >= error_target),
        }
    return {
        "for_shape": sum(t["for_shape"] for t in tables.values()),
        "for_value": sum(t["for_value"] for t in tables.values()),
        "unreadable": sum(t["unreadable"] for t in tables.values()),
        "tables_waiting": [name for name, t in tables.items() if t["waits"]],
        "tables": {
            name: t for name, t in tables.items() if t["for_shape"] + t["for_value"] + t["unreadable"]
        },
    }


def waiting_decisions(pipeline: PipelineContext) -> list[dict[str, Any]]:
    """Open `repair_needed` decisions: rows pipefix cannot release by itself, and what would."""
    return [
        {"decision": d["id"], "step": d["step"], "table": d["table"], "reason": d["drift"]}
        for d in store.decisions(pipeline.engine)
        if d["fix_type"] == REPAIR_NEEDED and d["status"] == "pending"
    ]


def resent_files(pipeline: PipelineContext) -> list[dict[str, Any]]:
    """Files re-sent under a new name with bytes already loaded: recorded (their lines are
    `rows.duplicates`), never loaded again."""
    return [
        {
            "step": r["step"],
            "table": r["table"],
            "file": r["file"],
            "lines": r["lines"],
            "first": store.file_of(r["duplicate_of"]),
            "duplicate_of": r["duplicate_of"],
        }
        for r in store.resent_batches(pipeline.engine)
        if r["table"] in pipeline.source_tables
    ]


def changed_files(pipeline: PipelineContext) -> dict[str, list[dict[str, Any]]]:
    """Files that changed after they were loaded: grown (`appended`: only their new lines loaded)
    and rewritten in place (`rewritten`: recorded, not loaded again). `not_ready` (files not read
    yet) is filled in by whoever can see the landing folder."""
    changes = [c for c in store.grown_and_rewritten(pipeline.engine) if c["table"] in pipeline.source_tables]
    return {
        "appended": [c for c in changes if c["change"] == "appended"],
        "rewritten": [c for c in changes if c["change"] == "rewritten"],
        "not_ready": [],
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
    held = held_rows(pipeline, error_target)
    rows_wait = bool(held["tables_waiting"])
    healthy = (
        last is not None and not rows_wait and last.health >= health_target and last.error_rate < error_target
    )
    return {
        "steps": len(records),
        "stop_reason": stop_reason,
        "healthy": healthy,
        "drift_step": drift_step,
        # Never "recovered" while rows still wait, whatever the last step measured.
        "recovered_step": None
        if rows_wait
        else recovered_step(records, drift_step, health_target, error_target),
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
        "duplicates": resent_files(pipeline),
        "landing": changed_files(pipeline),
        "held": held,
        # Columns that keep values no conversion can type, as sent (conversions.py).
        "variants": variant_figures(engine, pipeline.source_tables),
        "waiting": waiting_decisions(pipeline),
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


def with_landing(summary: dict[str, Any], reported: Sequence[Reported], read: int) -> dict[str, Any]:
    """The summary with the landing folder as it is now: every file read or reported (`files`),
    and the records that wait in the folders of tables no contract names yet, counted in
    `rows.received` (as `rows.waiting`): the pipeline is not healthy while they wait."""
    waiting = sum(r.records for r in reported if r.kind == landing_report.NO_CONTRACT)
    summary["files"] = {
        "read": read,
        "reported": len(reported),
        "by_kind": landing_report.counts(reported),
        "text": landing_report.accounting_text(read, reported),
        "reported_files": [r.as_dict() for r in reported],
    }
    if waiting:  # a key only when some wait, as `rows.adopted`
        summary["rows"]["waiting"] = waiting
        summary["rows"]["received"] += waiting
        summary["healthy"] = False
        summary["recovered_step"] = None
    return summary


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
