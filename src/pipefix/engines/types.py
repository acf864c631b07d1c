"""Logical contract types -> each dialect's physical column types (the dialect layer's maps)."""

from __future__ import annotations

from pipefix.engines.sql.dialects import dialect_named


def physical_type(logical: str, dialect: str = "duckdb") -> str:
    return dialect_named(dialect).column_type(logical)
