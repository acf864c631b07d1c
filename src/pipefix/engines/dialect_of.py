"""Which dialect the statements sent to an engine are written in (the seam's builders take it).

Two places, two dialects: user tables are written for the warehouse (sql/warehouse.py: its own
dialect; Spark's router still parses DuckDB's quoting), pipefix's state schema for where the
state lives (`Capabilities.state_dialect`: the warehouse itself, or Spark's state DuckDB).
"""

from __future__ import annotations

from pipefix.engines.base import Engine
from pipefix.engines.sql.dialects import Dialect, dialect_named
from pipefix.engines.sql.warehouse import warehouse_dialect


def dialect_of(engine: Engine) -> Dialect:
    """The dialect of statements on the engine's user tables."""
    return warehouse_dialect(engine.capabilities.dialect)


def state_dialect_of(engine: Engine) -> Dialect:
    """The dialect of statements on pipefix's own tables (the `pipefix` schema)."""
    return dialect_named(engine.capabilities.state_dialect)
