"""Figures about tables, measured in the warehouse in one aggregate query per table: rows, nulls
per column, values out of range or not allowed, key duplicates and the newest timestamp.

Incremental by default. Tables only grow (the safety guard refuses DELETE and TRUNCATE of user
data) and every row carries the step that loaded it (`_pipefix_loaded_step`), so the figures of
the rows loaded up to a step are saved, and the next measure reads only the rows loaded after it.
Every figure is a sum or a maximum, except duplicate keys, which a new key adds only when it was
already seen: `keys - distinct keys + distinct keys also among the older rows`, the last found
by probing the older rows with the new keys. The saved figures belong to a signature (contract
and physical column types); any change of either rescans the table once. A row written into a
table by anything but pipefix carries no loaded step: only a full rescan (`pipefix check
--full`) sees it. Plus the per-step load figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pipefix.domain.records import Resent
from pipefix.engines import store
from pipefix.engines.base import Engine, columns_of
from pipefix.engines.dialect_of import dialect_of, state_dialect_of
from pipefix.engines.sql import health as sql
from pipefix.engines.sql.dialects import DUCKDB, Dialect
from pipefix.engines.sql.health import LOADED_STEP as LOADED_STEP
from pipefix.engines.types import physical_type
from pipefix.pipeline.contracts import Contract, decimal_scale

FIGURES_SETTING = "health.figures"


@dataclass(frozen=True)
class TableFigures:
    """What one scan of a table's rows says about its contract. Counts per column name."""

    rows: int = 0
    nulls: dict[str, int] = field(default_factory=dict)
    below_min: dict[str, int] = field(default_factory=dict)
    above_max: dict[str, int] = field(default_factory=dict)
    not_allowed: dict[str, int] = field(default_factory=dict)
    duplicate_keys: int = 0  # null keys are not duplicates
    newest: datetime | None = None

    def null_fraction(self, column: str) -> float | None:
        """None for a table without rows: the fraction is undefined there, not 0 and not 1."""
        return self.nulls.get(column, 0) / self.rows if self.rows else None

    @property
    def range_violations(self) -> int:
        return sum(self.below_min.values()) + sum(self.above_max.values())

    @property
    def value_violations(self) -> int:
        return sum(self.not_allowed.values())

    def null_violations(self, contract: Contract) -> int:
        return sum(self.nulls.get(c.name, 0) for c in contract.columns if not c.nullable)

    def plus(self, delta: TableFigures) -> TableFigures:
        """These figures with rows added (duplicates already counted against these rows)."""
        newest = max((t for t in (self.newest, delta.newest) if t is not None), default=None)
        return TableFigures(
            rows=self.rows + delta.rows,
            nulls=_add(self.nulls, delta.nulls),
            below_min=_add(self.below_min, delta.below_min),
            above_max=_add(self.above_max, delta.above_max),
            not_allowed=_add(self.not_allowed, delta.not_allowed),
            duplicate_keys=self.duplicate_keys + delta.duplicate_keys,
            newest=newest,
        )

    def to_plain(self) -> dict[str, Any]:
        data = asdict(self)
        data["newest"] = self.newest.isoformat() if self.newest else None
        return data

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> TableFigures:
        newest = data.get("newest")
        return cls(**{**data, "newest": datetime.fromisoformat(newest) if newest else None})


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in sorted({*a, *b})}


@dataclass(frozen=True)
class Thresholds:
    """Checks beyond the columns' rules: a minimum row count and, per column, a maximum share of
    nulls. Empty by default, and then not judged (pipefix.yaml does not name them yet)."""

    min_rows: int | None = None
    max_null_fraction: Mapping[str, float] = field(default_factory=dict)


# --- the physical schema ---------------------------------------------------------------------

# Where information_schema names a type otherwise than the DDL that created it.
_INFO_SCHEMA_NAMES = {
    "duckdb": {"timestamptz": "timestamp with time zone"},
    "postgres": {
        "bigint": "bigint",
        "integer": "integer",
        "double": "double precision",
        "varchar": "character varying",
        "boolean": "boolean",
        "timestamp": "timestamp without time zone",
        "timestamptz": "timestamp with time zone",
        "date": "date",
        "json": "jsonb",
    },
}


def expected_type(logical: str, dialect: str) -> str:
    """The type information_schema names for a column created with this logical type."""
    scale = decimal_scale(logical)
    if dialect == "postgres" and scale is not None:
        return f"numeric({scale[0]},{scale[1]})"
    return _INFO_SCHEMA_NAMES.get(dialect, {}).get(logical) or physical_type(logical, dialect)


