"""The record of each step: goal versions, step records, the audit trail, the action ledger (what
a step already did, so a resumed step does not do it again) and the step journal."""

from __future__ import annotations

import json
from typing import Any

from pipefix.domain.goals import Goal
from pipefix.domain.records import StepJournal, StepRecord
from pipefix.domain.serde import from_json, to_json
from pipefix.engines.base import Engine, scalar
from pipefix.engines.store.schema import SCHEMA, _next_seq


def save_goal(
    engine: Engine,
    version: int,
    step: int,
    description: str,
    goal: str,
    reason: str,
    evidence: str,
) -> None:
    if scalar(engine, f"SELECT count(*) FROM {SCHEMA}.goals WHERE version = ?", (version,)):
        return  # a step re-run after a crash revises to the same version: kept once
    engine.execute(
        f"INSERT INTO {SCHEMA}.goals VALUES (?, ?, ?, ?, ?, ?)",
        (version, step, description, goal, reason, evidence),
    )


def goals(engine: Engine) -> list[tuple[int, int, str, str, str]]:
    """(version, step, description, reason, evidence JSON) in order."""
    rows = engine.query(
        f"SELECT version, step, description, reason, evidence FROM {SCHEMA}.goals ORDER BY version"
    )
    return [(int(v), int(s), d, r, e) for v, s, d, r, e in rows]


def latest_goal(engine: Engine, up_to_step: int | None = None) -> Goal | None:
    """The newest goal, or the one in force at `up_to_step` (a resumed step revises again)."""
    where, params = ("WHERE step <= ?", (up_to_step,)) if up_to_step is not None else ("", ())
    text = scalar(engine, f"SELECT goal FROM {SCHEMA}.goals {where} ORDER BY version DESC LIMIT 1", params)
    return from_json(Goal, text) if text else None


def save_step(engine: Engine, step: int, record: str) -> None:
    if scalar(engine, f"SELECT count(*) FROM {SCHEMA}.steps WHERE step = ?", (step,)):
        return
    engine.execute(f"INSERT INTO {SCHEMA}.steps VALUES (?, ?)", (step, record))


def recent_steps(engine: Engine, count: int) -> tuple[StepRecord, ...]:
    rows = engine.query(f"SELECT record FROM {SCHEMA}.steps ORDER BY step DESC LIMIT ?", (count,))
    return tuple(from_json(StepRecord, r[0]) for r in reversed(rows))


def all_steps(engine: Engine) -> list[StepRecord]:
    return [
        from_json(StepRecord, r[0]) for r in engine.query(f"SELECT record FROM {SCHEMA}.steps ORDER BY step")
    ]


def audit(engine: Engine, step: int, kind: str, payload: dict[str, Any]) -> None:
    """Append an audit record; the same record again (a step re-run after a crash) is kept once."""
    text = json.dumps(payload, sort_keys=True, default=str)
    if scalar(
        engine,
        f"SELECT count(*) FROM {SCHEMA}.audit WHERE step = ? AND kind = ? AND payload = ?",
        (step, kind, text),
    ):
        return
    engine.execute(f"INSERT INTO {SCHEMA}.audit VALUES ({_next_seq('audit')}, ?, ?, ?)", (step, kind, text))


def audit_trail(engine: Engine, kinds: tuple[str, ...] = ()) -> list[tuple[int, str, dict[str, Any]]]:
    where = f"WHERE kind IN ({', '.join('?' for _ in kinds)})" if kinds else ""
    rows = engine.query(f"SELECT step, kind, payload FROM {SCHEMA}.audit {where} ORDER BY seq", kinds)
    return [(int(step), kind, json.loads(payload)) for step, kind, payload in rows]


def ledger_entry(engine: Engine, step: int, index: int) -> tuple[bool, str, int] | None:
    rows = engine.query(
        f"SELECT ok, detail, rows_affected FROM {SCHEMA}.ledger WHERE step = ? AND action_index = ?",
        (step, index),
    )
    return (bool(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None


def record_ledger(
    engine: Engine, step: int, index: int, action: str, ok: bool, detail: str, rows_affected: int
) -> None:
    engine.execute(
        f"INSERT INTO {SCHEMA}.ledger VALUES (?, ?, ?, ?, ?, ?)",
        (step, index, action, ok, detail, rows_affected),
    )


def ledger_of_step(engine: Engine, step: int) -> list[tuple[int, str, bool, str]]:
    """What `step` did so far: (index, action, ok, detail), in plan order."""
    rows = engine.query(
        f"SELECT action_index, action, ok, detail FROM {SCHEMA}.ledger WHERE step = ? ORDER BY action_index",
        (step,),
    )
    return [(int(i), str(a), bool(ok), str(d)) for i, a, ok, d in rows]


def fail_ledger_entry(engine: Engine, step: int, index: int, detail: str) -> None:
    """A recorded action judged failed after the fact (a change whose replay released nothing)."""
    engine.execute(
        f"UPDATE {SCHEMA}.ledger SET ok = false, detail = ? WHERE step = ? AND action_index = ?",
        (detail, step, index),
    )


def save_journal(engine: Engine, journal: StepJournal) -> None:
    if not scalar(engine, f"SELECT count(*) FROM {SCHEMA}.journal WHERE step = ?", (journal.step,)):
        engine.execute(f"INSERT INTO {SCHEMA}.journal VALUES (?, ?)", (journal.step, to_json(journal)))


def load_journal(engine: Engine, step: int) -> StepJournal | None:
    text = scalar(engine, f"SELECT body FROM {SCHEMA}.journal WHERE step = ?", (step,))
    return from_json(StepJournal, text) if text else None
