"""Contracts inferred from sample records. Pure: text in, column guesses out, no I/O.

Every type is read from the text the producer sent, never through a double: a JSON number
keeps its digits (`Number`), a decimal's precision and scale are counted on them, an integer's
width is its exact value. Records come as JSON object texts (a CSV row is first turned into
one by the loader's own reader, with `textual` set: every value in it was sent as text).

A guess records what it was based on (`ColumnGuess.note`), so that a person reviewing the
written `pipefix.yaml` can judge it. The guesses are conservative: a key is only a candidate,
allowed values need many repeats, and a field no sample filled is `json`, which takes anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pipefix.pipeline.contracts import ColumnSpec, decimal_scale, is_usable_column_name

# JSON's number grammar (the CSV reader turns a field into a number on the same one).
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
# ISO-8601 as DuckDB's TIMESTAMPTZ cast reads it; fractions past microseconds would be cut
# without a word, so such a text stays text.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
MAX_DECIMAL_DIGITS = 38
ROOMY_PRECISION = 18  # decimals get room to grow: a wider value later would be held
# Allowed values are inferred only from many repeats of a few short strings.
ENUM_MAX_DISTINCT = 10
ENUM_MIN_ROWS = 20
ENUM_MIN_REPEATS = 5  # rows per distinct value, on average
ENUM_MAX_LENGTH = 40
_TRACKED_DISTINCT = 64  # past this many distinct texts a column is no enum (and no longer counted)
_CREATION_NAME = re.compile(r"(?i)creat|insert")


@dataclass(frozen=True)
class Number:
    """A JSON number exactly as sent."""

    text: str


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A repeated key keeps its first value, as the loader's `raw ->> path` reads it."""
    record: dict[str, Any] = {}
    for key, value in pairs:
        record.setdefault(key, value)
    return record


def _number_text(value: Any) -> Any:
    """A Number as its text when a value is written back as JSON (kept apart from strings)."""
    if isinstance(value, Number):
        return {"number": value.text}
    raise TypeError(f"{type(value).__name__} is not JSON")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_record(text: str) -> dict[str, Any] | None:
    """A JSON object's fields with every number kept as its text; None if the text is none."""
    try:
        value = json.loads(
            text,
            parse_int=Number,
            parse_float=Number,
            parse_constant=_no_constants,
            object_pairs_hook=_first_wins,
        )
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


# --- one value ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What one non-null value is: its kind and what the kind's guess needs."""

    kind: str  # boolean, integer, decimal, timestamp, date, text, object, array
    integer: int | None = None  # integers: the exact value
    digits: int = 0  # numbers: digits before the point
    scale: int = 0  # numbers: digits after the point, as sent
    offset: str | None = None  # timestamps: the offset as sent ("Z", "-05:00"), None if none
    text: str | None = None  # text and time values: the text


def read_number(text: str) -> Reading | None:
    """A number's kind, width and scale from its text; None if the text is no JSON number."""
    if not _NUMBER.fullmatch(text):
        return None
    if _INTEGER.fullmatch(text):
        value = int(text)
        return Reading("integer", integer=value, digits=len(str(abs(value))) if value else 1)
    try:
        sign_digits_exponent = Decimal(text).as_tuple()
    except InvalidOperation:  # pragma: no cover - the grammar above is Decimal's subset
        return None
    digits, exponent = sign_digits_exponent.digits, int(sign_digits_exponent.exponent)
    return Reading("decimal", digits=max(0, len(digits) + exponent), scale=max(0, -exponent))


def read_text(text: str) -> Reading:
    """A string's kind: timestamp, date or text."""
    match = _TIMESTAMP.fullmatch(text)
    if match is not None and _valid_timestamp(match):
        return Reading("timestamp", offset=match.group(8), text=text)
    match = _DATE.fullmatch(text)
    if match is not None and _valid_date(match):
        return Reading("date", text=text)
    return Reading("text", text=text)


def _valid_date(match: re.Match[str]) -> bool:
    try:
        date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return int(match.group(1)) >= 1