def physical_schemas(engine: Engine, tables: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Table -> column -> its exact type (PostgreSQL decimals with precision and scale), for every
    named table of the current schema, in one information_schema lookup."""
    if not tables:
        return {}
    if engine.capabilities.versioned_tables:  # its registry, not a catalog, says what a table holds
        return {t: engine.table_columns(t) for t in tables}
    rows = engine.query(sql.physical_schemas_sql(len(tables)), tables)
    schemas: dict[str, dict[str, str]] = {t: {} for t in tables}
    for table, column, data_type, precision, scale in rows:
        name = str(data_type)
        if name == "numeric" and precision is not None:
            name = f"numeric({precision},{scale})"
        schemas[table][column] = name
    return schemas


def schema_mismatches(contract: Contract, physical: Mapping[str, str], dialect: str) -> tuple[str, ...]:
    """Contract columns missing from the table or of another type, exactly (int32 is not int64).
    Columns the contract does not name are allowed: a rolled-back table keeps the columns it added."""
    problems = []
    for column in contract.columns:
        actual = physical.get(column.name)
        if actual is None:
            problems.append(f"{column.name}: missing")
        elif actual.lower() != expected_type(column.type, dialect).lower():
            problems.append(f"{column.name}: expected {column.type}, table has {actual}")
    return tuple(problems)


# --- one aggregate query per table (statements: engines/sql/health.py) -------------------------


def _figures(labels: list[str], values: Sequence[Any], duplicates: int) -> TableFigures:
    named = dict(zip(labels, values, strict=True))
    counts: dict[str, dict[str, int]] = {"nulls": {}, "below_min": {}, "above_max": {}, "not_allowed": {}}
    for label, value in named.items():
        kind, _, column = label.partition(":")
        if kind in counts:
            counts[kind][column] = int(value)
    if "keys" in named:  # a partial read: `duplicates` holds the new keys seen before
        duplicates += int(named["keys"]) - int(named["distinct_keys"])
    return TableFigures(
        rows=int(named["rows"]),
        nulls=counts["nulls"],
        below_min=counts["below_min"],
        above_max=counts["above_max"],
        not_allowed=counts["not_allowed"],
        duplicate_keys=duplicates,
        newest=_utc_wall_time(named.get("newest")),
    )


def _utc_wall_time(value: datetime | None) -> datetime | None:
    """A timestamptz column's newest instant as the UTC wall time a naive one holds."""
    if value is not None and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True)
class Measured:
    figures: TableFigures  # every row of the table
    saved: TableFigures | None  # the rows loaded before the step: kept for the next measure
    scanned_after: int | None  # the step after which rows were read; None: the whole table


@dataclass(frozen=True)
class Measurement:
    """A table's measure, planned: the one statement to run, and how to read its row."""

    sql: str
    labels: tuple[str, ...]
    split: bool
    after: int | None
    base: TableFigures

    def read(self, row: Sequence[Any]) -> Measured:
        width = len(self.labels)
        extras = [int(v) for v in row[width * (2 if self.split else 1) :]] or [0, 0]
        figures = _figures(list(self.labels), row[:width], extras[0])
        if not self.split:
            return Measured(self.base.plus(figures), None, self.after)
        saved = _figures(list(self.labels), row[width : 2 * width], extras[1])
        return Measured(self.base.plus(figures), self.base.plus(saved), self.after)


def plan_measure(
    contract: Contract,
    physical: Mapping[str, str],
    step: int,
    known: tuple[int, TableFigures] | None = None,
    keep: bool = True,
    set_probe: bool = False,
    dialect: Dialect = DUCKDB,
) -> Measurement:
    """The table's figures now, in one query. `known` = (a step, the figures of the rows loaded
    up to it) makes it read only the rows loaded after that step; without it the whole table is
    read. `keep`: also measure what to save for the next measure (the rows loaded before `step`).
    `set_probe`: the engine's Capabilities.stale_plan_risk (see sql.health.figures_sql);
    `dialect`: the one its user tables are written in (dialect_of.dialect_of)."""
    staged = LOADED_STEP in physical
    after = known[0] if known is not None and staged else None
    split = keep and staged
    measures = sql.measures(dialect, contract, physical, partial=after is not None)
    labels = tuple(label for label, _, _ in measures)
    base = known[1] if known is not None and after is not None else TableFigures()
    statement = sql.figures_sql(dialect, contract, physical, after, step, split, set_probe)
    return Measurement(statement, labels, split, after, base)


def measure_table(
    engine: Engine,
    contract: Contract,
    physical: Mapping[str, str],
    step: int,
    known: tuple[int, TableFigures] | None = None,
    keep: bool = True,
) -> Measured:
    risk = engine.capabilities.stale_plan_risk
    planned = plan_measure(contract, physical, step, known, keep, risk, dialect_of(engine))
    return planned.read(engine.query(planned.sql)[0])


