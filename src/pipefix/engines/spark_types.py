"""Spark's names for pipefix's types and values: a column type as pipefix names it on Spark,
Spark's own type names read back, a Python value as Spark takes it, an identifier quoted for
Spark SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlglot import exp

from pipefix.engines.sql.dialects import SPARK


def _type_name(kind: exp.DataType) -> str:
    """A column type as pipefix names it on Spark (types.py's physical types for "spark")."""
    text = kind.sql(dialect="spark").upper()
    text = text.replace(" ", "")
    return {"TIMESTAMP_NTZ": "TIMESTAMP", "VARCHAR": "STRING", "TEXT": "STRING", "INTEGER": "INT"}.get(
        text, text
    )


def _spark_type_name(data_type: Any) -> str:
    text = str(data_type.simpleString()).upper()
    # Spark calls its instant type (with a time zone) `timestamp`: pipefix's timestamptz.
    names = {"TIMESTAMP_NTZ": "TIMESTAMP", "TIMESTAMP": "TIMESTAMP_LTZ", "INTEGER": "INT"}
    return names.get(text, text)


def _spark_value(value: Any) -> Any:
    """An aware datetime becomes its UTC wall time (naive means UTC), as on PostgreSQL."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _bq(identifier: str) -> str:
    """A name as Spark SQL and Spark's catalog calls read it (the seam's Spark dialect)."""
    return SPARK.ident(identifier)
