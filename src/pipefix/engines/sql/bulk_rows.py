"""Rows an engine writes into a table in bulk (engines' copy_rows and copy_csv): DuckDB binds
them into INSERTs of many rows each, PostgreSQL streams them through COPY.

`table` is qualified with dots as the engines are given it (`orders`, `pipefix.quarantine`,
`temp._pipefix_keys`); each part is quoted, as is each column.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders


def _target(d: Dialect, table: str, columns: Sequence[str]) -> str:
    return f"{d.table(*table.split('.'))} ({', '.join(d.ident(c) for c in columns)})"


def insert_rows_sql(d: Dialect, table: str, columns: Sequence[str], rows: int) -> str:
    """An INSERT of `rows` rows, one parameter per value, row after row."""
    row = f"({placeholders(len(columns))})"
    return f"INSERT INTO {_target(d, table, columns)} VALUES {', '.join([row] * rows)}"


def insert_rows_logged(d: Dialect, table: str, columns: Sequence[str], rows: int) -> str:
    """What the statement log records of `rows` rows written in chunks: one line, not a
    statement per chunk."""
    row = f"({placeholders(len(columns))})"
    return f"INSERT INTO {_target(d, table, columns)} VALUES {row}, ... -- {rows} rows"


def copy_from_stdin_sql(d: Dialect, table: str, columns: Sequence[str], csv: bool = False) -> str:
    """PostgreSQL's COPY of rows sent by the client: row by row, or (`csv`) a CSV file's bytes."""
    return f"COPY {_target(d, table, columns)} FROM STDIN" + (" (FORMAT csv)" if csv else "")
