"""Drift: how the records a producer actually sends differ from the table's contract.

The types observed values need are read in pipeline/observed_types.py; the drifts found here are
weighed against a diagnosis' evidence (renames, conversions) in pipeline/drift_diagnosis.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from pipefix.pipeline import contracts, conversions
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.infer import column_names
from pipefix.pipeline.observed_types import (
    DECIMAL_FITS,
    ObservedField,
    fits,
    fitting,
    observed_type,
    overflows,
    widened_type,
)


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
    source: str | None = None  # an added column: the record field, when it is not the column's name
    # Values sent in another vocabulary (pipeline/vocabulary.py, hint "value_map"): the mapping an
    # adapter applies (text sent -> text stored) and the evidence, held rows per text sent.
    mapping: tuple[tuple[str, str], ...] = ()
    values: tuple[tuple[str, int], ...] = ()

    @property
    def field(self) -> str:
        """The record field an added column is read from."""
        return self.source if self.source is not None else self.column

    @property
    def shown(self) -> str:
        """The column, with the name it was sent as when that cannot be a column's."""
        return self.column if self.source is None else f"{self.column} (sent as {json.dumps(self.source)})"

    def __str__(self) -> str:
        if self.kind is DriftKind.ADDED and self.observed is None:
            return (
                f"{self.table}: a field named {json.dumps(self.field)} added ({self.rows} rows); "
                "no column type holds its values exactly (numbers of more than 38 digits)"
            )
        if self.kind is DriftKind.ADDED:
            return f"{self.table}.{self.shown} added ({self.observed}, {self.rows} rows)"
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
        if self.hint == conversions.VALUE_MAP:
            rows = dict(self.values)
            mapped = ", ".join(
                f"{contracts.shown_text(sent)}→{stored}" + (f" ×{rows[sent]}" if sent in rows else "")
                for sent, stored in self.mapping
            )
            return (
                f"{self.table}.{self.column} sent in another vocabulary ({self.rows} rows): {mapped}; "
                f"confidence {self.confidence or 0:.0%}"
            )
        hint = f", {conversions.describe_hint(self.hint)}" if self.hint else ""
        return (
            f"{self.table}.{self.column} type changed {self.expected} -> {self.observed}"
            f" ({self.rows} rows{hint})"
        )


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
        # A field sent in only some records is still judged on the records that carry it. A
        # field read under another name (`unit price` into `unit_price`) can outgrow it too.
        renamed = transform is not None and transform.kind is contracts.TransformKind.RENAME
        if seen is not None and (
            (transform is None and (not fits(column.type, seen.json_types) or overflows(column.type, seen)))
            or (renamed and overflows(column.type, seen))
        ):
            drifts.append(_retyped(contract.table, column.type, seen, column.name))
    added = [n for n in by_name if contract.column(n) is None and n not in consumed]
    if added:
        # An optional column gone from every record while another appeared may be a rename:
        # reported, so that a diagnosis can compare their values.
        for column in contract.columns:
            transform = adapter.transform_for(column.name) if adapter else None
            if column.nullable and (transform.source if transform else column.name) not in by_name:
                drifts.append(Drift(DriftKind.REMOVED, contract.table, column.name, rows=total_rows))
    columns = added_columns(contract, added)
    for name in added:
        # observed None: no type holds the values exactly, so no repair is planned; rows stay held.
        logical = observed_type(by_name[name])
        drifts.append(
            Drift(
                DriftKind.ADDED,
                contract.table,
                columns[name],
                observed=None if logical == "double" else logical,
                rows=by_name[name].rows,
                source=None if columns[name] == name else name,
            )
        )
    return tuple(drifts)


def added_columns(contract: Contract, fields: list[str]) -> dict[str, str]:
    """Field -> column for fields new to the contract. A plain name keeps it, unless a column
    or another new field has it ignoring case (warehouses fold case: `group` and `Group` would
    be one column); any other field gets a plain name, read from it by the table's adapter
    (infer.column_names: `Height(inches)` -> `height_inches`, `Group` -> `group_2`). Lowercase
    names choose first, so the columns depend on the names sent, not on their order."""
    ordered = sorted(fields, key=lambda f: (f != f.lower(), f))
    return column_names(ordered, taken=contract.column_names)


def _retyped(table: str, expected: str, seen: ObservedField, column: str) -> Drift:
    # Values that fit the column (sent by records held for another reason) say nothing about
    # the change: it is named from the values that do not, so that one bad row beside them
    # does not turn epoch milliseconds into "json" and block their repair.
    unfit = seen.json_types - (fitting(expected) or frozenset()) - {"NULL"}
    observed = widened_type(expected, seen) or observed_type(seen, unfit or None)
    hint = _conversion_hint(expected, unfit, seen)
    return Drift(
        DriftKind.RETYPED,
        table,
        column,
        expected=expected,
        observed=observed,
        rows=seen.rows,
        hint=hint,
    )


def _conversion_hint(expected: str, unfit: frozenset[str], seen: ObservedField) -> str | None:
    """The conversion the figures suggest (the diagnosis tries each held value to be sure:
    with_conversions): numbers the size of epoch seconds, milliseconds or microseconds in a
    timestamp column, numbers or true/false sent as text."""
    low, high = seen.min_number, seen.max_number
    if expected == "timestamp" and unfit and unfit <= DECIMAL_FITS and low is not None and high is not None:
        for unit, (first, last, digits, _) in conversions.EPOCH_UNITS.items():
            if first <= low and high < last + 1 and seen.max_decimals <= digits:
                return unit
    if unfit == {"VARCHAR"} and conversions.FROM_TEXT in conversions.candidates(expected):
        booleans = expected == "boolean" and bool(seen.samples) and set(seen.samples) <= {"true", "false"}
        if (low is not None and seen.json_types - {"NULL"} == {"VARCHAR"}) or booleans:
            return conversions.FROM_TEXT
    return None


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
