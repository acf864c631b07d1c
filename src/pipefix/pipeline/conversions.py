"""Lossless conversions, and variant columns for the values none can keep. Pure.

A producer may send a column's values in another form than its type: integers, decimals and
booleans as strings ("2012884", "403.00", "true"), timestamps as epoch seconds, milliseconds or
microseconds, or written in another format than ISO 8601 ("Mon, 19 Jun 2023 14:20:23 -0400",
"06/19/2023 02:20:23 PM"). Each form is a conversion an adapter applies (a TransformKind), value
by value in the judge's SQL (engines/sql/conversions.py): a value whose text does not convert
exactly is held with its reason, the others load.

Which conversion a column needs is read on the held values themselves: each value is tried
under every candidate, and the one that reads the most is chosen, unless the values can be read
two ways (01/02/2023: day-first or month-first) and none decides — then nothing is guessed.

A value no conversion keeps can still load, kept exactly as sent, in a variant column (dlt's
convention: `amount__varchar` beside `amount`): the column itself is NULL on that row. A required
column stays required unless its variant holds the row's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipefix.pipeline.contracts import ColumnTransform, Contract, TransformKind, is_usable_column_name

FROM_TEXT = "from_text"
FORMAT = "format:"  # a hint naming a strptime pattern: "format:%m/%d/%Y"
VARIANT = "variant"  # a hint: no conversion keeps these values; a variant column can
AMBIGUOUS = "ambiguous"  # a hint: the values read two ways, and nothing decides which
VALUE_MAP = "value_map"  # a hint: values sent in another vocabulary, mapped (pipeline/vocabulary.py)
NOT_GUESSED = "not guessed"  # a hint: a vocabulary no mapping is guessed for, with the one needed

# Epoch units by magnitude, between 2001-09-09 and 2286-11-20 in each: (lowest, highest integer
# part, digits of a fraction kept to the microsecond, microseconds per unit). The ranges do not
# overlap, so a value's size says which unit it is in.
EPOCH_UNITS: dict[str, tuple[int, int, int, int]] = {
    "epoch_s": (10**9, 10**10 - 1, 6, 1_000_000),
    "epoch_ms": (10**12, 10**13 - 1, 3, 1_000),
    "epoch_us": (10**15, 10**16 - 1, 0, 1),
}
EPOCH_KINDS = {
    "epoch_s": TransformKind.EPOCH_S_TO_TIMESTAMP,
    "epoch_ms": TransformKind.EPOCH_MS_TO_TIMESTAMP,
    "epoch_us": TransformKind.EPOCH_US_TO_TIMESTAMP,
}
_UNIT_NAMES = {"epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds", "epoch_us": "epoch microseconds"}

# Text formats other than ISO 8601 (which a timestamp or date column reads as it is), as strptime
# patterns with zero-padded fields; a value written without the padding ("6/9/2023 2:20:23 PM")
# reads too. `%z` only at the end. A pattern and the one with its day and month swapped read the
# same text two ways: such a pair is decided by a value whose day is above 12, or not at all.
TIMESTAMP_FORMATS = (
    "%a, %d %b %Y %H:%M:%S %z",  # RFC 2822
    "%d %b %Y %H:%M:%S %z",
    "%m/%d/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
)
DATE_FORMATS = ("%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d %b %Y", "%b %d, %Y", "%a, %d %b %Y")
_UNPADDED = (("%d", "%-d"), ("%m", "%-m"), ("%I", "%-I"), ("%H", "%-H"))

# Types whose values no conversion reads and no variant is kept for: any JSON value is text or JSON.
_NO_VARIANT = frozenset({"varchar", "json"})
VARIANT_SUFFIX = "__varchar"


def unpadded(pattern: str) -> str:
    """The pattern with day, month and hour written without a leading zero."""
    for padded, bare in _UNPADDED:
        pattern = pattern.replace(padded, bare)
    return pattern


def swapped(pattern: str) -> str | None:
    """The pattern reading day and month the other way round, when that is another candidate."""
    if "%d" not in pattern or "%m" not in pattern:
        return None
    other = pattern.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    return other if other in TIMESTAMP_FORMATS + DATE_FORMATS else None


def has_zone(pattern: str) -> bool:
    return pattern.endswith(" %z")


def candidates(logical: str) -> tuple[str, ...]:
    """The conversions that may read values sent to a column of this type, as hints."""
    if logical in ("bigint", "integer", "double", "boolean") or logical.startswith("decimal"):
        return (FROM_TEXT,)
    if logical == "timestamp":
        return (*EPOCH_UNITS, *(FORMAT + p for p in TIMESTAMP_FORMATS + DATE_FORMATS))
    if logical == "date":
        return tuple(FORMAT + p for p in DATE_FORMATS)
    return ()


def is_conversion(hint: str | None) -> bool:
    """Does this drift hint name a conversion an adapter applies?"""
    return hint is not None and (hint == FROM_TEXT or hint in EPOCH_UNITS or hint.startswith(FORMAT))


def transform_for(column: str, source: str, hint: str) -> ColumnTransform:
    """The adapter transform a conversion hint stands for; `source` the field read."""
    if hint in EPOCH_KINDS:
        return ColumnTransform(column, EPOCH_KINDS[hint], source)
    if hint.startswith(FORMAT):
        return ColumnTransform(column, TransformKind.STRPTIME, source, hint.removeprefix(FORMAT))
    if hint == FROM_TEXT:
        return ColumnTransform(column, TransformKind.FROM_TEXT, source)
    raise ValueError(f"not a conversion: {hint!r}")


def describe_hint(hint: str) -> str:
    """How a drift names a hint: what the values look like, or why nothing is done."""
    if hint in _UNIT_NAMES:
        return f"looks like {hint}: {_UNIT_NAMES[hint]}, converted exactly"
    if hint == FROM_TEXT:
        return "sent as text that converts exactly"
    if hint.startswith(FORMAT):
        pattern = hint.removeprefix(FORMAT)
        zone = "" if has_zone(pattern) else "; no zone: stored as written"
        return f"text written as {pattern!r}{zone}"
    if hint == VARIANT:
        return "no exact conversion: a variant column can keep them as sent"
    if hint.startswith((AMBIGUOUS, NOT_GUESSED)):
        return hint
    return f"looks like {hint}"


# --- variant columns ------------------------------------------------------------------------


def variant_name(column: str) -> str:
    return column + VARIANT_SUFFIX


def variants(contract: Contract) -> dict[str, str]:
    """{column: its variant column} for every variant the contract has."""
    found = {}
    for column in contract.columns:
        base = column.name.removesuffix(VARIANT_SUFFIX)
        spec = contract.column(base) if column.name.endswith(VARIANT_SUFFIX) else None
        if spec is not None and spec.type not in _NO_VARIANT and column.type == "varchar":
            found[base] = column.name
    return found


def may_have_variant(contract: Contract, column: str) -> bool:
    """A column whose values no conversion keeps may get a variant: not the key (a key must be
    typed to be compared), not text or JSON (they hold any value), under a usable name."""
    spec = contract.column(column)
    return (
        spec is not None
        and column != contract.key
        and spec.type not in _NO_VARIANT
        and is_usable_column_name(variant_name(column))
        and contract.column(variant_name(column)) is None
    )


# --- choosing a conversion from the held values -------------------------------------------------


@dataclass(frozen=True)
class HeldValues:
    """The values of one column the contract (and its adapter) cannot type, among held rows:
    grouped by the conversions that read each exactly; `sample` one value of each group."""

    column: str
    json_types: frozenset[str]
    groups: tuple[tuple[tuple[str, ...], int, str], ...]  # (conversions, rows, sample)

    @property
    def rows(self) -> int:
        return sum(rows for _, rows, _ in self.groups)


@dataclass(frozen=True)
class Choice:
    conversion: str | None  # the hint of the chosen conversion, None when none is chosen
    rows: int  # the held rows it reads
    ambiguity: str | None = None  # why none is chosen although some read the values


def choose(groups: tuple[tuple[tuple[str, ...], int, str], ...], order: tuple[str, ...]) -> Choice:
    """The conversion reading the most held rows (the first in `order` on a tie); none when its
    day/month twin reads values it does not, or reads every value it reads."""
    reads: Mapping[str, int] = {c: sum(n for names, n, _ in groups if c in names) for c in order}
    best = max(order, key=lambda c: reads[c], default=None)
    if best is None or reads[best] == 0:
        return Choice(None, 0)
    pattern = best.removeprefix(FORMAT) if best.startswith(FORMAT) else None
    twin = swapped(pattern) if pattern else None
    if twin is not None:
        other = FORMAT + twin
        only_other = [(n, s) for names, n, s in groups if other in names and best not in names]
        only_best = [n for names, n, _ in groups if best in names and other not in names]
        both = next((s for names, _, s in groups if best in names and other in names), "")
        if only_other:
            return Choice(
                None,
                0,
                f"{AMBIGUOUS}: some values read only as {pattern!r} (day and month one way), "
                f"others only as {twin!r} ({only_other[0][1]!r})",
            )
        if not only_best:
            return Choice(
                None,
                0,
                f"{AMBIGUOUS}: {both!r} reads as {pattern!r} or as {twin!r}, and no value has a "
                "day above 12 to decide",
            )
    return Choice(best, reads[best])


def awaits_values(hint: str | None) -> bool:
    """An ambiguity more values may settle (a day above 12): worth a new look when more come."""
    return hint is not None and hint.startswith(AMBIGUOUS)
