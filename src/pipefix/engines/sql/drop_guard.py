"""The count an engine takes before it lets a column go (engines/safety.py): a column may be
dropped only while it holds no value."""

from __future__ import annotations

from collections.abc import Sequence

from pipefix.engines.sql.dialects import Dialect


def values_held_sql(d: Dialect, table: Sequence[str], column: str) -> str:
    """The values (not NULL) `column` holds; `table` as its parts: ("users",), ("main", "users")."""
    return f"SELECT count({d.ident(column)}) FROM {d.table(*table)}"
