"""One sample value read from the text the producer sent. Pure: text in, readings out, no I/O.

Every type is read from the text the producer sent, never through a double: a JSON number
keeps its digits (`Number`), a decimal's precision and scale are counted on them, an integer's
width is its exact value. Records come as JSON object texts (a CSV row is first turned into
one by the loader's own reader, with `textual` set: every value in it was sent as text).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

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


def number_text(value: Any) -> Any:
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
