"""Derived tables: aggregates refreshed from the rows each step loaded (the demo's analytics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipefix.engines.base import Engine, literal, quote, scalar
from pipefix.engines.sql.tables import LINEAGE_COLUMNS


@dataclass(frozen=True)
class DerivedMetric:
    metric: str
    source: str  # the source table
    aggregate: str  # an aggregate over that table's rows, e.g. "count(DISTINCT user_id)"


def refresh(engine: Engine, table: str, metrics: tuple[DerivedMetric, ...], step: int, now: datetime) -> int:
    """Append one row per metric computed over the rows loaded at `step`."""
    selects = [
        f"SELECT {literal(m.metric)} AS metric, "
        f"CAST(coalesce({m.aggregate}, 0) AS DOUBLE PRECISION) AS value "
        f"FROM {quote(m.source)} WHERE _pipefix_loaded_step = {int(step)}"
        for m in metrics
    ]
    batch = f"derived:{table}:{step}"
    if scalar(engine, f"SELECT count(*) FROM {quote(table)} WHERE _pipefix_batch = ?", (batch,)):
        return 0  # refreshed already (a step re-run after a crash)
    engine.execute(
        f"INSERT INTO {quote(table)} (step, metric, value, computed_at, {', '.join(LINEAGE_COLUMNS)}) "
        f"SELECT {int(step)}, metric, value, CAST(? AS TIMESTAMP), {literal(batch)}, "
        f"row_number() OVER (ORDER BY metric), {int(step)} FROM ({' UNION ALL '.join(selects)}) AS m",
        (now.replace(tzinfo=None),),
    )
    return len(metrics)