def _valid_timestamp(match: re.Match[str]) -> bool:
    if not _valid_date(match):
        return False
    hour, minute, second = int(match.group(4)), int(match.group(5)), int(match.group(6) or 0)
    offset = match.group(8)
    if offset and offset not in ("Z", "z"):
        hours, minutes = int(offset[1:3]), int(offset.replace(":", "")[3:5] or 0)
        if hours > 15 or minutes > 59:
            return False
    return hour < 24 and minute < 60 and second < 60


def read_value(value: Any, textual: bool) -> Reading | None:
    """The reading of one field's value; None for a null. `textual`: sent as text (CSV), where
    a number or true/false is read as one, with spaces around it, as the CSV reader does for a
    numeric or boolean column."""
    if value is None:
        return None
    if isinstance(value, bool):
        return Reading("boolean")
    if isinstance(value, Number):
        reading = read_number(value.text)
        return reading if reading is not None else Reading("text", text=value.text)
    if isinstance(value, dict):
        return Reading("object")
    if isinstance(value, list):
        return Reading("array")
    text = str(value)
    if textual:
        stripped = text.strip()
        number = read_number(stripped)
        if number is not None:
            return number
        if stripped.lower() in ("true", "false"):
            return Reading("boolean")
    return read_text(text)


# --- one field over all samples ------------------------------------------------------------------


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
        self.seen: set[str] | None = set() if _looks_like_key(name) else None
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
            canonical = json.dumps(value, sort_keys=True, default=_number_text)
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


# --- a column from a field --------------------------------------------------------------------


def logical_type(profile: FieldProfile) -> tuple[str, str]:
    """The column type the field's values fit, and the reason in a few words."""
    if profile.declared is not None:
        return profile.declared, f"declared {profile.declared} in the samples' schema"
    kinds = profile.kinds
    if not kinds:
        return "json", "never filled in the samples: json takes any value; narrow it when you know"
    if kinds == {"integer"}:
        return _integer_type(profile)
    if kinds <= {"integer", "decimal"}:
        return _decimal_type(profile)
    if kinds == {"boolean"}:
        return "boolean", "true/false"
    if kinds == {"date"}:
        return "date", "dates (YYYY-MM-DD)"
    if kinds <= {"date", "timestamp"}:
        return _timestamp_type(profile)
    if kinds <= {"object", "array"}:
        shapes = " and ".join(sorted({"object": "objects", "array": "arrays"}[k] for k in kinds))
        return "json", f"nested {shapes}"
    if kinds <= {"text", "date", "timestamp"}:
        return "varchar", "text"
    if profile.textual and kinds <= {"text", "date", "timestamp", "integer", "decimal", "boolean"}:
        return "varchar", f"CSV text of mixed kinds ({', '.join(sorted(kinds))})"
    return "json", f"mixed kinds ({', '.join(sorted(kinds))}): json keeps each value as sent"


def _integer_type(profile: FieldProfile) -> tuple[str, str]:
    low, high = profile.low or 0, profile.high or 0
    span = f"{low:,}..{high:,}"
    if _INT32[0] <= low and high <= _INT32[1]:
        return "integer", f"integers {span} (widened to bigint by itself if larger ones come)"
    if _INT64[0] <= low and high <= _INT64[1]:
        return "bigint", f"integers {span}"
    if profile.digits <= MAX_DECIMAL_DIGITS:
        return f"decimal({MAX_DECIMAL_DIGITS},0)", f"integers of up to {profile.digits} digits"
    return "double", f"integers of {profile.digits} digits: too wide for a decimal, read as double"


def decimal_for(digits: int, scale: int) -> str | None:
    """The decimal holding numbers of up to `digits` before the point and `scale` after, with
    room to grow before it (precision 18, or 38 when needed); None past 38 digits."""
    if digits + scale > MAX_DECIMAL_DIGITS:
        return None
    precision = ROOMY_PRECISION if digits + scale <= ROOMY_PRECISION else MAX_DECIMAL_DIGITS
    return f"decimal({max(precision, scale, 1)},{scale})"


def _decimal_type(profile: FieldProfile) -> tuple[str, str]:
    scale = profile.scale
    widest = f"widest {profile.widest} digits, {scale} after the point"
    logical = decimal_for(profile.digits, scale)
    if logical is None:
        return "double", f"{widest}: too wide for a decimal, read as double"
    precision = (decimal_scale(logical) or (0, 0))[0]
    return logical, f"{widest}; room for {precision - scale} before it"


