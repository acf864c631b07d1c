"""What the agent keeps between steps and runs: knowledge (values by key, newest wins), settings,
and the agent's own state (constraints, episode open, fixes used) for a run resumed after a crash."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipefix.domain.constraints import Constraint
from pipefix.domain.serde import dump_as, load_as
from pipefix.engines.base import Engine, scalar
from pipefix.engines.store.schema import SCHEMA, _next_seq


def remember(engine: Engine, step: int, key: str, value: object) -> None:
    engine.execute(
        f"INSERT INTO {SCHEMA}.knowledge VALUES ({_next_seq('knowledge')}, ?, ?, ?)",
        (step, key, json.dumps(value, sort_keys=True, default=str)),
    )


def recall(engine: Engine, key: str) -> Any:
    """The latest value stored under `key`, or None."""
    text = scalar(
        engine,
        f"SELECT value FROM {SCHEMA}.knowledge WHERE key = ? ORDER BY seq DESC LIMIT 1",
        (key,),
    )
    return json.loads(text) if text is not None else None


def recall_latest(engine: Engine, keys: Sequence[str]) -> dict[str, Any]:
    """recall() of many keys in one statement: the latest value of each key stored."""
    if not keys:
        return {}
    marks = ", ".join("?" for _ in keys)
    rows = engine.query(
        f"SELECT k.key, k.value FROM {SCHEMA}.knowledge AS k WHERE k.key IN ({marks}) AND k.seq = "
        f"(SELECT max(l.seq) FROM {SCHEMA}.knowledge AS l WHERE l.key = k.key)",
        tuple(keys),
    )
    return {str(key): json.loads(value) for key, value in rows if value is not None}


def knowledge(engine: Engine) -> list[tuple[int, str, Any]]:
    rows = engine.query(f"SELECT step, key, value FROM {SCHEMA}.knowledge ORDER BY step, key, seq")
    return [(int(step), key, json.loads(value)) for step, key, value in rows]


def get_setting(engine: Engine, key: str, default: str) -> str:
    value = scalar(engine, f"SELECT value FROM {SCHEMA}.settings WHERE key = ?", (key,))
    return str(value) if value is not None else default


def put_setting(engine: Engine, key: str, value: str) -> None:
    if scalar(engine, f"SELECT count(*) FROM {SCHEMA}.settings WHERE key = ?", (key,)):
        engine.execute(f"UPDATE {SCHEMA}.settings SET value = ? WHERE key = ?", (value, key))
    else:
        engine.execute(f"INSERT INTO {SCHEMA}.settings VALUES (?, ?)", (key, value))


def save_agent_state(
    engine: Engine, constraints: tuple[Constraint, ...], episode_open: bool, fixes_used: int = 0
) -> None:
    put_setting(engine, "agent.constraints", dump_as(tuple[Constraint, ...], constraints))
    put_setting(engine, "agent.episode_open", "true" if episode_open else "false")
    put_setting(engine, "agent.fixes_used", str(fixes_used))


def fixes_used(engine: Engine) -> int:
    """Fix attempts of the run in progress, for a run resumed after a crash."""
    return int(get_setting(engine, "agent.fixes_used", "0"))


def load_agent_state(engine: Engine) -> tuple[tuple[Constraint, ...], bool] | None:
    text = get_setting(engine, "agent.constraints", "")
    if not text:
        return None
    constraints: tuple[Constraint, ...] = load_as(tuple[Constraint, ...], text)
    return constraints, get_setting(engine, "agent.episode_open", "false") == "true"
