"""Reads over the quarantine that a diagnosis needs: why rows are held, where it began, samples,
and how far an added column's values overlap a removed one's (rename evidence)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipefix.engines.base import Engine, scalar
from pipefix.engines.dialect_of import dialect_of, state_dialect_of
from pipefix.engines.sql import quarantine as sql
from pipefix.engines.store import SCHEMA


@dataclass(frozen=True)
class HeldRows:
    total: int
    top_reasons: tuple[tuple[str, int], ...]
    first_schema_batch: str | None
    schema_samples: tuple[str, ...]


def held_rows(engine: Engine, table: str) -> HeldRows:
    d = state_dialect_of(engine)
    reasons = engine.query(sql.top_reasons_sql(d, SCHEMA), (table,))
    first = engine.query(sql.first_schema_batch_sql(d, SCHEMA), (table,))
    samples = engine.query(sql.schema_samples_sql(d, SCHEMA), (table,))
    return HeldRows(
        total=int(scalar(engine, sql.open_count_sql(d, SCHEMA), (table,))),
        top_reasons=tuple((str(r), int(n)) for r, n in reasons),
        first_schema_batch=first[0][0] if first else None,
        schema_samples=tuple(str(s[0])[:300] for s in samples),
    )


def value_reasons_by_batch(engine: Engine, table: str) -> list[tuple[str, int, int]]:
    """(reason, rows held for it, rows the batch sent) per batch, for held bad values."""
    rows = engine.query(sql.value_reasons_by_batch_sql(state_dialect_of(engine), SCHEMA), (table,))
    return [(str(reason), int(count), int(received)) for reason, count, received in rows]


def distinct_matches(engine: Engine, table: str, column: str, values: Sequence[str], numeric: bool) -> int:
    """How many of `values` the column already holds (numbers compared as numbers)."""
    probe = [float(v) for v in values] if numeric else list(values)
    statement = sql.distinct_matches_sql(dialect_of(engine), table, column, len(probe), numeric)
    return int(scalar(engine, statement, probe))


def values_held(engine: Engine, table: str, column: str) -> int:
    """Non-null values a column of a table holds (a column that holds none may be dropped)."""
    return int(scalar(engine, sql.values_held_sql(dialect_of(engine), table, column)))


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
    d = state_dialect_of(engine)
    groups = engine.query(sql.open_groups_sql(d, SCHEMA, len(tables)), tuple(tables))
    found: dict[tuple[str, str, str], list[HeldSample]] = {}
    if samples > 0 and groups:
        rows = engine.query(sql.open_group_samples_sql(d, SCHEMA, len(tables)), (*tables, samples))
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
    rows = engine.query(sql.open_kinds_sql(state_dialect_of(engine), SCHEMA), (table,))
    return {str(kind): int(count) for kind, count in rows}
