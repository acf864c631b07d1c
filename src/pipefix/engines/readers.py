"""Turning a batch file into records, every physical line accounted for.

JSONL and Parquet are read by DuckDB. CSV is split here, because DuckDB's reader silently
swallows every line after an unterminated quote: a record is the shortest run of physical
lines with balanced quotes, and a line that can start no valid record is reported with its
reason and the next record starts on the line after it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipefix.pipeline.contracts import Adapter, Contract, type_family

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
_MAX_RECORD_LINES = 1000  # a quoted field may span lines, but not a whole file


def batch_format(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


@dataclass(frozen=True)
class Record:
    line_no: int
    raw: str  # a JSON object, or the offending text when `error` is set
    error: str | None = None


def _json_value(text: str, logical: str | None) -> str:
    """CSV text as a JSON value: numbers stay numbers (exact digits) unless the contract says
    the column is text, so "01234" in a varchar column keeps its leading zero. pipeline/infer.py
    reads CSV samples on the same number grammar."""
    family = type_family(logical) if logical else None
    # Spaces around a number or true/false (`1, 65.78, 112.99`) pad the field in a column that
    # holds numbers or booleans; without a contract type the text stays as sent.
    bare = text.strip() if family in ("numeric", "bool") else text
    if family not in ("text", "json") and _NUMBER.match(bare):
        return bare
    if family in (None, "bool") and bare.lower() in ("true", "false"):
        return bare.lower()
    return json.dumps(text, ensure_ascii=False)


def _fields(text: str) -> list[str] | None:
    try:
        return next(csv.reader([text], strict=True), [])
    except csv.Error:
        return None


def _csv_records(lines: list[str], width: int) -> Iterator[tuple[int, list[str] | None, str]]:
    """(first line number, fields or None, raw text) per record or rejected line.

    A quoted field may span lines; but when the line after an open quote is a complete record
    by itself, the quote is broken: that line and the ones after it are not swallowed.
    """
    index = 0
    while index < len(lines):
        end = index
        quotes = lines[index].count('"')
        while quotes % 2 and end + 1 < len(lines) and end - index < _MAX_RECORD_LINES:
            following = _fields(lines[end + 1])
            if end == index and following is not None and len(following) == width:
                break
            end += 1
            quotes += lines[end].count('"')
        text = "\n".join(lines[index : end + 1])
        fields = None if quotes % 2 else _fields(text)
        if fields is None:
            yield index + 1, None, lines[index]
            index += 1
            continue
        yield index + 1, fields, text
        index = end + 1


def decoded_lines(path: Path) -> tuple[list[str], dict[int, str]]:
    """The file's lines, and the (0-based) lines that are not UTF-8 with why. Those are kept as
    shown with replacement characters: never loaded, only held with their reason."""
    raw_lines = path.read_bytes().split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    lines, broken = [], {}
    for number, raw in enumerate(raw_lines):
        try:
            lines.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as error:
            lines.append(raw.decode("utf-8", errors="replace").rstrip("\r"))
            broken[number] = f"line is not UTF-8 ({error.reason} at byte {error.start})"
    return lines, broken


def read_csv(path: Path, contract: Contract | None, adapter: Adapter | None = None) -> Iterator[Record]:
    """The file's records as JSON objects. Each field is typed by the contract column it feeds:
    its own name's, or, for a field an adapter reads (`Height(Inches)` -> `height_inches`), that
    column's."""
    lines, broken = decoded_lines(path)
    if not lines:
        return
    if 0 in broken:
        yield Record(1, lines[0], f"CSV header: {broken[0]}")
        return
    try:
        header = next(csv.reader([lines[0]]), [])
    except csv.Error as error:  # e.g. a CR inside the header line
        # Without column names no line can be read: held as one record, like a non-UTF-8 header.
        why = str(error).split(" - ")[0]
        yield Record(1, lines[0], f"CSV header: cannot be split into fields ({why})")
        return
    types = {c.name: c.type for c in contract.columns} if contract else {}
    for transform in adapter.transforms if adapter and contract else ():
        column = contract.column(transform.column) if contract else None
        if column is not None:
            types[transform.source] = column.type
    for line_no, fields, raw in _csv_records(lines[1:], len(header)):
        if not raw.strip():
            continue
        number = line_no + 1  # the header is line 1
        spanned = range(number - 1, number + raw.count("\n"))
        undecodable = next((broken[i] for i in spanned if i in broken), None)
        if undecodable is not None:
            yield Record(number, raw, undecodable)
        elif fields is None:
            yield Record(number, raw, "broken CSV quoting")
        elif len(fields) != len(header):
            yield Record(number, raw, f"expected {len(header)} CSV fields, got {len(fields)}")
        else:
            pairs = [
                f"{json.dumps(name)}: {'null' if value == '' else _json_value(value, types.get(name))}"
                for name, value in zip(header, fields, strict=True)
            ]
            yield Record(number, "{" + ", ".join(pairs) + "}")


def read_jsonl_lines(path: Path) -> Iterator[Record]:
    """JSONL read line by line in Python: the fallback when DuckDB cannot read the file as text
    (not UTF-8). Lines that decode are judged as usual; the others are held with their reason."""
    lines, broken = decoded_lines(path)
    for number, line in enumerate(lines):
        if line.strip():
            yield Record(number + 1, line, broken.get(number))
