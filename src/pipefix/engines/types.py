"""Logical contract types -> each dialect's physical column types."""

from __future__ import annotations

from pipefix.pipeline.contracts import decimal_scale

_PHYSICAL: dict[str, dict[str, str]] = {
    "duckdb": {
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
    "postgres": {
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
    "spark": {
        "bigint": "BIGINT",
        "integer": "INT",
        "double": "DOUBLE",
        "varchar": "STRING",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",  # the session's timestampType is TIMESTAMP_NTZ: naive means UTC
        "timestamptz": "TIMESTAMP_LTZ",  # an instant, shown in the session's time zone (UTC)
        "date": "DATE",
        "json": "STRING",
    },
}


def physical_type(logical: str, dialect: str = "duckdb") -> str:
    scale = decimal_scale(logical)
    if scale is not None:
        return f"DECIMAL({scale[0]},{scale[1]})"
    return _PHYSICAL[dialect][logical]
