"""Reads over the quarantine that a diagnosis needs: why rows are held, where it began, samples,
and how far an added column's values overlap a removed one's (rename evidence)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipefix.engines.base import Engine, quote, scalar
from pipefix.engines.store import SCHEMA

QUARANTINE = f"{SCHEMA}.quarantine"
OPEN = "table_name = ? AND replayed_step IS NULL"


@dataclass(frozen=True)
class HeldRows:
    total: int
    top_reasons: tuple[tuple[str, int], ...]
    first_schema_batch: str | None
    schema_samples: tuple[str, ...]


def held_rows(engine: Engine, table: str) -> HeldRows:
    reasons = engine.query(
        f"SELECT reason, count(*) FROM {QUARANTINE} WHERE {OPEN} "
        "GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 5",
        (table,),
    )
    first = engine.query(
        f"SELECT batch_id FROM {QUARANTINE} WHERE {OPEN} AND kind = 'schema' "
        "ORDER BY quarantined_step, batch_id LIMIT 1",
        (table,),
    )
    samples = engine.query(
        f"SELECT raw FROM {QUARANTINE} WHERE {OPEN} AND kind = 'schema' ORDER BY batch_id, line_no LIMIT 2",
        (table,),
    )
    return HeldRows(
        total=int(scalar(engine, f"SELECT count(*) FROM {QUARANTINE} WHERE {OPEN}", (table,))),
        top_reasons=tuple((str(r), int(n)) for r, n in reasons),
        first_schema_batch=first[0][0] if first else None,
        schema_samples=tuple(str(s[0])[:300] for s in samples),
    )


def value_reasons_by_batch(engine: Engine, table: str) -> list[tuple[str, int, int]]:
    """(reason, rows held for it, rows the batch sent) per batch, for held bad values."""
    rows = engine.query(
        f"SELECT q.reason, count(*), max(b.received) FROM {QUARANTINE} AS q "
        f"JOIN {SCHEMA}.batches AS b ON b.batch_id = q.batch_id "
        "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.kind = 'value' "
        "GROUP BY q.reason, q.batch_id ORDER BY q.reason, q.batch_id",
        (table,),
    )
    return [(str(reason), int(count), int(received)) for reason, count, received in rows]


def distinct_matches(engine: Engine, table: str, column: str, values: Sequence[str], numeric: bool) -> int:
    """How many of `values` the column already holds (numbers compared as numbers)."""
    cast = "DOUBLE PRECISION" if numeric else "VARCHAR"
    probe = [float(v) for v in values] if numeric else list(values)
    marks = ", ".join("?" for _ in probe)
    name = quote(column)
    return int(
        scalar(
            engine,
            f"SELECT count(DISTINCT CAST({name} AS {cast})) FROM {quote(table)} "
            f"WHERE CAST({name} AS {cast}) IN ({marks})",
            probe,
        )
    )


def values_held(engine: Engine, table: str, column: str) -> int:
    """Non-null values a column of a table holds (a column that holds none may be dropped)."""
    return int(scalar(engine, f"SELECT count({quote(column)}) FROM {quote(table)}"))
