"""The record of each step: goal versions, step records, the audit trail, the action ledger (what
a step already did, so a resumed step does not do it again) and the step journal."""

from __future__ import annotations

import json
from typing import Any

from pipefix.domain.goals import Goal
from pipefix.domain.records import StepJournal, StepRecord
from pipefix.domain.serde import from_json, to_json
from pipefix.engines.base import Engine, scalar
from pipefix.engines.sql import bookkeeping_steps as sql
from pipefix.engines.store.schema import _dialect


def save_goal(
    engine: Engine,
    version: int,
    step: int,
    description: str,
    goal: str,
    reason: str,
    evidence: str,
) -> None:
    d = _dialect(engine)
    if scalar(engine, sql.goal_count(d), (version,)):
        return  # a step re-run after a crash revises to the same version: kept once
    engine.execute(sql.insert_goal(d), (version, step, description, goal, reason, evidence))


def goals(engine: Engine) -> list[tuple[int, int, str, str, str]]:
    """(version, step, description, reason, evidence JSON) in order."""
    rows = engine.query(sql.goals(_dialect(engine)))
    return [(int(v), int(s), d, r, e) for v, s, d, r, e in rows]


def latest_goal(engine: Engine, up_to_step: int | None = None) -> Goal | None:
    """The newest goal, or the one in force at `up_to_step` (a resumed step revises again)."""
    params = (up_to_step,) if up_to_step is not None else ()
    text = scalar(engine, sql.latest_goal(_dialect(engine), up_to_step is not None), params)
    return from_json(Goal, text) if text else None


def save_step(engine: Engine, step: int, record: str) -> None:
    d = _dialect(engine)
    if scalar(engine, sql.step_count(d), (step,)):
        return
    engine.execute(sql.insert_step(d), (step, record))


def recent_steps(engine: Engine, count: int) -> tuple[StepRecord, ...]:
    rows = engine.query(sql.recent_steps(_dialect(engine)), (count,))
    return tuple(from_json(StepRecord, r[0]) for r in reversed(rows))


def all_steps(engine: Engine) -> list[StepRecord]:
    return [from_json(StepRecord, r[0]) for r in engine.query(sql.all_steps(_dialect(engine)))]


def audit(engine: Engine, step: int, kind: str, payload: dict[str, Any]) -> None:
    """Append an audit record; the same record again (a step re-run after a crash) is kept once."""
    text = json.dumps(payload, sort_keys=True, default=str)
    d = _dialect(engine)
    if scalar(engine, sql.audit_count(d), (step, kind, text)):
        return
    engine.execute(sql.insert_audit(d), (step, kind, text))


def audit_trail(engine: Engine, kinds: tuple[str, ...] = ()) -> list[tuple[int, str, dict[str, Any]]]:
    rows = engine.query(sql.audit_trail(_dialect(engine), len(kinds)), kinds)
    return [(int(step), kind, json.loads(payload)) for step, kind, payload in rows]


def ledger_entry(engine: Engine, step: int, index: int) -> tuple[bool, str, int] | None:
    rows = engine.query(sql.ledger_entry(_dialect(engine)), (step, index))
    return (bool(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None


def record_ledger(
    engine: Engine, step: int, index: int, action: str, ok: bool, detail: str, rows_affected: int
) -> None:
    engine.execute(sql.insert_ledger(_dialect(engine)), (step, index, action, ok, detail, rows_affected))


def ledger_of_step(engine: Engine, step: int) -> list[tuple[int, str, bool, str]]:
    """What `step` did so far: (index, action, ok, detail), in plan order."""
    rows = engine.query(sql.ledger_of_step(_dialect(engine)), (step,))
    return [(int(i), str(a), bool(ok), str(d)) for i, a, ok, d in rows]


def fail_ledger_entry(engine: Engine, step: int, index: int, detail: str) -> None:
    """A recorded action judged failed after the fact (a change whose replay released nothing)."""
    engine.execute(sql.fail_ledger_entry(_dialect(engine)), (detail, step, index))


def save_journal(engine: Engine, journal: StepJournal) -> None:
    d = _dialect(engine)
    if not scalar(engine, sql.journal_count(d), (journal.step,)):
        engine.execute(sql.insert_journal(d), (journal.step, to_json(journal)))


def load_journal(engine: Engine, step: int) -> StepJournal | None:
    text = scalar(engine, sql.journal_body(_dialect(engine)), (step,))
    return from_json(StepJournal, text) if text else None
