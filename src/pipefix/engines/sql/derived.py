"""Statements of derived tables (engines/derived.py): one row per metric, computed over the rows
a step loaded and appended with lineage."""

from __future__ import annotations

from collections.abc import Sequence

from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.load_guard import BATCH_COLUMN

LOADED_STEP = "_pipefix_loaded_step"


# An aggregate a derived metric may take, with `{}` where its column goes (`*`: every row).
AGGREGATES = {"count": "count({})", "sum": "sum({})", "count_distinct": "count(DISTINCT {})"}


def metric_sql(d: Dialect, metric: str, source: str, function: str, column: str | None, step: int) -> str:
    """One metric over the source's rows loaded at `step`: `function` (one of AGGREGATES) of
    `column`, or of every row when None."""
    aggregate = AGGREGATES[function].format(d.ident(column) if column else "*")
    return (
        f"SELECT {d.string(metric)} AS metric, "
        f"CAST(coalesce({aggregate}, 0) AS {d.column_type('double')}) AS value "
        f"FROM {d.table(source)} WHERE {d.ident(LOADED_STEP)} = {int(step)}"
    )


def refreshed_sql(d: Dialect, table: str) -> str:
    """Rows of the table a batch (a parameter) wrote: a refresh already made."""
    return f"SELECT count(*) FROM {d.table(table)} WHERE {d.ident(BATCH_COLUMN)} = ?"


def metrics_sql(metrics: Sequence[str]) -> str:
    """Every metric's (name, value) (statements from metric_sql), in name order: the order their
    rows are appended in, and their line numbers."""
    return f"SELECT metric, value FROM ({' UNION ALL '.join(metrics)}) AS m ORDER BY metric"
