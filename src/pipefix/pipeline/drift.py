"""Drift: how the records a producer actually sends differ from the table's contract."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from pipefix.pipeline import contracts, conversions
from pipefix.pipeline.contracts import Adapter, Contract, decimal_scale, type_family
from pipefix.pipeline.infer import ROOMY_PRECISION, column_names, decimal_for

# JSON value types as DuckDB's json_type() names them, grouped by the logical types they fit.
_JSON_FITS: dict[str, frozenset[str]] = {
    "bigint": frozenset({"BIGINT", "UBIGINT"}),
    "integer": frozenset({"BIGINT", "UBIGINT"}),
    "double": frozenset({"BIGINT", "UBIGINT", "DOUBLE"}),
    "varchar": frozenset({"VARCHAR"}),
    "boolean": frozenset({"BOOLEAN"}),
    "timestamp": frozenset({"VARCHAR"}),
    "timestamptz": frozenset({"VARCHAR"}),
    "date": frozenset({"VARCHAR"}),
    "json": frozenset({"OBJECT", "ARRAY", "VARCHAR", "BIGINT", "UBIGINT", "DOUBLE", "BOOLEAN"}),
}
_DECIMAL_FITS = frozenset({"BIGINT", "UBIGINT", "DOUBLE"})
_INTEGERS = frozenset({"BIGINT", "UBIGINT", "NULL"})
_NUMBERS = _DECIMAL_FITS | {"NULL"}

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
    max_decimals: int = 0  # most digits after the point in any number, as sent (1.50: 2)
    samples: tuple[str, ...] = ()
    max_digits: int = 0  # most digits before the point in any number, as sent
    exact_decimals: int = 0  # fewest digits after the point that hold every number (1.50: 1)
    past_bigint: bool = False  # a whole number no 64-bit integer holds
    text_kinds: frozenset[str] = frozenset()  # how its strings read: timestamptz, timestamp, text


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


def _fitting(logical: str) -> frozenset[str] | None:
    return _JSON_FITS.get(logical, _DECIMAL_FITS if logical.startswith("decimal") else None)


def fits(logical: str, json_types: frozenset[str]) -> bool:
    allowed = _fitting(logical)
    return allowed is not None and json_types <= (allowed | {"NULL"})


def logical_type_of(
    json_types: frozenset[str],
    max_decimals: int = 0,
    max_digits: int = 0,
    past_bigint: bool = False,
    text_kinds: frozenset[str] = frozenset(),
) -> str:
    """The narrowest logical type holding every observed value exactly, read on the text sent.

    Whole numbers are bigint (decimal(38,0) past 64 bits); other numbers a decimal with the most
    digits sent after the point and room before it (infer.decimal_for, as `init --from` types
    them); `double` only for numbers no decimal holds (over 38 digits), which no type keeps
    exactly. Strings that are all ISO-8601 timestamps, some with an offset, are `timestamptz`.
    """
    types = json_types - {"NULL"}
    if not types:
        return "varchar"
    if types <= _INTEGERS and not past_bigint:
        return "bigint"
    if types <= _NUMBERS:
        return decimal_for(max_digits, max_decimals) or "double"
    if types == {"BOOLEAN"}:
        return "boolean"
    if types == {"VARCHAR"}:
        stamps = "timestamptz" in text_kinds and text_kinds <= {"timestamptz", "timestamp"}
        return "timestamptz" if stamps else "varchar"
    return "json"


def observed_type(seen: ObservedField, json_types: frozenset[str] | None = None) -> str:
    """logical_type_of() the field's values (or those of `json_types` among them)."""
    return logical_type_of(
        seen.json_types if json_types is None else json_types,
        seen.max_decimals,
        seen.max_digits,
        seen.past_bigint,
        seen.text_kinds,
    )


