"""Statements that adopt a table another tool loaded: pipefix's lineage columns added in place,
the rows already there taking their defaults, and the count of those rows."""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.migration import AddColumn


def lineage_columns(table: str, columns: tuple[str, str, str], batch: str) -> tuple[AddColumn, ...]:
    """The lineage `columns` (batch, line, loaded step) added: the rows already there get the
    batch `batch`, no line and step 0."""
    batch_column, line, step = columns
    return (
        AddColumn(table, batch_column, "varchar", batch),
        AddColumn(table, line, "bigint"),
        AddColumn(table, step, "bigint", 0),
    )


def rows_without_line(d: Dialect, table: str, line: str) -> str:
    """How many rows of `table` pipefix did not load (their `line` IS NULL)."""
    return f"SELECT count(*) FROM {d.table(table)} WHERE {d.ident(line)} IS NULL"
