"""The loader's own statements: a table's batch history, a line completed after its file was
read, a batch recorded by another run, and what a trial replay reads of the verdicts.

Statements on pipefix's state take the state dialect, those on a user table the warehouse's;
those on the judge's scratch tables are DuckDB's (engines/sql/staging.py).
"""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders
from pipefix.engines.sql.records import IS_OBJECT, json_path
from pipefix.engines.sql.staging import CHECKED, QUARANTINE, STAGE


def file_batches(state: Dialect) -> str:
    """Every batch row of a table (?), oldest first."""
    return (
        "SELECT batch_id, sha256, size_bytes, received, step, duplicate_of, appended_to, rewrite_of "
        f"FROM {state.table('pipefix', 'batches')} WHERE table_name = ? ORDER BY step, batch_id"
    )


def batch_recorded(state: Dialect) -> str:
    return f"SELECT count(*) FROM {state.table('pipefix', 'batches')} WHERE batch_id = ?"


def held_line(state: Dialect, batches: int) -> str:
    """The open quarantine record of a table (?) at a line (?) in one of `batches` batches (?, ...)."""
    return (
        f"SELECT batch_id FROM {state.table(*QUARANTINE)} WHERE table_name = ? AND line_no = ? "
        f"AND replayed_step IS NULL AND batch_id IN ({placeholders(batches)})"
    )


def loaded_line(d: Dialect, table: str, batches: int) -> str:
    """A table's rows at a line (?) of one of `batches` batches (?, ...)."""
    return (
        f"SELECT count(*) FROM {d.ident(table)} WHERE _pipefix_line = ? "
        f"AND _pipefix_batch IN ({placeholders(batches)})"
    )


def replace_held_text(state: Dialect) -> str:
    """A held record's text (?) replaced by its completed line (table ?, batch ?, line ?)."""
    return (
        f"UPDATE {state.table(*QUARANTINE)} SET raw = ? WHERE table_name = ? AND batch_id = ? "
        "AND line_no = ? AND replayed_step IS NULL"
    )


def value_reasons() -> str:
    return f"SELECT reason, count(*) FROM {CHECKED} WHERE kind = 'value' GROUP BY reason"


def valid_objects() -> str:
    return f"SELECT count(*) FROM {STAGE} WHERE {IS_OBJECT}"


def top_reasons(limit: int) -> str:
    return (
        f"SELECT reason FROM {CHECKED} WHERE reason <> '' "
        f"GROUP BY reason ORDER BY count(*) DESC, reason LIMIT {int(limit)}"
    )


def staged_values(field: str, limit: int) -> str:
    """Distinct values of a field among the staged records."""
    path = json_path(field)
    return (
        f"SELECT DISTINCT raw ->> {path} FROM {STAGE} WHERE {IS_OBJECT} "
        f"AND raw ->> {path} IS NOT NULL LIMIT {int(limit)}"
    )
