"""Drift: how the records a producer actually sends differ from the table's contract."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pipefix.pipeline.contracts import Adapter, Contract, is_usable_column_name, type_family

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
    RENAMED = "column_renamed"
    RETYPED = "type_changed"
    NULLABLE = "nulls_in_required_column"
    NEW_VALUE = "new_allowed_value"


# The config's policy key for each kind of change.
POLICY_KEYS = {
    DriftKind.ADDED: "add_column",
    DriftKind.REMOVED: "remove_column",
    DriftKind.RENAMED: "rename_column",
    DriftKind.RETYPED: "type_change",
    DriftKind.NULLABLE: "type_change",
    DriftKind.NEW_VALUE: "type_change",
}
# A value outside a column's allowed list is a producer change, not noise, once it is this
# common in a batch: below it, it stays a bad value, held in quarantine.
NEW_VALUE_SHARE = 0.05
NEW_VALUE_MIN_ROWS = 10
# Confidence (weighed from the evidence by pipeline/renames.py) from which an added column is
# taken to be a removed one renamed; from RENAME_ASK up to it, a person decides (the fix waits).
RENAME_CONFIDENCE = 0.8
RENAME_ASK = 0.6


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    table: str
    column: str
    expected: str | None = None
    observed: str | None = None
    rows: int = 0
    hint: str | None = None  # e.g. "epoch_ms": how an adapter can map it losslessly
    confidence: float | None = None  # renames: how sure, weighed from the evidence (renames.py)

    def __str__(self) -> str:
        if self.kind is DriftKind.ADDED and self.observed is None:
            return (
                f"{self.table}: a field named {self.column!r} added ({self.rows} rows); "
                "not a plain name, so it cannot become a column"
            )
        if self.kind is DriftKind.ADDED:
            return f"{self.table}.{self.column} added ({self.observed}, {self.rows} rows)"
        if self.kind is DriftKind.REMOVED:
            return f"{self.table}.{self.column} removed (absent from {self.rows} rows)"
        if self.kind is DriftKind.RENAMED:
            return (
                f"{self.table}.{self.column} renamed to {self.observed} "
                f"({self.rows} rows, confidence {self.confidence or 0:.0%})"
            )
        if self.kind is DriftKind.NULLABLE:
            return f"{self.table}.{self.column} now sent as null ({self.rows} rows)"
        if self.kind is DriftKind.NEW_VALUE:
            return f"{self.table}.{self.column} has a new value {self.observed!r} ({self.rows} rows)"
        hint = f", looks like {self.hint}" if self.hint else ""
        return (
            f"{self.table}.{self.column} type changed {self.expected} -> {self.observed}"
            f" ({self.rows} rows{hint})"
        )


def _fitting(logical: str) -> frozenset[str] | None:
    return _JSON_FITS.get(logical, _DECIMAL_FITS if logical.startswith("decimal") else None)


def fits(logical: str, json_types: frozenset[str]) -> bool:
    allowed = _fitting(logical)
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
        elif seen is not None and "NULL" in seen.json_types and not column.nullable:
            drifts.append(Drift(DriftKind.NULLABLE, contract.table, column.name, rows=seen.rows))
        # A field sent in only some records is still judged on the records that carry it.
        if (
            seen is not None
            and transform is None
            and (not fits(column.type, seen.json_types) or _overflows(column.type, seen))
        ):
            drifts.append(_retyped(contract.table, column.type, seen))
    added = [n for n in by_name if contract.column(n) is None and n not in consumed]
    if added:
        # An optional column gone from every record while another appeared may be a rename:
        # reported, so that a diagnosis can compare their values.
        for column in contract.columns:
            transform = adapter.transform_for(column.name) if adapter else None
            if column.nullable and (transform.source if transform else column.name) not in by_name:
                drifts.append(Drift(DriftKind.REMOVED, contract.table, column.name, rows=total_rows))
    for name, seen in by_name.items():
        if contract.column(name) is None and name not in consumed:
            # observed None: no type to migrate to, so no repair is planned and the rows stay held.
            usable = is_usable_column_name(name)
            observed_type = logical_type_of(seen.json_types, seen.max_decimals) if usable else None
            drifts.append(
                Drift(DriftKind.ADDED, contract.table, name, observed=observed_type, rows=seen.rows)
            )
    return tuple(drifts)


_INT32 = (-(2**31), 2**31 - 1)


def _overflows(logical: str, seen: ObservedField) -> bool:
    """Integers past a 32-bit `integer` column: a lossless widening to bigint, not bad values."""
    if logical != "integer" or seen.min_number is None or seen.max_number is None:
        return False
    return seen.min_number < _INT32[0] or seen.max_number > _INT32[1]


def _retyped(table: str, expected: str, seen: ObservedField) -> Drift:
    # Values that fit the column (sent by records held for another reason) say nothing about
    # the change: it is named from the values that do not, so that one bad row beside them
    # does not turn epoch milliseconds into "json" and block their repair.
    unfit = seen.json_types - (_fitting(expected) or frozenset()) - {"NULL"}
    observed = logical_type_of(unfit or seen.json_types, seen.max_decimals)
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


_NOT_ALLOWED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): value not allowed: (.+)$")


def new_values(contract: Contract, reasons: list[tuple[str, int]], total_rows: int) -> tuple[Drift, ...]:
    """New allowed values, from the reasons of rejected rows: one value outside an enum column's
    list, carried by at least NEW_VALUE_SHARE of the rows and NEW_VALUE_MIN_ROWS rows."""
    if total_rows == 0:
        return ()
    drifts = []
    for reason, count in reasons:
        match = _NOT_ALLOWED.match(reason)
        column = contract.column(match.group(1)) if match else None
        if (
            match
            and column is not None
            and column.values is not None
            and count >= NEW_VALUE_MIN_ROWS
            and count / total_rows >= NEW_VALUE_SHARE
        ):
            drifts.append(
                Drift(DriftKind.NEW_VALUE, contract.table, column.name, observed=match.group(2), rows=count)
            )
    return tuple(drifts)


def rename_candidates(
    contract: Contract, drifts: tuple[Drift, ...], total_rows: int
) -> list[tuple[Drift, Drift]]:
    """(removed, added) pairs of the same kind of type: renames, if the evidence says so
    (pipeline/renames.py weighs it).

    Only a column gone from every one of the `total_rows` records counts. A required column is
    reported removed when some records lack it, and a record that sends it beside the added
    column shows it was not renamed to that column: mapped by an adapter, the record's own
    value would be replaced by the added column's.
    """
    removed = [d for d in drifts if d.kind is DriftKind.REMOVED and d.rows >= total_rows]
    added = [d for d in drifts if d.kind is DriftKind.ADDED and d.observed is not None]
    pairs = []
    for gone in removed:
        spec = contract.column(gone.column)
        for new in added:
            if (
                spec is not None
                and new.observed is not None
                and type_family(spec.type) == type_family(new.observed)
            ):
                pairs.append((gone, new))
    return pairs


def with_renames(drifts: tuple[Drift, ...], confidences: dict[tuple[str, str], float]) -> tuple[Drift, ...]:
    """Replace each (removed, added) pair whose confidence reaches RENAME_ASK by one rename (the
    most confident first; below RENAME_CONFIDENCE its fix waits for a person); pairs below it
    stay a removal plus an addition."""
    best: dict[str, tuple[str, float]] = {}
    for (old, new), sure in sorted(confidences.items(), key=lambda item: -item[1]):
        taken = {n for n, _ in best.values()}
        if sure >= RENAME_ASK and old not in best and new not in taken:
            best[old] = (new, sure)
    if not best:
        return drifts
    renamed_to = {new for new, _ in best.values()}
    kept = [
        d
        for d in drifts
        if not (d.kind is DriftKind.REMOVED and d.column in best)
        and not (d.kind is DriftKind.ADDED and d.column in renamed_to)
    ]
    rows = {d.column: d.rows for d in drifts if d.kind is DriftKind.ADDED}
    renames = [
        Drift(
            DriftKind.RENAMED,
            drifts[0].table,
            old,
            observed=new,
            rows=rows.get(new, 0),
            confidence=round(sure, 3),
        )
        for old, (new, sure) in best.items()
    ]
    return (*renames, *kept)
