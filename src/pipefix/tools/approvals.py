"""Policies in force: contract changes a person blocks, or wants to approve first.

Pending decisions are stored in the warehouse; `pipefix approve ID` / `pipefix reject ID` settle
them, and the next run applies (or keeps refusing) the fix. Meanwhile the rows stay held.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipefix.domain.actions import CONTRACT_CHANGING_FIXES, Action, FixType
from pipefix.domain.serde import to_plain
from pipefix.engines import store
from pipefix.pipeline.drift import RENAME_CONFIDENCE, Drift, DriftKind
from pipefix.pipeline.policy import addressed, is_confident, policy_mode
from pipefix.tools import new_tables
from pipefix.tools.context import PipelineContext
from pipefix.tools.run_diagnostic import Diagnosis, diagnose, latest_diagnosis


def policy_gates(
    ctx: PipelineContext,
    policies: Mapping[str, str],
    auto_approve: bool,
    actions: tuple[Action, ...],
    step: int,
) -> dict[Action, str]:
    """Contract changes a person's policy holds back: `block` always, `approve` until approved.
    A pending decision is stored once, for `pipefix approve ID` / `pipefix reject ID`."""
    gates: dict[Action, str] = {}
    for action in actions:
        if action.fix_type == FixType.ADD_TABLE:  # a new table: policy add_table (new_tables.py)
            reason = new_tables.gate(ctx, policies, auto_approve, action.target, step)
            if reason is not None:
                gates[action] = reason
            continue
        if action.fix_type not in CONTRACT_CHANGING_FIXES:
            continue
        diagnosis = latest_diagnosis(ctx, action.target)
        drifts = diagnosis.drifts if diagnosis else ()
        mode, key = policy_mode(str(action.fix_type), drifts, policies)
        if mode == "block":
            gates[action] = f"blocked by policy {key}: block; rows stay quarantined"
        elif mode == "approve":
            reason = _approval(ctx, auto_approve, action, diagnosis, str(key), step)
            if reason is not None:
                gates[action] = reason
    held = {a.target for a in gates}
    for action in actions:
        if action.fix_type == FixType.RETRY_FAILED and action.target in held:
            gates[action] = f"waits for the held-back contract change on {action.target}"
    return gates


def _approval(
    ctx: PipelineContext, auto_approve: bool, action: Action, diagnosis: Diagnosis | None, key: str, step: int
) -> str | None:
    """None once a person (or `run --approve`) approved this fix; else why it waits."""
    engine = ctx.engine
    version = store.active_contract(engine, action.target).version
    fix_type = str(action.fix_type)
    drifts = addressed(fix_type, diagnosis.drifts if diagnosis else ())
    found = store.find_decision(engine, action.target, fix_type, version)
    if found is None:
        described = "; ".join(_described(d, diagnosis) for d in drifts)
        decision_id = store.open_decision(engine, step, action.target, fix_type, version, described, key)
        found = (decision_id, "pending")
    decision_id, status = found
    if status == "pending" and auto_approve:
        store.decide(engine, decision_id, "approved", "pipefix run --approve")
        status = "approved"
    if status == "pending":
        commands = f"pipefix approve {decision_id} or pipefix reject {decision_id}"
        unsure = ", ".join(
            f"{d.column} -> {d.observed} {d.confidence or 0:.0%}" for d in drifts if not is_confident(d)
        )
        below = f"; rename confidence {unsure}, below {RENAME_CONFIDENCE:.0%}" if unsure else ""
        return f"waiting for approval (policy {key}{below}): {commands}"
    if status == "rejected":
        _forget_rejected_renames(ctx, action.target, drifts, decision_id, step)
        return f"rejected by a person (decision {decision_id}); rows stay quarantined"
    return None


def _described(drift: Drift, diagnosis: Diagnosis | None) -> str:
    """The drift, and for a rename the evidence it was weighed on."""
    evidence = diagnosis.rename_evidence(drift.column, drift.observed or "") if diagnosis else None
    if drift.kind is not DriftKind.RENAMED or evidence is None:
        return str(drift)
    said = "; ".join(e for e in (evidence.name, evidence.value) if e)
    return f"{drift} — evidence: {said}; {evidence.figures()}"


def _forget_rejected_renames(
    ctx: PipelineContext, table: str, drifts: list[Drift], decision_id: int, step: int
) -> None:
    """A rejected rename is a removal and an addition: diagnosed again so, the next plan migrates
    (the new column added, the old one optional) instead of waiting for good."""
    renames = {
        (d.column, d.observed): f"a person rejected the rename (decision {decision_id})"
        for d in drifts
        if d.kind is DriftKind.RENAMED and d.observed is not None
    }
    if renames:
        diagnosis = diagnose(ctx, table, step, not_renames=renames)
        store.remember(ctx.engine, step, f"diagnosis.{table}", to_plain(diagnosis))
