"""A record field profiled over every sample record of a table: how often it is sent, filled
and null, the kinds of its values and the figures each kind's guess needs. Pure, no I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipefix.pipeline.sample_values import number_text, read_value

_TRACKED_DISTINCT = 64  # past this many distinct texts a column is no enum (and no longer counted)


@dataclass(frozen=True)
class FieldProfile:
    """One record field over every sample record of a table."""

    name: str
    records: int  # sample records of the table
    present: int = 0  # records carrying the field (null or not)
    nulls: int = 0
    kinds: frozenset[str] = frozenset()
    textual: bool = True  # every value was sent as text (CSV)
    low: int | None = None  # integers: smallest and largest
    high: int | None = None
    digits: int = 0  # numbers: most digits before the point
    scale: int = 0  # numbers: most digits after the point
    widest: int = 0  # numbers: most digits in one value
    offsets: tuple[str, ...] = ()  # timestamps: the distinct offsets sent (up to a few)
    newest: str | None = None  # timestamps: the latest text (ISO-8601 sorts as text when alike)
    counts: Mapping[str, int] | None = None  # text values -> rows, until too many are distinct
    unique: bool = True  # no two non-null values alike (tracked for key candidates)
    declared: str | None = None  # the type a typed sample (Parquet) declares

    @property
    def filled(self) -> int:
        return self.present - self.nulls

    @property
    def missing(self) -> int:
        return self.records - self.present


class _Builder:
    """Accumulates a FieldProfile; local to `profile_fields`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.present = self.nulls = 0
        self.kinds: set[str] = set()
        self.textual = True
        self.low: int | None = None
        self.high: int | None = None
        self.digits = self.scale = self.widest = 0
        self.offsets: list[str] = []
        self.newest: str | None = None
        self.counts: dict[str, int] | None = {}
        self.seen: set[str] | None = set() if looks_like_key(name) else None
        self.unique = True
        self.declared: str | None = None

    def add(self, value: Any, textual: bool) -> None:
        self.present += 1
        reading = read_value(value, textual)
        if reading is None:
            self.nulls += 1
            return
        self.textual = self.textual and textual
        self.kinds.add(reading.kind)
        if reading.kind == "integer" and reading.integer is not None:
            self.low = reading.integer if self.low is None else min(self.low, reading.integer)
            self.high = reading.integer if self.high is None else max(self.high, reading.integer)
        if reading.kind in ("integer", "decimal"):
            self.digits = max(self.digits, reading.digits)
            self.scale = max(self.scale, reading.scale)
            self.widest = max(self.widest, reading.digits + reading.scale)
        if reading.kind == "timestamp":
            offset = reading.offset or "none"
            if offset not in self.offsets and len(self.offsets) < 4:
                self.offsets.append(offset)
        if reading.kind in ("timestamp", "date") and reading.text is not None:
            self.newest = max(self.newest or reading.text, reading.text)
        if reading.kind == "text" and self.counts is not None and reading.text is not None:
            self.counts[reading.text] = self.counts.get(reading.text, 0) + 1
            if len(self.counts) > _TRACKED_DISTINCT:
                self.counts = None
        if self.seen is not None:
            canonical = json.dumps(value, sort_keys=True, default=number_text)
            self.unique = self.unique and canonical not in self.seen
            self.seen.add(canonical)

    def profile(self, records: int) -> FieldProfile:
        return FieldProfile(
            name=self.name,
            records=records,
            present=self.present,
            nulls=self.nulls,
            kinds=frozenset(self.kinds),
            textual=self.textual,
            low=self.low,
            high=self.high,
            digits=self.digits,
            scale=self.scale,
            widest=self.widest,
            offsets=tuple(self.offsets),
            newest=self.newest,
            counts=dict(self.counts) if self.counts is not None else None,
            unique=self.unique and self.seen is not None,
            declared=self.declared,
        )


@dataclass(frozen=True)
class Sample:
    """One sample record: its fields, and whether every value in it was sent as text (CSV)."""

    fields: Mapping[str, Any]
    textual: bool = False


def profile_fields(
    samples: Iterable[Sample], declared: Mapping[str, str] | None = None
) -> tuple[FieldProfile, ...]:
    """Every field of the records, in order of first appearance. `declared`: field -> logical
    type where a typed format (Parquet) names it; text values are still read from their text."""
    builders: dict[str, _Builder] = {}
    records = 0
    for sample in samples:
        records += 1
        for name, value in sample.fields.items():
            builder = builders.get(name)
            if builder is None:
                builder = builders[name] = _Builder(name)
            builder.add(value, sample.textual)
    for name, logical in (declared or {}).items():
        if name in builders:
            builders[name].declared = logical
    return tuple(b.profile(records) for b in builders.values())


def looks_like_key(name: str) -> bool:
    """Named like a key (`id`, `*_id`, `*Id`): its uniqueness is tracked, it is never an enum."""
    lower = name.lower()
    return lower == "id" or lower.endswith("_id") or (name.endswith("Id") and len(name) > 2)
