"""Statements of the loss guard (engines/load_guard.py): a batch's rows counted where they were
written, in its table by lineage and in the quarantine (the batch id a parameter)."""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect

BATCH_COLUMN = "_pipefix_batch"


def rows_of_batch_sql(d: Dialect, table: str) -> str:
    return f"SELECT count(*) FROM {d.table(table)} WHERE {d.ident(BATCH_COLUMN)} = ?"


def held_of_batch_sql(d: Dialect, schema: str) -> str:
    """Parameters: the table, the batch."""
    return f"SELECT count(*) FROM {d.table(schema, 'quarantine')} WHERE table_name = ? AND batch_id = ?"
