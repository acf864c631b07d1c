"""The dialect a warehouse's statements on user tables are written in.

DuckDB and PostgreSQL read their own. Spark takes changes to a table's shape as typed operations
(migration.py), but its router parses the queries pipefix sends as DuckDB SQL and translates them
(engines/spark_router.py): queries for Spark are written with DuckDB's quoting and literals and
Spark's types.
"""

from __future__ import annotations

from pipefix.engines.sql.dialects import SPARK, Dialect, dialect_named

# Spark's types under the shared core's quoting: what spark_router parses (read="duckdb").
_SPARK_THROUGH_ROUTER = Dialect("spark", types=SPARK.types)


def warehouse_dialect(name: str) -> Dialect:
    """The dialect to build user-table statements in for the engine whose
    `Capabilities.dialect` is `name`."""
    return _SPARK_THROUGH_ROUTER if name == SPARK.name else dialect_named(name)
