"""Derived tables: aggregates refreshed from the rows each step loaded (the demo's analytics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipefix.engines.base import Engine, scalar
from pipefix.engines.dialect_of import dialect_of
from pipefix.engines.sql import derived as sql
from pipefix.engines.sql.migration import LINEAGE_COLUMNS


@dataclass(frozen=True)
class DerivedMetric:
    """`function` (sql/derived.py AGGREGATES: count, sum, count_distinct) of `column` over the
    source table's rows a step loaded; of every row when `column` is None."""

    metric: str
    source: str  # the source table
    function: str
    column: str | None = None


def refresh(engine: Engine, table: str, metrics: tuple[DerivedMetric, ...], step: int, now: datetime) -> int:
    """Append one row per metric computed over the rows loaded at `step`: computed by one query,
    appended as rows (`copy_rows`, every engine's bulk append, Spark's included)."""
    d = dialect_of(engine)
    selects = [sql.metric_sql(d, m.metric, m.source, m.function, m.column, step) for m in metrics]
    batch = f"derived:{table}:{step}"
    if scalar(engine, sql.refreshed_sql(d, table), (batch,)):
        return 0  # refreshed already (a step re-run after a crash)
    computed = now.replace(tzinfo=None)
    rows = [
        (step, metric, value, computed, batch, line, step)
        for line, (metric, value) in enumerate(engine.query(sql.metrics_sql(selects)), start=1)
    ]
    engine.copy_rows(table, ("step", "metric", "value", "computed_at", *LINEAGE_COLUMNS), rows)
    return len(metrics)
