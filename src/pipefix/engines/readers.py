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

from pipefix.pipeline.contracts import Contract, type_family

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
    the column is text, so "01234" in a varchar column keeps its leading zero."""
    family = type_family(logical) if logical else None
    if family not in ("text", "json") and _NUMBER.match(text):
        return text
    if family in (None, "bool") and text.lower() in ("true", "false"):
        return text.lower()
    return json.dumps(text, ensure_ascii=False)


def _csv_records(lines: list[str]) -> Iterator[tuple[int, list[str] | None, str]]:
    """(first line number, fields or None, raw text) per record or rejected line."""
    index = 0
    while index < len(lines):
        end = index
        quotes = lines[index].count('"')
        while quotes % 2 and end + 1 < len(lines) and end - index < _MAX_RECORD_LINES:
            end += 1
            quotes += lines[end].count('"')
        text = "\n".join(lines[index : end + 1])
        if quotes % 2:
            yield index + 1, None, lines[index]
            index += 1
            continue
        try:
            fields = next(csv.reader([text], strict=True), [])
        except csv.Error:
            yield index + 1, None, lines[index]
            index += 1
            continue
        yield index + 1, fields, text
        index = end + 1


def read_csv(path: Path, contract: Contract | None) -> Iterator[Record]:
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.rstrip("\r") for line in lines]
    if not lines:
        return
    header = next(csv.reader([lines[0]]), [])
    types = {c.name: c.type for c in contract.columns} if contract else {}
    for line_no, fields, raw in _csv_records(lines[1:]):
        if not raw.strip():
            continue
        number = line_no + 1  # the header is line 1
        if fields is None:
            yield Record(number, raw, "broken CSV quoting")
        elif len(fields) != len(header):
            yield Record(number, raw, f"expected {len(header)} CSV fields, got {len(fields)}")
        else:
            pairs = [
                f"{json.dumps(name)}: {'null' if value == '' else _json_value(value, types.get(name))}"
                for name, value in zip(header, fields, strict=True)
            ]
            yield Record(number, "{" + ", ".join(pairs) + "}")
