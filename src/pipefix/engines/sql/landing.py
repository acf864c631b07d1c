"""Statements of pipefix's landing bookkeeping: the files it reported instead of reading
(engines/landing_files.py) and the tables it added from unlisted folders (engines/added_tables.py).
Both tables live in pipefix's state schema."""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect

LANDING_FILES = "landing_files"
ADDED_TABLES = "added_tables"


def landing_files_ddl(d: Dialect, schema: str) -> tuple[str, ...]:
    return (
        f"CREATE TABLE IF NOT EXISTS {d.table(schema, LANDING_FILES)} (file VARCHAR, size_bytes BIGINT, "
        "kind VARCHAR, reason VARCHAR, folder VARCHAR, records BIGINT, step BIGINT, resolved_step BIGINT, "
        "resolution VARCHAR)",
    )


def records_seen_sql(d: Dialect, schema: str) -> str:
    """(file, bytes, records) of the files reported for want of a contract."""
    return (
        f"SELECT file, size_bytes, records FROM {d.table(schema, LANDING_FILES)} WHERE kind = 'no_contract'"
    )


def reported_files_sql(d: Dialect, schema: str, unresolved: bool = False) -> str:
    """(file, bytes) of every file reported, or (`unresolved`) of those neither read nor gone."""
    where = " WHERE resolved_step IS NULL" if unresolved else ""
    return f"SELECT file, size_bytes FROM {d.table(schema, LANDING_FILES)}{where}"


def record_file_sql(d: Dialect, schema: str) -> str:
    """A reported file: file, bytes, kind, reason, folder, records, step (parameters)."""
    return f"INSERT INTO {d.table(schema, LANDING_FILES)} VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)"


def resolve_file_sql(d: Dialect, schema: str) -> str:
    """Parameters: the step, the resolution, the file, its bytes."""
    return (
        f"UPDATE {d.table(schema, LANDING_FILES)} SET resolved_step = ?, resolution = ? "
        "WHERE file = ? AND size_bytes = ?"
    )


def landing_history_sql(d: Dialect, schema: str) -> str:
    return (
        "SELECT file, size_bytes, kind, reason, records, step, resolved_step, resolution "
        f"FROM {d.table(schema, LANDING_FILES)} ORDER BY step, file"
    )


def added_tables_ddl(d: Dialect, schema: str) -> tuple[str, ...]:
    return (
        f"CREATE TABLE IF NOT EXISTS {d.table(schema, ADDED_TABLES)} "
        "(table_name VARCHAR, step BIGINT, note VARCHAR)",
    )


def added_tables_sql(d: Dialect, schema: str) -> str:
    return f"SELECT table_name FROM {d.table(schema, ADDED_TABLES)} ORDER BY step, table_name"


def add_table_sql(d: Dialect, schema: str) -> str:
    """Parameters: the table, the step, the note."""
    return f"INSERT INTO {d.table(schema, ADDED_TABLES)} VALUES (?, ?, ?)"


def decision_drift_sql(d: Dialect, schema: str) -> str:
    """What a decision (its id, a parameter) showed a person."""
    return f"SELECT drift FROM {d.table(schema, 'decisions')} WHERE id = ?"