def widened_type(expected: str, seen: ObservedField) -> str | None:
    """The type a numeric column of type `expected` can be altered to without loss so that it
    also holds every number seen exactly; None when the values are not all numbers, when the
    column already holds them, or when no such type exists (past decimal(38,s)).

    Integers widen to bigint, then decimal(38,0); fractions make a decimal with at least the
    column's digits before the point and the sent ones after it (room to grow: precision 18).
    """
    if not seen.json_types - {"NULL"} or not seen.json_types <= _NUMBERS:
        return None
    scale = decimal_scale(expected)
    if scale is not None:
        before, after = scale[0] - scale[1], scale[1]
    elif expected in ("integer", "bigint"):
        if seen.past_bigint and seen.exact_decimals == 0:
            return "decimal(38,0)" if seen.max_digits <= 38 else None
        if "DOUBLE" not in seen.json_types:  # whole numbers the column takes, maybe too wide
            return "bigint" if expected == "integer" and _overflows(expected, seen) else None
        before, after = {"integer": 10, "bigint": 19}[expected], 0
    else:
        return None
    digits = max(before, seen.max_digits)
    decimals = max(after, seen.max_decimals)
    if digits + decimals > 38:  # the digits sent after the point if they fit, else those needed
        decimals = max(after, seen.exact_decimals)
    if digits + decimals > 38 or (scale is not None and (digits, decimals) == (before, after)):
        return None
    return f"decimal({max(digits + decimals, ROOMY_PRECISION)},{decimals})"


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
            (transform is None and (not fits(column.type, seen.json_types) or _overflows(column.type, seen)))
            or (renamed and _overflows(column.type, seen))
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


_INT32 = (-(2**31), 2**31 - 1)


def _overflows(logical: str, seen: ObservedField) -> bool:
    """Numbers of a kind the column takes, past what it holds: integers past 32 or 64 bits,
    more digits before or after a decimal's point. A lossless widening, not bad values."""
    scale = decimal_scale(logical)
    if scale is not None:
        return seen.max_digits > scale[0] - scale[1] or seen.exact_decimals > scale[1]
    if logical == "bigint" or seen.past_bigint:
        return logical in ("integer", "bigint") and seen.past_bigint
    if logical != "integer" or seen.min_number is None or seen.max_number is None:
        return False
    return seen.min_number < _INT32[0] or seen.max_number > _INT32[1]


def _retyped(table: str, expected: str, seen: ObservedField, column: str) -> Drift:
    # Values that fit the column (sent by records held for another reason) say nothing about
    # the change: it is named from the values that do not, so that one bad row beside them
    # does not turn epoch milliseconds into "json" and block their repair.
    unfit = seen.json_types - (_fitting(expected) or frozenset()) - {"NULL"}
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
    if expected == "timestamp" and unfit and unfit <= _DECIMAL_FITS and low is not None and high is not None:
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
    # The field as sent, when its name is not the column's: what the adapter reads.
    sources = {d.column: d.source for d in drifts if d.kind is DriftKind.ADDED}
    renames = [
        Drift(
            DriftKind.RENAMED,
            drifts[0].table,
            old,
            observed=new,
            rows=rows.get(new, 0),
            confidence=round(sure, 3),
            source=sources.get(new),
        )
        for old, (new, sure) in best.items()
    ]
    return (*renames, *kept)


def with_conversions(
    contract: Contract,
    adapter: Adapter | None,
    drifts: tuple[Drift, ...],
    held: tuple[conversions.HeldValues, ...],
) -> tuple[Drift, ...]:
    """The retyped columns as their held values show them, each value tried under every
    conversion (engines/conversions.py): a conversion for the rows it reads exactly, a variant
    for the others (hint "variant"), or why none is chosen ("ambiguous: ..."). A column whose
    held numbers a lossless widening repairs is left to it; one whose adapter already converts
    gets no second conversion (its values would flip between the two), only a variant."""
    found: dict[str, list[Drift]] = {}
    for values in held:
        spec = contract.column(values.column)
        if spec is None or values.rows == 0:
            continue
        variant = conversions.may_have_variant(contract, spec.name)
        options = conversions.candidates(spec.type)
        retyped = [d for d in drifts if d.kind is DriftKind.RETYPED and d.column == spec.name]
        widened = any(contracts.is_lossless_widening(spec.type, d.observed or "") for d in retyped)
        if (not options and not variant) or (widened and values.json_types <= _DECIMAL_FITS):
            continue
        observed = retyped[0].observed if retyped else logical_type_of(values.json_types)
        transform = adapter.transform_for(spec.name) if adapter else None
        if transform is not None and transform.kind is not contracts.TransformKind.RENAME:
            options = ()
        choice = conversions.choose(values.groups, options)
        changes: list[tuple[int, str | None]] = []
        if choice.conversion is not None:
            changes.append((choice.rows, choice.conversion))
        if values.rows > choice.rows:
            hint = choice.ambiguity or (conversions.VARIANT if variant else None)
            changes.append((values.rows - choice.rows, hint))
        found[spec.name] = [
            Drift(DriftKind.RETYPED, contract.table, spec.name, spec.type, observed, rows, hint)
            for rows, hint in changes
        ]
    kept = [d for d in drifts if not (d.kind is DriftKind.RETYPED and d.column in found)]
    return (*kept, *(d for changes in found.values() for d in changes))