def _timestamp_type(profile: FieldProfile) -> tuple[str, str]:
    """Times sent with an offset (Z too) are instants: timestamptz keeps them exactly; times sent
    without one are UTC wall times: timestamp."""
    offsets = [o for o in profile.offsets if o != "none"]
    if not offsets:
        return "timestamp", "ISO-8601 without an offset: read as UTC"
    named = [o for o in offsets if o not in ("Z", "z", "+00:00", "+0000", "+00")]
    sent = f"with UTC offsets ({', '.join(named)})" if named else "in UTC"
    naive = "; those without an offset read as UTC" if "none" in profile.offsets else ""
    return "timestamptz", f"ISO-8601 {sent}: exact instants{naive}"


def _looks_like_key(name: str) -> bool:
    lower = name.lower()
    return lower == "id" or lower.endswith("_id") or (name.endswith("Id") and len(name) > 2)


def allowed_values(profile: FieldProfile) -> tuple[str, ...] | None:
    """A few short strings, each sent many times: then (and only then) the allowed values."""
    counts = profile.counts
    if profile.kinds != {"text"} or counts is None or _looks_like_key(profile.name):
        return None
    if not 2 <= len(counts) <= ENUM_MAX_DISTINCT or profile.filled < ENUM_MIN_ROWS:
        return None
    if profile.filled < ENUM_MIN_REPEATS * len(counts) or min(counts.values()) < 2:
        return None
    if any(len(v) > ENUM_MAX_LENGTH or not v.strip() or "\n" in v for v in counts):
        return None
    return tuple(sorted(counts, key=lambda v: (-counts[v], v)))


@dataclass(frozen=True)
class ColumnGuess:
    spec: ColumnSpec
    source: str | None  # the record field, when it is not the column's name
    note: str  # what the guess was based on


@dataclass(frozen=True)
class TableGuess:
    table: str
    records: int
    columns: tuple[ColumnGuess, ...]
    key: str | None = None
    key_note: str = ""
    freshness: str | None = None  # a timestamp column that looks like creation time
    freshness_note: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)  # what the reviewer must know

    def column(self, name: str) -> ColumnGuess | None:
        return next((c for c in self.columns if c.spec.name == name), None)


