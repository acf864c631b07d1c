"""Tables pipefix added to the pipeline from a folder in landing/ that pipefix.yaml does not list
(tools/new_tables.py): kept in the warehouse, since the config does not name them, so that every
later run reads their folders too."""

from __future__ import annotations

from pipefix.engines.base import Engine, columns_of
from pipefix.engines.dialect_of import state_dialect_of
from pipefix.engines.sql import landing as sql
from pipefix.engines.store import SCHEMA


def ensure(engine: Engine) -> None:
    for statement in sql.added_tables_ddl(state_dialect_of(engine), SCHEMA):
        engine.execute(statement)


def added(engine: Engine) -> tuple[str, ...]:
    """The tables added so far, in the order they were."""
    if not columns_of(engine, sql.ADDED_TABLES, SCHEMA):
        return ()
    return tuple(str(r[0]) for r in engine.query(sql.added_tables_sql(state_dialect_of(engine), SCHEMA)))


def add(engine: Engine, table: str, step: int, note: str) -> None:
    engine.execute(sql.add_table_sql(state_dialect_of(engine), SCHEMA), (table, step, note))


def proposal_shown(engine: Engine, decision_id: int) -> str:
    """What a person was shown in a decision about adding a table: its files and contract."""
    rows = engine.query(sql.decision_drift_sql(state_dialect_of(engine), SCHEMA), (decision_id,))
    return str(rows[0][0]) if rows else ""
