"""What a SQL warehouse's catalog says of its tables: columns and their types, in order; the
facts adopting a table needs; whether a table holds a row. (An engine whose tables are versions
it registers, Spark, answers from its registry instead: engines/base.py.)"""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect


def columns(named_schema: bool) -> str:
    """Column name and type of a table, in order (parameters: the schema if `named_schema`,
    then the table); the current schema otherwise."""
    where = "table_schema = ?" if named_schema else "table_schema = current_schema()"
    return (
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE {where} AND table_name = ? ORDER BY ordinal_position"
    )


def column_facts() -> str:
    """Name, nullability and character limit of each column of a table (a parameter) of the
    current schema, in order."""
    return (
        "SELECT column_name, is_nullable, character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
    )


def first_row(d: Dialect, table: str) -> str:
    return f"SELECT 1 FROM {d.table(table)} LIMIT 1"