def column_names(fields: Sequence[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """Field -> column name. A field that is a usable name keeps it; any other (`Height(Inches)`,
    `+1`, a name only differing in case from an earlier one or from a column in `taken`) gets a
    plain one, read from the field by the table's adapter."""
    names: dict[str, str] = {}
    used = {name.lower() for name in taken}
    for name in fields:
        if is_usable_column_name(name) and name.lower() not in used:
            names[name] = name
            used.add(name.lower())
    for name in fields:
        if name in names:
            continue
        text = re.sub(r"^\+", "plus_", re.sub(r"^-(?=\d)", "minus_", name.strip()))
        base = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "field"
        if base[0].isdigit() or base.startswith("pipefix"):
            base = f"field_{base}"
        base = base[:56]
        candidate, number = base, 2
        while candidate.lower() in used:
            candidate, number = f"{base}_{number}", number + 1
        names[name] = candidate
        used.add(candidate.lower())
    return names


def infer_table(table: str, profiles: Sequence[FieldProfile]) -> TableGuess:
    """The table's contract, guessed from its fields' profiles, each guess with its reason."""
    records = profiles[0].records if profiles else 0
    names = column_names([p.name for p in profiles])
    columns = []
    for profile in profiles:
        logical, why = logical_type(profile)
        nullable = profile.nulls > 0 or profile.missing > 0
        values = allowed_values(profile)
        counted = f"{profile.present} of {records} samples" if profile.missing else f"{records} samples"
        nulls = f"{profile.nulls} null" + (f", {profile.missing} missing" if profile.missing else "")
        note = f"{counted}, {nulls}; {why}"
        if values is not None and profile.counts is not None:
            shown = ", ".join(f"{v} {profile.counts[v]}" for v in values)
            note += f"; {len(values)} distinct ({shown})"
        source = None if names[profile.name] == profile.name else profile.name
        if source is not None:
            note += f"; read from field {json.dumps(source, ensure_ascii=False)}, not a usable column name"
        spec = ColumnSpec(names[profile.name], logical, nullable=nullable, values=values)
        columns.append(ColumnGuess(spec, source, note))
    guess = TableGuess(table, records, tuple(columns))
    return _with_freshness(_with_key(guess, profiles, names), profiles, names)


def _with_key(guess: TableGuess, profiles: Sequence[FieldProfile], names: Mapping[str, str]) -> TableGuess:
    """A column named like a key (`id`, `*_id`) whose values are unique and never null in the
    samples: a candidate, preferring `id`, then `<table>_id`."""

    def keyable(profile: FieldProfile) -> bool:
        column = guess.column(names[profile.name])
        return column is not None and column.spec.type in ("integer", "bigint", "varchar")

    candidates = [
        p for p in profiles if p.unique and p.nulls == 0 and p.missing == 0 and p.filled >= 2 and keyable(p)
    ]
    if not candidates:
        return guess
    singular = guess.table.lower().removesuffix("s")
    best = min(
        candidates,
        key=lambda p: (p.name.lower() != "id", p.name.lower() != f"{singular}_id", profiles.index(p)),
    )
    note = (
        f"candidate: unique and never null in {best.filled} samples; "
        "remove it if values may repeat (a repeated key is held)"
    )
    return replace(guess, key=names[best.name], key_note=note)


def _with_freshness(
    guess: TableGuess, profiles: Sequence[FieldProfile], names: Mapping[str, str]
) -> TableGuess:
    stamps = [c.spec.name for c in guess.columns if c.spec.type in ("timestamp", "timestamptz")]
    created = [
        names[p.name]
        for p in profiles
        if names[p.name] in stamps and _CREATION_NAME.search(p.name) and p.filled > 0
    ]
    if not created:
        return guess
    column = created[0]
    newest = next(p.newest for p in profiles if names[p.name] == column)
    note = f"{column} looks like creation time (newest sample {newest})"
    if stamps[0] != column:
        note += f"; freshness is judged on the first timestamp column, {stamps[0]}: move {column} above it"
    return replace(guess, freshness=column, freshness_note=note)


# --- relaxing a guess the samples themselves refuse ----------------------------------------------


def relax(guess: TableGuess, reasons: Mapping[str, int]) -> TableGuess:
    """The guess loosened where loading the samples under it held rows (reasons -> rows): a
    repeated key is dropped, a missing value made optional, an allowed-value list dropped, and
    a type the values did not all read as becomes json. Never tighter than before."""
    blamed: dict[str, set[str]] = {}
    for reason, _ in reasons.items():
        for part in reason.split("; "):
            name, sep, problem = part.partition(": ")
            if sep and guess.column(name) is not None:
                blamed.setdefault(name, set()).add(problem)
    if not blamed:
        return guess
    columns = []
    notes = list(guess.notes)
    key = guess.key
    for column in guess.columns:
        problems = blamed.get(column.spec.name)
        if not problems:
            columns.append(column)
            continue
        spec, note = column.spec, column.note
        rows = sum(n for r, n in reasons.items() if f"{spec.name}: " in r)
        if any(p == "duplicate key" for p in problems) and key == spec.name:
            key = None
            notes.append(f"{spec.name} repeats in the samples: no key")
        if any(p == "missing" for p in problems):
            spec = replace(spec, nullable=True)
        if any(p.startswith("value not allowed") for p in problems):
            spec = replace(spec, values=None)
        inexact = ("expected", "more digits after the point", "value not exact", "number out of range")
        if any(p.startswith(inexact) for p in problems):
            note += f"; {rows} samples did not load as {spec.type}: json instead"
            spec = replace(spec, type="json", values=None)
        columns.append(replace(column, spec=spec, note=note))
    stamps = {c.spec.name for c in columns if c.spec.type in ("timestamp", "timestamptz")}
    freshness = guess.freshness if guess.freshness in stamps else None
    return replace(
        guess,
        columns=tuple(columns),
        key=key,
        key_note=guess.key_note if key else "",
        freshness=freshness,
        notes=tuple(notes),
    )
