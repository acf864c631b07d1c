"""DuckDB: the core as it is (double-quoted names, temp tables in `temp`)."""

from __future__ import annotations

from pipefix.engines.sql.dialects.base import Dialect

DUCKDB = Dialect(
    "duckdb",
    types={
        "bigint": "BIGINT",
        "integer": "INTEGER",
        "double": "DOUBLE",
        "varchar": "VARCHAR",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
        "date": "DATE",
        "json": "JSON",
    },
)
