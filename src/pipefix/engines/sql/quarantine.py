"""Statements reading the quarantine (engines/quarantine.py): why rows are held, where it
began, samples, open groups, and how far a column already holds given values (rename evidence).

The open rows of a table: `table_name = ?` (a parameter) and never replayed.
"""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders

OPEN = "table_name = ? AND replayed_step IS NULL"


def _quarantine(d: Dialect, schema: str) -> str:
    return d.table(schema, "quarantine")


def top_reasons_sql(d: Dialect, schema: str) -> str:
    return (
        f"SELECT reason, count(*) FROM {_quarantine(d, schema)} WHERE {OPEN} "
        "GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 5"
    )


def first_schema_batch_sql(d: Dialect, schema: str) -> str:
    return (
        f"SELECT batch_id FROM {_quarantine(d, schema)} WHERE {OPEN} AND kind = 'schema' "
        "ORDER BY quarantined_step, batch_id LIMIT 1"
    )


def schema_samples_sql(d: Dialect, schema: str) -> str:
    return (
        f"SELECT raw FROM {_quarantine(d, schema)} WHERE {OPEN} AND kind = 'schema' "
        "ORDER BY batch_id, line_no LIMIT 2"
    )


def open_count_sql(d: Dialect, schema: str) -> str:
    return f"SELECT count(*) FROM {_quarantine(d, schema)} WHERE {OPEN}"


def value_reasons_by_batch_sql(d: Dialect, schema: str) -> str:
    """(reason, rows held, rows the batch sent) per batch of held bad values of a table."""
    return (
        f"SELECT q.reason, count(*), max(b.received) FROM {_quarantine(d, schema)} AS q "
        f"JOIN {d.table(schema, 'batches')} AS b ON b.batch_id = q.batch_id "
        "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.kind = 'value' "
        "GROUP BY q.reason, q.batch_id ORDER BY q.reason, q.batch_id"
    )


def distinct_matches_sql(d: Dialect, table: str, column: str, values: int, numeric: bool) -> str:
    """How many of `values` values (parameters) the column holds, numbers compared as numbers."""
    cast = d.column_type("double") if numeric else d.column_type("varchar")
    marks = placeholders(values)
    name = d.ident(column)
    return (
        f"SELECT count(DISTINCT CAST({name} AS {cast})) FROM {d.table(table)} "
        f"WHERE CAST({name} AS {cast}) IN ({marks})"
    )


def values_held_sql(d: Dialect, table: str, column: str) -> str:
    return f"SELECT count({d.ident(column)}) FROM {d.table(table)}"


def _where_open_in(tables: int) -> str:
    names = placeholders(tables)
    return f"replayed_step IS NULL AND table_name IN ({names})"


def open_groups_sql(d: Dialect, schema: str, tables: int) -> str:
    """Open rows of `tables` tables (parameters) per table, kind and reason, largest first."""
    return (
        "SELECT table_name, kind, coalesce(reason, ''), count(*), min(quarantined_step), "
        f"max(quarantined_step) FROM {_quarantine(d, schema)} WHERE {_where_open_in(tables)} "
        "GROUP BY table_name, kind, coalesce(reason, '') "
        "ORDER BY table_name, count(*) DESC, kind, coalesce(reason, '')"
    )


def open_group_samples_sql(d: Dialect, schema: str, tables: int) -> str:
    """Up to n (the last parameter) rows per open group, in batch and line order."""
    return (
        "SELECT table_name, kind, reason, batch_id, line_no, raw FROM (SELECT table_name, kind, "
        "coalesce(reason, '') AS reason, batch_id, line_no, raw, row_number() OVER (PARTITION BY "
        "table_name, kind, coalesce(reason, '') ORDER BY batch_id, line_no) AS n "
        f"FROM {_quarantine(d, schema)} WHERE {_where_open_in(tables)}) AS s WHERE n <= ? "
        "ORDER BY batch_id, line_no"
    )


def open_kinds_sql(d: Dialect, schema: str) -> str:
    return f"SELECT kind, count(*) FROM {_quarantine(d, schema)} WHERE {OPEN} GROUP BY kind"
