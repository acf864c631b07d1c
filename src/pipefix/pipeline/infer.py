"""Contracts inferred from sample records. Pure: field profiles in, column guesses out, no I/O.

The fields are read and profiled first (pipeline/sample_values.py, pipeline/field_profiles.py);
this module turns each profile into a column.

A guess records what it was based on (`ColumnGuess.note`), so that a person reviewing the
written `pipefix.yaml` can judge it. The guesses are conservative: a key is only a candidate,
allowed values need many repeats, and a field no sample filled is `json`, which takes anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from pipefix.pipeline.contracts import ColumnSpec, decimal_scale, is_usable_column_name
from pipefix.pipeline.field_profiles import FieldProfile, looks_like_key

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
MAX_DECIMAL_DIGITS = 38
ROOMY_PRECISION = 18  # decimals get room to grow: a wider value later would be held
# Allowed values are inferred only from many repeats of a few short strings.
ENUM_MAX_DISTINCT = 10
ENUM_MIN_ROWS = 20
ENUM_MIN_REPEATS = 5  # rows per distinct value, on average
ENUM_MAX_LENGTH = 40
_CREATION_NAME = re.compile(r"(?i)creat|insert")


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


def allowed_values(profile: FieldProfile) -> tuple[str, ...] | None:
    """A few short strings, each sent many times: then (and only then) the allowed values."""
    counts = profile.counts
    if profile.kinds != {"text"} or counts is None or looks_like_key(profile.name):
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
