"""What a model may answer, and how an answer becomes (or fails to become) a domain object.

The schemas are the shapes the rules planner returns; validation is strict and pure: the tool
must be registered, names must be existing tables and plain identifiers, fix types must be
known and never destructive, metrics must be ones pipefix measures. No free text reaches SQL.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipefix.domain.actions import DESTRUCTIVE_FIX_TYPES, Action, FixType, Plan, Tool
from pipefix.domain.constraints import Constraint, ConstraintChange, ConstraintKind
from pipefix.domain.goals import Criterion, Goal
from pipefix.errors import PipefixError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
EVOLVABLE = (ConstraintKind.SHADOW_VALIDATION, ConstraintKind.REPLAY_AFTER_CHANGE, ConstraintKind.COOLDOWN)


class InvalidAnswer(PipefixError, ValueError):
    """A model's answer that cannot be acted on, with the reason (fed back to it once)."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionAnswer(_Answer):
    tool: str
    target: str
    fix_type: str | None = None
    version: int | None = None


class PlanAnswer(_Answer):
    hypotheses: list[str] = Field(default_factory=list, max_length=10)
    reasoning: str = Field(min_length=1, max_length=2000)
    expected_outcome: str = Field(default="", max_length=1000)
    confidence: float = Field(ge=0, le=1)
    actions: list[ActionAnswer] = Field(min_length=1, max_length=12)


class CriterionAnswer(_Answer):
    metric: str
    op: Literal[">=", "<=", "<", ">", "=="]
    threshold: float = Field(allow_inf_nan=False)
    scale: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class RevisionAnswer(_Answer):
    revise: bool
    description: str = Field(default="", max_length=500)
    reason: str = Field(default="", max_length=1000)
    focus_tables: list[str] = Field(default_factory=list)
    criteria: list[CriterionAnswer] = Field(default_factory=list, max_length=30)


class ConstraintChangeAnswer(_Answer):
    change: Literal["add", "modify", "remove"]
    kind: str
    tables: list[str] = Field(default_factory=list)
    description: str = Field(default="", max_length=300)
    reason: str = Field(min_length=1, max_length=500)
    until_step: int | None = None


class EvolutionAnswer(_Answer):
    changes: list[ConstraintChangeAnswer] = Field(default_factory=list, max_length=10)


SCHEMAS: dict[str, type[_Answer]] = {
    "plan": PlanAnswer,
    "revision": RevisionAnswer,
    "constraint_evolution": EvolutionAnswer,
}


def parse(schema: str, text: str) -> _Answer:
    """The answer's JSON, validated against its schema; InvalidAnswer says what is wrong."""
    body = text.strip()
    if body.startswith("```"):  # models like to fence JSON
        body = re.sub(r"^```(?:json)?\s*|\s*```$", "", body)
    if not body:
        raise InvalidAnswer("empty answer")
    try:
        return SCHEMAS[schema].model_validate_json(body)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(answer)'}: {e['msg']}" for e in error.errors()[:5]
        )
        raise InvalidAnswer(f"not a valid {schema} answer: {problems}") from None


def _table(name: str, tables: Collection[str], allow_pipeline: bool = False) -> str:
    if not _IDENTIFIER.match(name):
        raise InvalidAnswer(f"{name!r} is not a table name (letters, digits, underscores only)")
    if name == "pipeline" and allow_pipeline:
        return name
    if name not in tables:
        raise InvalidAnswer(f"no table {name!r}; tables are {', '.join(sorted(tables))}")
    return name


