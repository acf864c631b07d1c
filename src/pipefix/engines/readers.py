"""Turning a batch file into records, every physical line accounted for.

Formats are known by name: `.jsonl`/`.ndjson` (a JSON object per line), `.json` (a JSON array of
objects, one object, or JSON lines: the first bytes say which), `.csv`, `.parquet`; each of the
first four also compressed (`.gz`, `.zst`, `.bz2`, engines/compressed.py).

JSONL, JSON documents and Parquet are read by DuckDB. CSV is split here, because DuckDB's reader
silently swallows every line after an unterminated quote: a record is the shortest run of
physical lines with balanced quotes, and a line that can start no valid record is reported with
its reason and the next record starts on the line after it. A CSV file is read in its dialect
(delimiter, quote, header, decimal mark), sniffed from its first KBs or set in pipefix.yaml
(pipeline/csv_dialect.py).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipefix.engines import compressed
from pipefix.pipeline.contracts import Adapter, Contract, type_family
from pipefix.pipeline.csv_dialect import BOM, Ambiguous, CsvDialect, CsvOptions, decimal_comma_number, sniff

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
_MAX_RECORD_LINES = 1000  # a quoted field may span lines, but not a whole file
_FIRST_LINE_BYTES = 1 << 16


@dataclass(frozen=True)
class BatchFormat:
    """What a batch file's name says: its format and, if compressed, how (`b5.jsonl.gz`)."""

    format: str  # jsonl, json, csv or parquet
    compression: str | None = None  # gzip, zstd or bz2


def batch_kind(path: Path) -> BatchFormat | None:
    name = path.name.lower()
    compression = next((kind for s, kind in compressed.SUFFIXES.items() if name.endswith(s)), None)
    kind = FORMATS.get(Path(compressed.plain_name(name)).suffix)
    if kind is None or (compression is not None and kind == "parquet"):
        return None  # Parquet compresses inside the file
    return BatchFormat(kind, compression)


def batch_format(path: Path) -> str | None:
    kind = batch_kind(path)
    return kind.format if kind else None


def batch_stem(path: Path) -> str:
    """`orders.csv.gz` -> `orders`: the name without its format and compression suffixes."""
    return Path(compressed.plain_name(path.name)).stem


def appendable(path: Path) -> bool:
    """Whether the file can grow by appending lines: plain JSON lines or CSV. A compressed file,
    a JSON document and Parquet cannot; a change to them is a rewrite."""
    kind = batch_kind(path)
    if kind is None or kind.format == "parquet" or kind.compression is not None:
        return False
    try:
        if compressed.sniffed(path) is not None:
            return False
    except OSError:
        return False
    return kind.format != "json" or json_layout(path) == "lines"


def json_layout(path: Path) -> str:
    """How a (plain) `.json` file holds its records: `array` (its first non-space byte is `[`),
    `lines` (one object per line: its first or second line is a JSON value by itself) or
    `document` (objects written over several lines each)."""
    with path.open("rb") as handle:
        start = handle.read(_FIRST_LINE_BYTES).lstrip(BOM.encode()).lstrip()
        if start.startswith(b"["):
            return "array"
        lines = start.split(b"\n")
    if not start.startswith(b"{") or len(lines) < 2:
        return "lines"
    complete = [line for line in lines[:-1] if line.strip()][:2]
    for line in complete:
        try:
            json.loads(line)
        except ValueError:
            continue
        return "lines"
    return "document" if complete else "lines"


def csv_dialect(
    path: Path, options: CsvOptions | None = None, names: frozenset[str] = frozenset()
) -> CsvDialect | None:
    """The dialect of a CSV batch file (sniffed from its first KBs, `options` fixing any part;
    `names`: the fields its table reads); None for another format or a file unreadable as a whole."""
    kind = batch_kind(path)
    if kind is None or kind.format != "csv":
        return None
    try:
        data = compressed.head(path, compressed.compression_of(path, kind.compression))
    except (compressed.UnreadableFile, OSError):
        return None
    return sniff(data.decode("utf-8", errors="replace"), options, names)


@dataclass(frozen=True)
class Record:
    line_no: int
    raw: str  # a JSON object, or the offending text when `error` is set
    error: str | None = None


def _json_value(text: str, logical: str | None, dialect: CsvDialect, name: str) -> str | Ambiguous:
    """CSV text as a JSON value: numbers stay numbers (exact digits) unless the contract says
    the column is text, so "01234" in a varchar column keeps its leading zero. pipeline/sample_values.py
    reads CSV samples on the same number grammar. Under a decimal comma, `401,50` is the number
    401.50 and, in a numeric column, `1.234` is Ambiguous (never guessed)."""
    family = type_family(logical) if logical else None
    # Spaces around a number or true/false (`1, 65.78, 112.99`) pad the field in a column that
    # holds numbers or booleans; without a contract type the text stays as sent.
    bare = text.strip() if family in ("numeric", "bool") else text
    if dialect.decimal == "," and family in (None, "numeric"):
        number = decimal_comma_number(text, name)
        if isinstance(number, str) or (isinstance(number, Ambiguous) and family == "numeric"):
            return number
    elif family not in ("text", "json") and _NUMBER.match(bare):
        return bare
    if family in (None, "bool") and bare.lower() in ("true", "false"):
        return bare.lower()
    return json.dumps(text, ensure_ascii=False)


def _fields(text: str, dialect: CsvDialect) -> list[str] | None:
    try:
        return next(csv.reader([text], delimiter=dialect.delimiter, quotechar=dialect.quote, strict=True), [])
    except csv.Error:
        return None


