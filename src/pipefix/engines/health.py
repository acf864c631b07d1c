"""Facts about tables, measured in one aggregate query per table: nulls, duplicate keys,
out-of-range values and the newest timestamp. Plus the per-step load figures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipefix.engines import store
from pipefix.engines.base import Engine, columns_of, literal, quote
from pipefix.pipeline.contracts import Contract


@dataclass(frozen=True)
class TableFacts:
    rows: int
    null_violations: int
    duplicate_keys: int
    range_violations: int
    newest: datetime | None
    missing_columns: tuple[str, ...]


def _range_condition(contract: Contract) -> str:
    conditions = []
    for column in contract.columns:
        name = quote(column.name)
        if column.min is not None:
            conditions.append(f"{name} < {column.min!r}")
        if column.max is not None:
            conditions.append(f"{name} > {column.max!r}")
        if column.values is not None:
            allowed = ", ".join(literal(v) for v in column.values)
            conditions.append(f"{name}::VARCHAR NOT IN ({allowed})")
    return " OR ".join(conditions) or "FALSE"


def table_facts(engine: Engine, contract: Contract, physical_columns: set[str]) -> TableFacts:
    missing = tuple(c for c in contract.column_names if c not in physical_columns)
    present = [c for c in contract.columns if c.name in physical_columns]
    not_null = [quote(c.name) for c in present if not c.nullable]
    nulls = " + ".join(f"count(*) - count({c})" for c in not_null) or "0"
    key = quote(contract.key) if contract.key and contract.key in physical_columns else None
    duplicates = f"count({key}) - count(DISTINCT {key})" if key else "0"
    fresh = contract.freshness_column
    newest = f"max({quote(fresh)})" if fresh and fresh in physical_columns else "NULL"
    checked = contract if not missing else Contract(contract.table, contract.version, tuple(present))
    rows = engine.query(
        f"SELECT count(*), {nulls}, {duplicates}, count(*) FILTER (WHERE {_range_condition(checked)}), "
        f"{newest} FROM {quote(contract.table)}"
    )
    count, null_violations, duplicate_keys, range_violations, newest_value = rows[0]
    return TableFacts(
        int(count),
        int(null_violations),
        int(duplicate_keys),
        int(range_violations),
        newest_value,
        missing,
    )


@dataclass(frozen=True)
class StepLoad:
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    drift: tuple[str, ...] = ()


def step_loads(engine: Engine, step: int) -> dict[str, StepLoad]:
    rows = engine.query(
        f"SELECT table_name, received, loaded, quarantined, drift FROM {store.SCHEMA}.batches "
        "WHERE step = ? ORDER BY table_name, batch_id",
        (step,),
    )
    loads: dict[str, StepLoad] = {}
    for table, received, loaded, quarantined, drift in rows:
        before = loads.get(table, StepLoad())
        loads[table] = StepLoad(
            before.received + int(received),
            before.loaded + int(loaded),
            before.quarantined + int(quarantined),
            before.drift + tuple(_describe(d) for d in json.loads(drift)),
        )
    return loads


def _describe(drift: dict[str, Any]) -> str:
    return f"{drift['kind']}:{drift['column']}"


def loaded_history(engine: Engine, table: str, before_step: int) -> list[int]:
    rows = engine.query(
        f"SELECT step, sum(loaded) FROM {store.SCHEMA}.batches WHERE table_name = ? AND step < ? "
        "GROUP BY step ORDER BY step",
        (table, before_step),
    )
    return [int(r[1]) for r in rows]


def open_quarantine(engine: Engine) -> dict[tuple[str, str], int]:
    rows = engine.query(
        f"SELECT table_name, kind, count(*) FROM {store.SCHEMA}.quarantine "
        "WHERE replayed_step IS NULL GROUP BY table_name, kind"
    )
    return {(table, kind): int(n) for table, kind, n in rows}


def physical_columns(engine: Engine, table: str) -> set[str]:
    return set(columns_of(engine, table))
