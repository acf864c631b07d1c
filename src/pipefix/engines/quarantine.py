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


@dataclass(frozen=True)
class HeldSample:
    batch: str
    line: int
    raw: str


@dataclass(frozen=True)
class HeldGroup:
    """Open rows of one table held for one reason: how many, since when, and a few of them."""

    table: str
    kind: str  # schema, value or malformed
    reason: str
    rows: int
    first_step: int
    last_step: int
    samples: tuple[HeldSample, ...]


def open_groups(engine: Engine, tables: Sequence[str], samples: int) -> list[HeldGroup]:
    """Rows still held (never replayed) per table, kind and reason, largest group first, each with
    up to `samples` rows in batch and line order."""
    if not tables:
        return []
    names = ", ".join("?" for _ in tables)
    where = f"replayed_step IS NULL AND table_name IN ({names})"
    groups = engine.query(
        f"SELECT table_name, kind, coalesce(reason, ''), count(*), min(quarantined_step), "
        f"max(quarantined_step) FROM {QUARANTINE} WHERE {where} "
        "GROUP BY table_name, kind, coalesce(reason, '') "
        "ORDER BY table_name, count(*) DESC, kind, coalesce(reason, '')",
        tuple(tables),
    )
    found: dict[tuple[str, str, str], list[HeldSample]] = {}
    if samples > 0 and groups:
        rows = engine.query(
            "SELECT table_name, kind, reason, batch_id, line_no, raw FROM (SELECT table_name, kind, "
            "coalesce(reason, '') AS reason, batch_id, line_no, raw, row_number() OVER (PARTITION BY "
            "table_name, kind, coalesce(reason, '') ORDER BY batch_id, line_no) AS n "
            f"FROM {QUARANTINE} WHERE {where}) AS s WHERE n <= ? ORDER BY batch_id, line_no",
            (*tables, samples),
        )
        for table, kind, reason, batch, line, raw in rows:
            found.setdefault((table, kind, reason), []).append(HeldSample(str(batch), int(line), str(raw)))
    return [
        HeldGroup(
            str(table),
            str(kind),
            str(reason),
            int(count),
            int(first),
            int(last),
            tuple(found.get((table, kind, reason), ())),
        )
        for table, kind, reason, count, first, last in groups
    ]


def open_kinds(engine: Engine, table: str) -> dict[str, int]:
    """Rows of a table still held, per kind (schema, value, malformed)."""
    rows = engine.query(f"SELECT kind, count(*) FROM {QUARANTINE} WHERE {OPEN} GROUP BY kind", (table,))
    return {str(kind): int(count) for kind, count in rows}
