"""Which dialect the statements sent to an engine are written in (the seam's builders take it).

An engine's own dialect (`Capabilities.dialect`), except Spark's: its router parses every
statement it is sent as DuckDB text (it routes `pipefix.*` to the state DuckDB and translates the
rest to Spark SQL itself), so it is sent DuckDB's text until it reads its own.
"""

from __future__ import annotations

from pipefix.engines.base import Engine
from pipefix.engines.sql.dialects import DUCKDB, Dialect, dialect_named

_READS_DUCKDB_TEXT = {"spark"}  # engines whose router parses statements as DuckDB's


def dialect_of(engine: Engine) -> Dialect:
    name = engine.capabilities.dialect
    return DUCKDB if name in _READS_DUCKDB_TEXT else dialect_named(name)
