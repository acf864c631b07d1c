"""Per-table data contracts, their versions, and the adapters that map drifted records onto them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")

# Logical column types a contract may use. Engines map them to their dialect.
# `timestamp` holds instants as UTC wall times (naive means UTC); `timestamptz` holds instants as
# such (DuckDB TIMESTAMPTZ, PostgreSQL timestamptz, Spark TIMESTAMP_LTZ in a UTC session).
SIMPLE_TYPES = frozenset(
    {"bigint", "integer", "double", "varchar", "boolean", "timestamp", "timestamptz", "date", "json"}
)

# (from, to) pairs an ALTER can apply without changing or losing any value.
LOSSLESS_WIDENINGS = frozenset(
    {
        ("integer", "bigint"),
        ("integer", "double"),
        ("bigint", "decimal(38,0)"),
        ("timestamp", "timestamptz"),  # a naive timestamp is a UTC time: the same instant
    }
)


_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def is_usable_column_name(name: str) -> bool:
    """A field a producer sends can become a column only under a plain name (the same rule as
    a config's names); any other field is held, never turned into DDL."""
    return bool(_COLUMN_NAME.fullmatch(name)) and not name.lower().startswith(("pipefix", "_pipefix"))


def type_family(logical: str) -> str:
    """numeric, text, time, bool or json: types whose values can stand for one another."""
    if logical in ("bigint", "integer", "double") or logical.startswith("decimal"):
        return "numeric"
    if logical in ("timestamp", "timestamptz", "date"):
        return "time"
    return {"varchar": "text", "boolean": "bool"}.get(logical, "json")


def is_lossless_widening(old: str, new: str) -> bool:
    """Can a column of type `old` become `new` with every value it may hold kept exactly?
    LOSSLESS_WIDENINGS, and decimals with no fewer digits before and after the point."""
    if (old, new) in LOSSLESS_WIDENINGS:
        return True
    wider = decimal_scale(new)
    if wider is None:
        return False
    narrower = decimal_scale(old)
    if narrower is None:  # a whole number: a 32-bit integer has 10 digits, a bigint 19
        digits = {"integer": 10, "bigint": 19}.get(old)
        return digits is not None and wider[0] - wider[1] >= digits
    return wider[1] >= narrower[1] and wider[0] - wider[1] >= narrower[0] - narrower[1]


def is_valid_type(logical: str) -> bool:
    if logical in SIMPLE_TYPES:
        return True
    scale = decimal_scale(logical)
    return scale is not None and 1 <= scale[0] <= 38 and scale[1] <= scale[0]


def decimal_scale(logical: str) -> tuple[int, int] | None:
    match = _DECIMAL.match(logical)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not is_valid_type(self.type):
            raise ValueError(f"column {self.name!r}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Contract:
    table: str
    version: int
    columns: tuple[ColumnSpec, ...]
    key: str | None = None
    freshness_column: str | None = None
    freshness_seconds: int | None = None

    @property
    def label(self) -> str:
        return f"v{self.version}.0"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.name == name), None)

    def next_version(self, columns: tuple[ColumnSpec, ...]) -> Contract:
        return replace(self, version=self.version + 1, columns=columns)


class TransformKind(StrEnum):
    RENAME = "rename"  # take the value from another field of the record
    # Lossless conversions (pipeline/conversions.py): each value is converted only when its text
    # converts exactly; any other is held with its reason.
    EPOCH_S_TO_TIMESTAMP = "epoch_s_to_timestamp"  # epoch seconds, a fraction to the microsecond
    EPOCH_MS_TO_TIMESTAMP = "epoch_ms_to_timestamp"  # epoch milliseconds -> timestamp
    EPOCH_US_TO_TIMESTAMP = "epoch_us_to_timestamp"  # epoch microseconds -> timestamp
    FROM_TEXT = "from_text"  # a number or true/false sent as a string, into the column's type
    STRPTIME = "strptime"  # a timestamp or date written in `format`, not ISO 8601
    # Values sent in another vocabulary (pipeline/vocabulary.py): yes/no for a boolean, OPEN for
    # an enum's `open`; each mapped through `mapping`, any other value held with the mapping named.
    VALUE_MAP = "value_map"


@dataclass(frozen=True)
class ColumnTransform:
    column: str
    kind: TransformKind
    source: str  # the record field the value is read from
    format: str | None = None  # STRPTIME: the strptime pattern every value is written in
    # VALUE_MAP: (text sent, text stored) pairs, sorted: what the producer sent stays on record
    # with the adapter version. Matched ignoring case and surrounding whitespace.
    mapping: tuple[tuple[str, str], ...] = ()

    def mapping_text(self) -> str:
        """The mapping as a person reads it: `OPEN→open, PAID→paid` (odd texts JSON-quoted)."""
        return ", ".join(f"{shown_text(sent)}→{shown_text(stored)}" for sent, stored in self.mapping)

    def describe(self) -> str:
        if self.kind is TransformKind.VALUE_MAP:
            return f"{self.column} <- {self.kind}({self.source}: {self.mapping_text()})"
        if self.kind is TransformKind.RENAME:
            return f"{self.column} <- {self.source}"
        if self.kind is TransformKind.STRPTIME:
            zone = "" if self.format and "%z" in self.format else "; no zone: stored as written"
            return f"{self.column} <- strptime({self.source}, {self.format!r}{zone})"
        return f"{self.column} <- {self.kind}({self.source})"


_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.+-]+")


def shown_text(text: str) -> str:
    return text if _PLAIN_TEXT.fullmatch(text) else json.dumps(text, ensure_ascii=False)


@dataclass(frozen=True)
class Adapter:
    """How records of a newer producer schema are mapped onto the table's contract."""

    table: str
    version: int
    transforms: tuple[ColumnTransform, ...] = field(default_factory=tuple)

    def transform_for(self, column: str) -> ColumnTransform | None:
        return next((t for t in self.transforms if t.column == column), None)

    @property
    def consumed_fields(self) -> frozenset[str]:
        return frozenset(t.source for t in self.transforms)
