"""Statements of `pipefix init --from` (engines/samples.py): a sample batch's staged records, a
Parquet file's declared schema, and what a trial load held. They run on a scratch DuckDB."""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect


def staged_records_sql(d: Dialect, stage: str, is_object: str) -> str:
    """Every staged record in line order, with whether it is a JSON object (`is_object`: the
    judge's own test, an expression over `raw`)."""
    return f"SELECT line_no, raw, stage_error, {is_object} FROM {d.table(stage)} ORDER BY line_no"


def parquet_schema_sql() -> str:
    """A Parquet file's (a parameter) columns and their declared types."""
    return "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))"


def held_by_reason_sql(d: Dialect, schema: str) -> str:
    """A table's (a parameter) held rows per reason and kind, most first."""
    return (
        f"SELECT reason, kind, count(*) FROM {d.table(schema, 'quarantine')} WHERE table_name = ? "
        "GROUP BY reason, kind ORDER BY count(*) DESC, reason"
    )
