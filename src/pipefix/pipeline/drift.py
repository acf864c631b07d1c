"""Drift: how the records a producer actually sends differ from the table's contract."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipefix.pipeline.contracts import Adapter, Contract

# JSON value types as DuckDB's json_type() names them, grouped by the logical types they fit.
_JSON_FITS: dict[str, frozenset[str]] = {
    "bigint": frozenset({"BIGINT", "UBIGINT"}),
    "integer": frozenset({"BIGINT", "UBIGINT"}),
    "double": frozenset({"BIGINT", "UBIGINT", "DOUBLE"}),
    "varchar": frozenset({"VARCHAR"}),
    "boolean": frozenset({"BOOLEAN"}),
    "timestamp": frozenset({"VARCHAR"}),
    "date": frozenset({"VARCHAR"}),
    "json": frozenset({"OBJECT", "ARRAY", "VARCHAR", "BIGINT", "UBIGINT", "DOUBLE", "BOOLEAN"}),
}
_DECIMAL_FITS = frozenset({"BIGINT", "UBIGINT", "DOUBLE"})

# Epoch milliseconds between 2001-09-09 and 2286-11-20: integers this size in a timestamp column
# are almost surely epoch milliseconds rather than seconds.
EPOCH_MS_RANGE = (1_000_000_000_000, 9_999_999_999_999)


@dataclass(frozen=True)
class ObservedField:
    """One record field as seen in a set of raw records (a batch or the quarantine)."""

    name: str
    json_types: frozenset[str]
    rows: int
    min_number: float | None = None
    max_number: float | None = None
    max_decimals: int = 0  # most digits after the point in any numeric value seen
    samples: tuple[str, ...] = ()


class DriftKind(StrEnum):
    ADDED = "column_added"
    REMOVED = "column_removed"
    RETYPED = "type_changed"


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    table: str
    column: str
    expected: str | None = None
    observed: str | None = None
    rows: int = 0
    hint: str | None = None  # e.g. "epoch_ms": how an adapter can map it losslessly

    def __str__(self) -> str:
        if self.kind is DriftKind.ADDED:
            return f"{self.table}.{self.column} added ({self.observed}, {self.rows} rows)"
        if self.kind is DriftKind.REMOVED:
            return f"{self.table}.{self.column} removed (absent from {self.rows} rows)"
        hint = f", looks like {self.hint}" if self.hint else ""
        return (
            f"{self.table}.{self.column} type changed {self.expected} -> {self.observed}"
            f" ({self.rows} rows{hint})"
        )


def fits(logical: str, json_types: frozenset[str]) -> bool:
    allowed = _JSON_FITS.get(logical, _DECIMAL_FITS if logical.startswith("decimal") else None)
    return allowed is not None and json_types <= (allowed | {"NULL"})


def logical_type_of(json_types: frozenset[str], max_decimals: int = 0) -> str:
    """The narrowest logical type holding every observed value exactly.

    Numbers with at most 6 decimals (prices, rates) become decimals, so no value is rounded.
    """
    types = json_types - {"NULL"}
    if not types:
        return "varchar"
    if types <= {"BIGINT", "UBIGINT"}:
        return "bigint"
    if types <= {"BIGINT", "UBIGINT", "DOUBLE"}:
        return f"decimal(18,{max_decimals})" if 0 < max_decimals <= 6 else "double"
    if types == {"BOOLEAN"}:
        return "boolean"
    if types == {"VARCHAR"}:
        return "varchar"
    return "json"


def diff(
    contract: Contract,
    observed: tuple[ObservedField, ...],
    total_rows: int,
    adapter: Adapter | None = None,
) -> tuple[Drift, ...]:
    """Contract vs observed fields. `diff(c, fields_matching(c)) == ()`."""
    if total_rows == 0:
        return ()
    by_name = {f.name: f for f in observed}
    drifts: list[Drift] = []
    consumed = adapter.consumed_fields if adapter else frozenset()
    for column in contract.columns:
        transform = adapter.transform_for(column.name) if adapter else None
        source = transform.source if transform else column.name
        seen = by_name.get(source)
        absent = total_rows - (seen.rows if seen else 0)
        if absent > 0 and not column.nullable:
            drifts.append(Drift(DriftKind.REMOVED, contract.table, column.name, rows=absent))
        # A field sent in only some records is still judged on the records that carry it.
        if seen is not None and transform is None and not fits(column.type, seen.json_types):
            drifts.append(_retyped(contract.table, column.type, seen))
    for name, seen in by_name.items():
        if contract.column(name) is None and name not in consumed:
            observed_type = logical_type_of(seen.json_types, seen.max_decimals)
            drifts.append(
                Drift(DriftKind.ADDED, contract.table, name, observed=observed_type, rows=seen.rows)
            )
    return tuple(drifts)


def _retyped(table: str, expected: str, seen: ObservedField) -> Drift:
    observed = logical_type_of(seen.json_types, seen.max_decimals)
    hint = None
    if (
        expected == "timestamp"
        and observed == "bigint"
        and seen.min_number is not None
        and seen.max_number is not None
        and EPOCH_MS_RANGE[0] <= seen.min_number <= seen.max_number <= EPOCH_MS_RANGE[1]
    ):
        hint = "epoch_ms"
    return Drift(
        DriftKind.RETYPED,
        table,
        seen.name,
        expected=expected,
        observed=observed,
        rows=seen.rows,
        hint=hint,
    )
