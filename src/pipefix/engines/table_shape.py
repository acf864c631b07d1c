"""A user table's shape changed through a typed operation (engines/sql/migration.py): a SQL
engine runs the operation's statement in its dialect; an engine whose tables are versions it
registers (`Capabilities.versioned_tables`: Spark) carries out the operation itself."""

from __future__ import annotations

from typing import cast

from pipefix.engines.base import Engine, VersionedTables
from pipefix.engines.dialect_of import dialect_of
from pipefix.engines.sql.migration import ShapeChange


def apply(engine: Engine, change: ShapeChange) -> None:
    if engine.capabilities.versioned_tables:
        cast(VersionedTables, engine).change_shape(change)
    else:
        engine.execute(change.sql(dialect_of(engine)))