def signature(contract: Contract, physical: Mapping[str, str]) -> str:
    """What saved figures belong to: the contract and the table's physical columns and types."""
    from pipefix.domain.serde import to_json

    text = to_json(contract) + json.dumps(sorted(physical.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def saved_figures(engine: Engine) -> dict[str, dict[str, Any]]:
    """Table -> {signature, through (a step), figures} as last saved."""
    text = store.get_setting(engine, FIGURES_SETTING, "{}")
    data: dict[str, dict[str, Any]] = json.loads(text)
    return data


def known_for(saved: Mapping[str, Any] | None, sig: str) -> tuple[int, TableFigures] | None:
    if not saved or saved.get("signature") != sig:
        return None
    return int(saved["through"]), TableFigures.from_plain(saved["figures"])


def save_figures(engine: Engine, entries: Mapping[str, dict[str, Any]]) -> None:
    store.put_setting(engine, FIGURES_SETTING, json.dumps(entries, sort_keys=True))


def judge(
    contract: Contract,
    figures: TableFigures,
    mismatches: tuple[str, ...],
    now: datetime,
    thresholds: Thresholds = Thresholds(),
) -> dict[str, bool]:
    """The table-level checks, from the figures. Freshness fails on a table without a timestamp
    value; a null fraction of a table without rows is undefined, and passes."""
    checks = {
        "schema": not mismatches,
        "not_null": figures.null_violations(contract) == 0,
        "unique_key": figures.duplicate_keys == 0,
        "ranges": figures.range_violations == 0 and figures.value_violations == 0,
        "freshness": contract.freshness_seconds is None
        or (
            figures.newest is not None
            and (now - figures.newest).total_seconds() <= contract.freshness_seconds
        ),
    }
    if thresholds.max_null_fraction:
        fractions = [(figures.null_fraction(c), limit) for c, limit in thresholds.max_null_fraction.items()]
        checks["null_fraction"] = all(f is None or f <= limit for f, limit in fractions)
    if thresholds.min_rows is not None:
        checks["row_count"] = figures.rows >= thresholds.min_rows
    return checks


# --- per-step load figures ---------------------------------------------------------------------


@dataclass(frozen=True)
class StepLoad:
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    drift: tuple[str, ...] = ()
    resent: tuple[Resent, ...] = ()  # files re-sent with bytes already loaded: not in `received`


def step_loads(engine: Engine, step: int) -> dict[str, StepLoad]:
    rows = engine.query(sql.step_loads_sql(state_dialect_of(engine), store.SCHEMA), (step,))
    loads: dict[str, StepLoad] = {}
    for table, received, loaded, quarantined, drift, batch_id, duplicate_of in rows:
        before = loads.get(table, StepLoad())
        if duplicate_of is not None:  # judged once already, under its first name
            resent = Resent(store.file_of(batch_id), int(received), store.file_of(duplicate_of))
            loads[table] = replace(before, resent=(*before.resent, resent))
            continue
        loads[table] = replace(
            before,
            received=before.received + int(received),
            loaded=before.loaded + int(loaded),
            quarantined=before.quarantined + int(quarantined),
            drift=before.drift + tuple(_describe(d) for d in json.loads(drift)),
        )
    return loads


def _describe(drift: dict[str, Any]) -> str:
    return f"{drift['kind']}:{drift['column']}"


def loaded_histories(engine: Engine, before_step: int) -> dict[str, list[int]]:
    """Per table, the rows loaded at each earlier step that loaded any batch, in step order."""
    rows = engine.query(sql.loaded_histories_sql(state_dialect_of(engine), store.SCHEMA), (before_step,))
    histories: dict[str, list[int]] = {}
    for table, _, loaded in rows:
        histories.setdefault(table, []).append(int(loaded))
    return histories


def first_contracts(engine: Engine) -> dict[str, Contract]:
    """Each table's contract version 1 (what v1 readers expect)."""
    from pipefix.domain.serde import from_json

    rows = engine.query(sql.first_contracts_sql(state_dialect_of(engine), store.SCHEMA))
    return {name: from_json(Contract, spec) for name, spec in rows}


def open_quarantine(engine: Engine) -> dict[tuple[str, str], int]:
    rows = engine.query(sql.open_quarantine_sql(state_dialect_of(engine), store.SCHEMA))
    return {(table, kind): int(n) for table, kind, n in rows}


def active_adapter_versions(engine: Engine) -> dict[str, int]:
    """Per table with an active adapter, its version (a table whose adapter was undone: none)."""
    rows = engine.query(sql.active_adapter_versions_sql(state_dialect_of(engine), store.SCHEMA))
    return {str(table): int(version) for table, version in rows}


def received_totals(engine: Engine) -> dict[str, int]:
    """Per table, every row it was ever sent and judged (loaded or held): a held share's base."""
    rows = engine.query(sql.received_totals_sql(state_dialect_of(engine), store.SCHEMA))
    return {table: int(n or 0) for table, n in rows}


def physical_columns(engine: Engine, table: str) -> set[str]:
    return set(columns_of(engine, table))
