"""Spark SQL: backquoted names; a string literal escapes with backslashes; STRING, INT and the
two timestamps (naive: TIMESTAMP, the session's TIMESTAMP_NTZ; an instant: TIMESTAMP_LTZ)."""

from __future__ import annotations

from dataclasses import dataclass

from pipefix.engines.sql.dialects.base import Dialect


@dataclass(frozen=True)
class SparkDialect(Dialect):
    def string(self, value: str) -> str:
        # Spark reads a backslash in a literal as an escape, so it is escaped first.
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


SPARK = SparkDialect(
    "spark",
    types={
        "bigint": "BIGINT",
        "integer": "INT",
        "double": "DOUBLE",
        "varchar": "STRING",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMP_LTZ",
        "date": "DATE",
        "json": "STRING",
    },
    quote_char="`",
)
