"""The statements of pipefix's batch bookkeeping: one row per batch file read (loaded, re-sent,
grown or rewritten), the rows held in quarantine, and the row accounting over both and over the
user tables (received = loaded + held + duplicates).

Values are `?` parameters; a column list built from names goes through the dialect.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipefix.engines.sql.bookkeeping_schema import table
from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders


def insert_batch(d: Dialect, columns: Sequence[str]) -> str:
    """A pipefix.batches row of the columns named, one parameter each."""
    names = ", ".join(d.ident(c) for c in columns)
    return f"INSERT INTO {table(d, 'batches')} ({names}) VALUES ({placeholders(len(columns))})"


def batch_ids_of(d: Dialect, tables: int) -> str:
    return f"SELECT DISTINCT batch_id FROM {table(d, 'batches')} WHERE table_name IN ({placeholders(tables)})"


def received_and_duplicates(d: Dialect, tables: int) -> str:
    return (
        "SELECT coalesce(sum(received), 0), "
        "coalesce(sum(received) FILTER (WHERE duplicate_of IS NOT NULL), 0) "
        f"FROM {table(d, 'batches')} WHERE table_name IN ({placeholders(tables)})"
    )


def held_and_replayed(d: Dialect, tables: int) -> str:
    return (
        "SELECT count(*) FILTER (WHERE replayed_step IS NULL), "
        f"count(*) FILTER (WHERE replayed_step IS NOT NULL) FROM {table(d, 'quarantine')} "
        f"WHERE table_name IN ({placeholders(tables)})"
    )


def user_table_rows(d: Dialect, user_table: str, adopted: bool) -> str:
    """A user table's rows, rows loaded twice, rows from before pipefix. An adopted table's rows
    from before have no line: counted apart, never as pipefix's own rows loaded twice."""
    name = d.ident(user_table)
    if not adopted:
        pairs = "count(*) - count(DISTINCT (_pipefix_batch, _pipefix_line))"
        return f"SELECT count(*), {pairs}, 0 FROM {name}"
    pairs = (
        "count(_pipefix_line) - count(DISTINCT (_pipefix_batch, _pipefix_line)) "
        "FILTER (WHERE _pipefix_line IS NOT NULL)"
    )
    return f"SELECT count(*), {pairs}, count(*) - count(_pipefix_line) FROM {name}"


def _of_step(of_step: bool) -> str:
    return "AND step = ?" if of_step else ""


def grown_and_rewritten(d: Dialect, of_step: bool) -> str:
    """Batches of files that changed after they were loaded (parameter: the step, if of_step)."""
    return (
        "SELECT step, table_name, batch_id, received, appended_to, rewrite_of "
        f"FROM {table(d, 'batches')} "
        f"WHERE (appended_to IS NOT NULL OR rewrite_of IS NOT NULL) {_of_step(of_step)} "
        "ORDER BY step, batch_id"
    )


def resent(d: Dialect, of_step: bool) -> str:
    """Batches of files re-sent with bytes already loaded (parameter: the step, if of_step)."""
    return (
        f"SELECT step, table_name, batch_id, received, duplicate_of FROM {table(d, 'batches')} "
        f"WHERE duplicate_of IS NOT NULL {_of_step(of_step)} ORDER BY step, batch_id"
    )


def first_drift_step(d: Dialect) -> str:
    return f"SELECT min(step) FROM {table(d, 'batches')} WHERE drift <> {d.string('[]')}"


def open_quarantine_reasons(d: Dialect) -> str:
    return (
        f"SELECT table_name, reason, count(*) FROM {table(d, 'quarantine')} WHERE replayed_step IS NULL "
        "GROUP BY table_name, reason ORDER BY table_name, count(*) DESC, reason"
    )


def csv_dialects(d: Dialect) -> str:
    """The CSV batches with the dialect they were read in."""
    return (
        f"SELECT step, batch_id, csv_dialect FROM {table(d, 'batches')} WHERE csv_dialect IS NOT NULL "
        "ORDER BY step, batch_id"
    )
