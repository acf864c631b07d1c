"""Rows no action of a step would release: say so, once, and keep saying it until they load.

A table whose held rows fail its health (any row held for its shape, or a held share at or above
the goal's error rate) and which the step's plan leaves alone — no diagnostic, fix or rollback on
it, and no fix of it waiting for approval — is stuck. It gets a decision that stays open
(`repair_needed`), which the run's summary, `pipefix history` and an alert show with what a
person can do; the decision is closed ("resolved") at the first step its rows no longer fail.
"""

from __future__ import annotations

from pipefix.domain.actions import Plan, Tool
from pipefix.domain.constraints import Refusal
from pipefix.domain.records import StepMetrics, TableHealth, Waiting
from pipefix.engines import store
from pipefix.tools.context import PipelineContext
from pipefix.tools.run_diagnostic import latest_diagnosis

REPAIR_NEEDED = "repair_needed"


def record_waits(
    ctx: PipelineContext,
    step: int,
    metrics: StepMetrics,
    plan: Plan | None,
    refused: tuple[Refusal, ...] = (),
) -> tuple[Waiting, ...]:
    """`plan` is the plan as filtered (what runs); `refused`, what the constraints held back."""
    engine = ctx.engine
    acted = {a.target for a in plan.actions if a.tool is not Tool.CHECK_HEALTH} if plan else set()
    open_decisions = [d for d in store.decisions(engine) if d["status"] == "pending"]
    waits = []
    for table in metrics.tables:
        if table.checks.get("held_rows", True):
            for decision in open_decisions:
                if decision["table"] == table.table and decision["fix_type"] == REPAIR_NEEDED:
                    store.decide(
                        engine, int(decision["id"]), "resolved", f"pipefix: rows released by step {step}"
                    )
            continue
        approval_pending = any(
            d["table"] == table.table and d["fix_type"] != REPAIR_NEEDED for d in open_decisions
        )
        if table.table in acted or approval_pending:
            continue
        held_back = [r.reason for r in refused if r.action.target == table.table]
        reason, needs = _explain(ctx, table, held_back)
        found = next(
            (
                int(d["id"])
                for d in open_decisions
                if d["table"] == table.table and d["fix_type"] == REPAIR_NEEDED
            ),
            None,
        )
        if found is None:
            found = store.open_decision(
                engine, step, table.table, REPAIR_NEEDED, table.contract_version, reason, "none"
            )
        waits.append(Waiting(table.table, table.held_for_shape, table.held_for_value, reason, needs, found))
    return tuple(waits)


def _explain(ctx: PipelineContext, table: TableHealth, held_back: list[str]) -> tuple[str, str]:
    name = table.table
    diagnosis = latest_diagnosis(ctx, name)
    if table.held_for_shape:
        if held_back:
            what = "; ".join(dict.fromkeys(held_back))
            reason = f"{table.held_for_shape} rows held for their shape; the repair is held back: {what}"
        elif (
            diagnosis is not None
            and diagnosis.contract_version == table.contract_version
            and diagnosis.drifts
        ):
            found = "; ".join(str(d) for d in diagnosis.drifts)
            reason = f"{table.held_for_shape} rows held for their shape; no lossless repair for: {found}"
            reason += "".join(f" ({lesson})" for lesson in diagnosis.learned)
        else:
            reason = f"{table.held_for_shape} rows held for their shape; no drift explains them"
        needs = (
            f"change tables.{name} in pipefix.yaml to accept them (the next run applies the edit and "
            f"replays them), or fix the producer; `pipefix quarantine {name}` lists them"
        )
        return reason, needs
    reasons = store.open_quarantine_reasons(ctx.engine)
    top = [f"{count} × {reason}" for t, reason, count in reasons if t == name][:3]
    share = f"{table.held_share:.1%} of the {table.received_total:,} rows received"
    reason = (
        f"{table.held_for_value} rows held for their values ({share}): {'; '.join(top) or 'see quarantine'}"
    )
    needs = (
        f"if the producer is right, widen tables.{name} in pipefix.yaml (the next run replays the rows); "
        f"if not, fix the producer and run `pipefix replay {name}`; `pipefix quarantine {name}` lists them"
    )
    return reason, needs