def _csv_records(
    lines: list[str], width: int, dialect: CsvDialect
) -> Iterator[tuple[int, list[str] | None, str]]:
    """(first line number, fields or None, raw text) per record or rejected line.

    A quoted field may span lines; but when the line after an open quote is a complete record
    by itself, the quote is broken: that line and the ones after it are not swallowed.
    """
    quote = dialect.quote
    index = 0
    while index < len(lines):
        end = index
        quotes = lines[index].count(quote)
        while quotes % 2 and end + 1 < len(lines) and end - index < _MAX_RECORD_LINES:
            following = _fields(lines[end + 1], dialect)
            if end == index and following is not None and len(following) == width:
                break
            end += 1
            quotes += lines[end].count(quote)
        text = "\n".join(lines[index : end + 1])
        fields = None if quotes % 2 else _fields(text, dialect)
        if fields is None:
            yield index + 1, None, lines[index]
            index += 1
            continue
        yield index + 1, fields, text
        index = end + 1


def decoded_lines(path: Path) -> tuple[list[str], dict[int, str]]:
    """The file's lines, and the (0-based) lines that are not UTF-8 with why. Those are kept as
    shown with replacement characters: never loaded, only held with their reason. A UTF-8
    byte-order mark is no part of the first line."""
    return _decoded(path.read_bytes(), first=True)


def _decoded(data: bytes, first: bool) -> tuple[list[str], dict[int, str]]:
    """decoded_lines() of some whole lines of a file (`first`: they begin the file)."""
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    if raw_lines and first:
        raw_lines[0] = raw_lines[0].removeprefix(BOM.encode())
    lines, broken = [], {}
    for number, raw in enumerate(raw_lines):
        try:
            lines.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as error:
            lines.append(raw.decode("utf-8", errors="replace").rstrip("\r"))
            broken[number] = f"line is not UTF-8 ({error.reason} at byte {error.start})"
    return lines, broken


def _header(lines: list[str], broken: dict[int, str], dialect: CsvDialect) -> list[str] | Record:
    """The column names: the first line's fields, or `column1`, `column2`, ... for a file without
    a header (as many as its first line has fields); a Record holding the file when it has none."""
    if 0 in broken:
        return Record(1, lines[0], f"CSV header: {broken[0]}")
    try:
        first = next(csv.reader([lines[0]], delimiter=dialect.delimiter, quotechar=dialect.quote), [])
    except csv.Error as error:  # e.g. a CR inside the header line
        # Without column names no line can be read: held as one record, like a non-UTF-8 header.
        why = str(error).split(" - ")[0]
        return Record(1, lines[0], f"CSV header: cannot be split into fields ({why})")
    return first if dialect.header else [f"column{i}" for i in range(1, len(first) + 1)]


def read_csv(
    path: Path, contract: Contract | None, adapter: Adapter | None = None, dialect: CsvDialect | None = None
) -> Iterator[Record]:
    """The file's records as JSON objects. Each field is typed by the contract column it feeds:
    its own name's, or, for a field an adapter reads (`Height(Inches)` -> `height_inches`), that
    column's."""
    dialect = dialect or csv_dialect(path) or CsvDialect()
    lines, broken = decoded_lines(path)
    if not lines:
        return
    header = _header(lines, broken, dialect)
    if isinstance(header, Record):
        yield header
        return
    types = {c.name: c.type for c in contract.columns} if contract else {}
    for transform in adapter.transforms if adapter and contract else ():
        column = contract.column(transform.column) if contract else None
        if column is not None:
            types[transform.source] = column.type
    skip = 1 if dialect.header else 0
    for line_no, fields, raw in _csv_records(lines[skip:], len(header), dialect):
        if not raw.strip():
            continue
        number = line_no + skip  # the header is line 1
        spanned = range(number - 1, number + raw.count("\n"))
        undecodable = next((broken[i] for i in spanned if i in broken), None)
        if undecodable is not None:
            yield Record(number, raw, undecodable)
        elif fields is None:
            yield Record(number, raw, "broken CSV quoting")
        elif len(fields) != len(header):
            yield Record(number, raw, f"expected {len(header)} CSV fields, got {len(fields)}")
        else:
            yield _record(number, raw, header, fields, types, dialect)


def _record(
    number: int, raw: str, header: list[str], fields: list[str], types: dict[str, str], dialect: CsvDialect
) -> Record:
    pairs = []
    for name, value in zip(header, fields, strict=True):
        text = "null" if value == "" else _json_value(value, types.get(name), dialect, name)
        if isinstance(text, Ambiguous):
            return Record(number, raw, text.reason)
        pairs.append(f"{json.dumps(name)}: {text}")
    return Record(number, "{" + ", ".join(pairs) + "}")


def read_jsonl_lines(path: Path) -> Iterator[Record]:
    """JSONL read line by line in Python: the fallback when DuckDB cannot read the file as text
    (not UTF-8). Lines that decode are judged as usual; the others are held with their reason."""
    lines, broken = decoded_lines(path)
    for number, line in enumerate(lines):
        if line.strip():
            yield Record(number + 1, line, broken.get(number))


def jsonl_chunk_records(data: bytes, first_line: int) -> Iterator[Record]:
    """read_jsonl_lines() of a chunk of whole lines, the first numbered `first_line`."""
    lines, broken = _decoded(data, first=first_line == 1)
    for number, line in enumerate(lines):
        if line.strip():
            yield Record(first_line + number, line, broken.get(number))