def to_action(answer: ActionAnswer, tables: Collection[str], versions: dict[str, int]) -> Action:
    try:
        tool = Tool(answer.tool)
    except ValueError:
        raise InvalidAnswer(
            f"unknown tool {answer.tool!r}; tools are {', '.join(t.value for t in Tool)}"
        ) from None
    fix = answer.fix_type or ""
    if fix.lower() in DESTRUCTIVE_FIX_TYPES:
        raise InvalidAnswer(f"fix type {fix!r} is destructive and never allowed")
    if tool is Tool.APPLY_FIX:
        if fix not in {f.value for f in FixType}:
            raise InvalidAnswer(
                f"unknown fix type {fix!r}; fix types are {', '.join(f.value for f in FixType)}"
            )
        if fix == FixType.ADD_TABLE:  # a new table's folder: a plain name no table has yet
            if not _IDENTIFIER.match(answer.target):
                raise InvalidAnswer(
                    f"{answer.target!r} is not a table name (letters, digits, underscores only)"
                )
            if answer.target in tables or answer.target == "pipeline":
                raise InvalidAnswer(f"{answer.target!r} is a table already; add_table adds a new one")
            return Action(tool, answer.target, FixType.ADD_TABLE)
        target = _table(answer.target, tables, allow_pipeline=fix == FixType.INCREASE_THROUGHPUT)
        return Action(tool, target, FixType(fix))
    target = _table(answer.target, tables, allow_pipeline=tool is Tool.CHECK_HEALTH)
    if answer.fix_type is not None:
        raise InvalidAnswer(f"{tool.value} takes no fix_type")
    if tool is Tool.ROLLBACK:
        if answer.version is None or not 1 <= answer.version < versions.get(target, 1):
            current = versions.get(target, 1)
            raise InvalidAnswer(
                f"rollback of {target} needs an earlier contract version (it is at v{current})"
            )
        return Action(tool, target, version=answer.version)
    return Action(tool, target)


def to_plan(answer: PlanAnswer, tables: Collection[str], versions: dict[str, int]) -> Plan:
    return Plan(
        actions=tuple(to_action(a, tables, versions) for a in answer.actions),
        reasoning=answer.reasoning,
        hypotheses=tuple(answer.hypotheses),
        expected_outcome=answer.expected_outcome,
        confidence=answer.confidence,
    )


def to_goal(
    answer: RevisionAnswer, current: Goal, tables: Collection[str], metrics: Collection[str]
) -> Goal | None:
    if not answer.revise:
        return None
    if not answer.description.strip() or not answer.criteria:
        raise InvalidAnswer("a revision needs a description and at least one criterion")
    criteria = []
    for c in answer.criteria:
        if c.metric not in metrics:
            raise InvalidAnswer(f"unknown metric {c.metric!r}; pipefix measures {', '.join(sorted(metrics))}")
        criteria.append(Criterion(c.metric, c.op, c.threshold, c.scale))
    focus = tuple(_table(t, tables) for t in answer.focus_tables)
    return current.revised(answer.description.strip(), tuple(criteria), focus)


def to_changes(
    answer: EvolutionAnswer, step: int, active: tuple[Constraint, ...], tables: Collection[str]
) -> tuple[ConstraintChange, ...]:
    changes: list[ConstraintChange] = []
    current = list(active)
    for c in answer.changes:
        try:
            kind = ConstraintKind(c.kind)
        except ValueError:
            raise InvalidAnswer(f"unknown constraint kind {c.kind!r}") from None
        if kind not in EVOLVABLE:
            evolvable = ", ".join(k.value for k in EVOLVABLE)
            raise InvalidAnswer(f"{kind.value} constraints are fixed; only {evolvable} evolve")
        scope = frozenset(_table(t, tables) for t in c.tables)
        same_kind = [a for a in current if a.kind is kind]
        if c.change == "add":
            if any(scope <= a.tables for a in same_kind):
                continue  # never a duplicate: an active constraint of this kind already covers it
            cooldown = kind is ConstraintKind.COOLDOWN
            limit = (c.until_step or step + 3) if cooldown else 0
            description = c.description or kind.value.replace("_", " ")
            added = Constraint(kind, description, scope, limit=limit, origin=f"evolved at step {step}")
            changes.append(ConstraintChange(step, "add", added, c.reason))
            current.append(added)
            continue
        # Cooldowns are one per table; the other kinds exist once, and modify rescopes them.
        cooldown = kind is ConstraintKind.COOLDOWN
        existing = next((a for a in same_kind if not cooldown or a.tables == scope), None)
        if existing is None:
            raise InvalidAnswer(f"no active {kind.value} constraint to {c.change}")
        if c.change == "modify":
            modified = replace(existing, tables=scope or existing.tables)
            changes.append(ConstraintChange(step, "modify", modified, c.reason))
            current[current.index(existing)] = modified
        else:
            changes.append(ConstraintChange(step, "remove", existing, c.reason))
            current.remove(existing)
    return tuple(changes)
