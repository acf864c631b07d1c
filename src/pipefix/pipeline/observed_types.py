"""The types observed record values need: what a column of each logical type takes, the
narrowest type holding every value sent exactly, and the lossless widening of a numeric column.
Pure: figures of raw records in (a batch's or the quarantine's), types out."""

from __future__ import annotations

from dataclasses import dataclass

from pipefix.pipeline.contracts import decimal_scale
from pipefix.pipeline.infer import ROOMY_PRECISION, decimal_for

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
DECIMAL_FITS = frozenset({"BIGINT", "UBIGINT", "DOUBLE"})
_INTEGERS = frozenset({"BIGINT", "UBIGINT", "NULL"})
_NUMBERS = DECIMAL_FITS | {"NULL"}
_INT32 = (-(2**31), 2**31 - 1)

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


def fitting(logical: str) -> frozenset[str] | None:
    """The JSON value types a column of type `logical` takes; None for a type it knows none of."""
    return _JSON_FITS.get(logical, DECIMAL_FITS if logical.startswith("decimal") else None)


def fits(logical: str, json_types: frozenset[str]) -> bool:
    allowed = fitting(logical)
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
            return "bigint" if expected == "integer" and overflows(expected, seen) else None
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


def overflows(logical: str, seen: ObservedField) -> bool:
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
