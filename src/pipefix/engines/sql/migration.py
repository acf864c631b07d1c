"""Statements that change a user table's shape losslessly, and undo it: columns added, dropped
while empty, widened; the compatibility views `<table>_v<n>` of a contract's earlier versions;
the empty temp copy a migration is tried on first (its shadow trial)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipefix.engines.sql.dialects import Dialect


def add_column(d: Dialect, table: str, column: str, logical: str, default: str | None = None) -> str:
    """ADD COLUMN of a contract's logical type; `default` is SQL text built by the dialect
    (`d.string(...)`, a number)."""
    tail = f" DEFAULT {default}" if default is not None else ""
    return f"ALTER TABLE {d.table(table)} ADD COLUMN {d.ident(column)} {d.column_type(logical)}{tail}"


def drop_column(d: Dialect, table: str, column: str) -> str:
    return f"ALTER TABLE {d.table(table)} DROP COLUMN {d.ident(column)}"


def retype_column(d: Dialect, table: str, column: str, logical: str) -> str:
    return f"ALTER TABLE {d.table(table)} ALTER COLUMN {d.ident(column)} TYPE {d.column_type(logical)}"


def create_view(
    d: Dialect,
    view: str,
    table: str,
    columns: Sequence[str],
    casts: Mapping[str, str] | None = None,
    detached: bool = False,
) -> str:
    """A view of `columns` of `table`; each column in `casts` read as that logical type: cast
    from the table's column, or NULL while it is `detached` (changing type under the view)."""
    casts = casts or {}

    def item(column: str) -> str:
        if column not in casts:
            return d.ident(column)
        source = "NULL" if detached else d.ident(column)
        return f"CAST({source} AS {d.column_type(casts[column])}) AS {d.ident(column)}"

    listed = ", ".join(item(c) for c in columns)
    return f"CREATE OR REPLACE VIEW {d.table(view)} AS SELECT {listed} FROM {d.table(table)}"


def views_in_current_schema() -> str:
    """The names of the views in the current schema."""
    return "SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()"


def drop_temp_table(d: Dialect, name: str) -> str:
    return f"DROP TABLE IF EXISTS {d.temp_table(name)}"


def empty_temp_copy(d: Dialect, name: str, table: str) -> str:
    """A temp table `name` with `table`'s columns and no row."""
    return f"CREATE TEMP TABLE {d.ident(name)} AS SELECT * FROM {d.table(table)} LIMIT 0"
