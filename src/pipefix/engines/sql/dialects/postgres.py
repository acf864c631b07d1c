"""PostgreSQL: temp tables in `pg_temp`; DOUBLE PRECISION and JSONB."""

from __future__ import annotations

from pipefix.engines.sql.dialects.base import Dialect

POSTGRES = Dialect(
    "postgres",
    types={
        "bigint": "BIGINT",
        "integer": "INTEGER",
        "double": "DOUBLE PRECISION",
        "varchar": "VARCHAR",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
        "date": "DATE",
        "json": "JSONB",
    },
    temp_schema="pg_temp",
)
