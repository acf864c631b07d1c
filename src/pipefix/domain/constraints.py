"""Constraints on what the agent may do, and how they are enforced on a plan.

Each kind is enforced, not just printed: `filter_plan` blocks or amends actions, and
`requires_shadow` tells the executor to prove a change on a shadow copy first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from pipefix.domain.actions import (
    CONTRACT_CHANGING_FIXES,
    DESTRUCTIVE_FIX_TYPES,
    Action,
    FixType,
    Plan,
    Tool,
)


class ConstraintKind(StrEnum):
    BUDGET = "budget"
    SAFETY = "safety"
    SHADOW_VALIDATION = "shadow_validation"
    REPLAY_AFTER_CHANGE = "replay_after_change"
    COOLDOWN = "cooldown"


@dataclass(frozen=True)
class Constraint:
    kind: ConstraintKind
    description: str
    tables: frozenset[str] = frozenset()
    limit: int = 0  # budget: max fixes; cooldown: the step until which fixes wait
    origin: str = "initial"  # "initial" or "evolved at step N"

    @property
    def name(self) -> str:
        scope = f"[{','.join(sorted(self.tables))}]" if self.tables else ""
        return f"{self.kind}{scope}"


def budget(max_fixes: int) -> Constraint:
    return Constraint(ConstraintKind.BUDGET, f"at most {max_fixes} fix attempts per run", limit=max_fixes)


def safety() -> Constraint:
    return Constraint(
        ConstraintKind.SAFETY,
        "nothing destructive: no drop_table, DROP, TRUNCATE or DELETE of user data",
    )


def initial_constraints(max_fixes: int) -> tuple[Constraint, ...]:
    return (budget(max_fixes), safety())


@dataclass(frozen=True)
class Refusal:
    action: Action
    constraint: str
    reason: str


@dataclass(frozen=True)
class FilterResult:
    plan: Plan
    refused: tuple[Refusal, ...] = ()
    amendments: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PlanContext:
    step: int
    fixes_used: int
    known_tables: frozenset[str]
    # Actions a person's policy holds back (block, or approve not yet given), with the reason.
    gates: Mapping[Action, str] = field(default_factory=dict)


def _safety_refusal(action: Action, context: PlanContext) -> str | None:
    if action.fix_type is not None and action.fix_type in DESTRUCTIVE_FIX_TYPES:
        return f"{action.fix_type} is destructive"
    if action.tool is Tool.APPLY_FIX and action.fix_type not in set(FixType):
        return f"unknown fix type {action.fix_type!r}"
    if action.target not in context.known_tables and action.target != "pipeline":
        return f"unknown target {action.target!r}"
    return None


def filter_plan(plan: Plan, constraints: Iterable[Constraint], context: PlanContext) -> FilterResult:
    """Apply every active constraint to a plan, in order: refuse, then amend."""
    constraints = tuple(constraints)
    kept: list[Action] = []
    refused: list[Refusal] = []
    fixes_used = context.fixes_used
    for action in plan.actions:
        refusal = _first_refusal(action, constraints, context, fixes_used)
        if refusal is not None:
            refused.append(refusal)
            continue
        kept.append(action)
        if action.is_fix:
            fixes_used += 1
    amended, notes = _amend_replays(kept, constraints, context, fixes_used)
    return FilterResult(replace(plan, actions=tuple(amended)), tuple(refused), tuple(notes))


def _first_refusal(
    action: Action, constraints: tuple[Constraint, ...], context: PlanContext, fixes_used: int
) -> Refusal | None:
    if action in context.gates:
        return Refusal(action, "policy", context.gates[action])
    for constraint in constraints:
        reason = None
        if constraint.kind is ConstraintKind.SAFETY:
            reason = _safety_refusal(action, context)
        elif constraint.kind is ConstraintKind.BUDGET and action.is_fix:
            if fixes_used >= constraint.limit:
                reason = f"fix budget exhausted ({fixes_used}/{constraint.limit} used)"
        elif (
            constraint.kind is ConstraintKind.COOLDOWN
            and action.tool is Tool.APPLY_FIX
            and action.target in constraint.tables
            and context.step <= constraint.limit
        ):
            reason = f"{action.target} is cooling down after a rollback until step {constraint.limit}"
        if reason is not None:
            return Refusal(action, constraint.name, reason)
    return None


def _amend_replays(
    actions: list[Action],
    constraints: tuple[Constraint, ...],
    context: PlanContext,
    fixes_used: int,
) -> tuple[list[Action], list[str]]:
    """replay_after_change: every contract change on a scoped table is followed by a replay."""
    rule = next((c for c in constraints if c.kind is ConstraintKind.REPLAY_AFTER_CHANGE), None)
    if rule is None:
        return actions, []
    limit = next((c.limit for c in constraints if c.kind is ConstraintKind.BUDGET), None)
    amended = list(actions)
    notes = []
    for index, action in enumerate(actions):
        if action.fix_type not in CONTRACT_CHANGING_FIXES or action.target not in rule.tables:
            continue
        replay = Action(Tool.APPLY_FIX, action.target, FixType.RETRY_FAILED)
        if replay in actions[index + 1 :] or replay in amended[len(actions) :]:
            continue
        if limit is not None and fixes_used >= limit:
            notes.append(f"could not append {replay}: fix budget exhausted")
            continue
        amended.append(replay)
        fixes_used += 1
        notes.append(f"appended {replay} ({rule.name})")
    return amended, notes


def requires_shadow(action: Action, constraints: Iterable[Constraint]) -> bool:
    return action.fix_type in CONTRACT_CHANGING_FIXES and any(
        c.kind is ConstraintKind.SHADOW_VALIDATION and action.target in c.tables for c in constraints
    )


@dataclass(frozen=True)
class ConstraintChange:
    step: int
    change: str  # "add" | "modify" | "remove"
    constraint: Constraint
    reason: str


def apply_changes(
    active: tuple[Constraint, ...], changes: tuple[ConstraintChange, ...]
) -> tuple[Constraint, ...]:
    result = list(active)
    for change in changes:
        if change.change == "add":
            result.append(change.constraint)
        elif change.change == "modify":
            result = [change.constraint if c.kind is change.constraint.kind else c for c in result]
        elif change.change == "remove":
            result = [c for c in result if c != change.constraint]
    return tuple(result)
