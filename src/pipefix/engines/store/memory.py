"""What the agent keeps between steps and runs: knowledge (values by key, newest wins), settings,
and the agent's own state (constraints, episode open, fixes used) for a run resumed after a crash."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipefix.domain.constraints import Constraint
from pipefix.domain.serde import dump_as, load_as
from pipefix.engines.base import Engine, scalar
from pipefix.engines.sql import bookkeeping_memory as sql
from pipefix.engines.store.schema import _dialect


def remember(engine: Engine, step: int, key: str, value: object) -> None:
    engine.execute(
        sql.insert_knowledge(_dialect(engine)), (step, key, json.dumps(value, sort_keys=True, default=str))
    )


def recall(engine: Engine, key: str) -> Any:
    """The latest value stored under `key`, or None."""
    text = scalar(engine, sql.recall(_dialect(engine)), (key,))
    return json.loads(text) if text is not None else None


def recall_latest(engine: Engine, keys: Sequence[str]) -> dict[str, Any]:
    """recall() of many keys in one statement: the latest value of each key stored."""
    if not keys:
        return {}
    rows = engine.query(sql.recall_latest(_dialect(engine), len(keys)), tuple(keys))
    return {str(key): json.loads(value) for key, value in rows if value is not None}


def knowledge(engine: Engine) -> list[tuple[int, str, Any]]:
    rows = engine.query(sql.knowledge(_dialect(engine)))
    return [(int(step), key, json.loads(value)) for step, key, value in rows]


def get_setting(engine: Engine, key: str, default: str) -> str:
    value = scalar(engine, sql.setting(_dialect(engine)), (key,))
    return str(value) if value is not None else default


def put_setting(engine: Engine, key: str, value: str) -> None:
    d = _dialect(engine)
    if scalar(engine, sql.setting_count(d), (key,)):
        engine.execute(sql.update_setting(d), (value, key))
    else:
        engine.execute(sql.insert_setting(d), (key, value))


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
