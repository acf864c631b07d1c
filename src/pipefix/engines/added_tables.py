"""Tables pipefix added to the pipeline from a folder in landing/ that pipefix.yaml does not list
(tools/new_tables.py): kept in the warehouse, since the config does not name them, so that every
later run reads their folders too."""

from __future__ import annotations

from pipefix.engines.base import Engine, columns_of
from pipefix.engines.store import SCHEMA

TABLE = f"{SCHEMA}.added_tables"
_DDL = (f"CREATE TABLE IF NOT EXISTS {TABLE} (table_name VARCHAR, step BIGINT, note VARCHAR)",)


def ensure(engine: Engine) -> None:
    for statement in _DDL:
        engine.execute(statement)


def added(engine: Engine) -> tuple[str, ...]:
    """The tables added so far, in the order they were."""
    if not columns_of(engine, "added_tables", SCHEMA):
        return ()
    return tuple(str(r[0]) for r in engine.query(f"SELECT table_name FROM {TABLE} ORDER BY step, table_name"))


def add(engine: Engine, table: str, step: int, note: str) -> None:
    engine.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?)", (table, step, note))


def proposal_shown(engine: Engine, decision_id: int) -> str:
    """What a person was shown in a decision about adding a table: its files and contract."""
    rows = engine.query(f"SELECT drift FROM {SCHEMA}.decisions WHERE id = ?", (decision_id,))
    return str(rows[0][0]) if rows else ""
