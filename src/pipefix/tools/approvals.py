"""Policies in force: contract changes a person blocks, or wants to approve first.

Pending decisions are stored in the warehouse; `pipefix approve ID` / `pipefix reject ID` settle
them, and the next run applies (or keeps refusing) the fix. Meanwhile the rows stay held.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipefix.domain.actions import CONTRACT_CHANGING_FIXES, Action, FixType
from pipefix.engines import store
from pipefix.pipeline.drift import Drift
from pipefix.pipeline.policy import addressed, policy_mode
from pipefix.tools.context import PipelineContext
from pipefix.tools.run_diagnostic import latest_diagnosis


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
        if action.fix_type not in CONTRACT_CHANGING_FIXES:
            continue
        diagnosis = latest_diagnosis(ctx, action.target)
        drifts = diagnosis.drifts if diagnosis else ()
        mode, key = policy_mode(str(action.fix_type), drifts, policies)
        if mode == "block":
            gates[action] = f"blocked by policy {key}: block; rows stay quarantined"
        elif mode == "approve":
            reason = _approval(ctx, auto_approve, action, drifts, str(key), step)
            if reason is not None:
                gates[action] = reason
    held = {a.target for a in gates}
    for action in actions:
        if action.fix_type == FixType.RETRY_FAILED and action.target in held:
            gates[action] = f"waits for the held-back contract change on {action.target}"
    return gates


def _approval(
    ctx: PipelineContext, auto_approve: bool, action: Action, drifts: tuple[Drift, ...], key: str, step: int
) -> str | None:
    """None once a person (or `run --approve`) approved this fix; else why it waits."""
    engine = ctx.engine
    version = store.active_contract(engine, action.target).version
    fix_type = str(action.fix_type)
    found = store.find_decision(engine, action.target, fix_type, version)
    if found is None:
        described = "; ".join(str(d) for d in addressed(fix_type, drifts))
        decision_id = store.open_decision(engine, step, action.target, fix_type, version, described, key)
        found = (decision_id, "pending")
    decision_id, status = found
    if status == "pending" and auto_approve:
        store.decide(engine, decision_id, "approved", "pipefix run --approve")
        status = "approved"
    if status == "pending":
        commands = f"pipefix approve {decision_id} or pipefix reject {decision_id}"
        return f"waiting for approval (policy {key}): {commands}"
    if status == "rejected":
        return f"rejected by a person (decision {decision_id}); rows stay quarantined"
    return None
