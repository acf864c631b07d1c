"""How a CSV file is written — its dialect — decided from its first lines: pure rules, no I/O.

Spreadsheets export CSV in the conventions of their locale: much of Europe writes
`id;active;amount` / `401;true;401,50` (semicolons, because the comma is the decimal mark),
often behind a UTF-8 byte-order mark. The sniffer here is pipefix's own rather than Python's
csv.Sniffer (which guesses from character frequencies and may pick a letter as the delimiter) or
DuckDB's sniff_csv (which cannot tell a decimal comma): each setting follows one stated rule.

- delimiter: of `,` `;` tab `|`, the one that splits every sampled line (outside quotes) into the
  same number of fields, more than one; of several, the one giving the most fields, then that
  order. When none is consistent, the one giving the header the most fields; `,` if none splits it.
- quote: `"`, unless the sample has none and has fields quoted with `'`.
- header: the first line is a header when one of its fields names a field the table reads (a
  contract column, or a field its adapter reads: a header may well hold `2023` as a name); with
  none, unless one of its fields is a number or true/false (a file without one names its columns
  `column1`, `column2`, ...).
- decimal: `,` when the delimiter is not `,` and a sampled field is a number written with a
  decimal comma (`401,50`); `.` otherwise.
- a UTF-8 byte-order mark is stripped from the first column's name.

A table's `csv:` setting in pipefix.yaml fixes any of these; the verdict records, per setting,
whether it was configured or sniffed. Under a decimal comma a number is converted exactly
(`401,50` -> 401.50); one with a `.` in it (`1.234`, `1.234,50`: a thousands separator, or a
decimal point?) is ambiguous and held with that reason, never guessed.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from typing import Any

DELIMITERS = (",", ";", "\t", "|")
QUOTES = ('"', "'")
DECIMALS = (".", ",")
BOM = "\ufeff"
SNIFF_LINES = 50

_COMMA_NUMBER = re.compile(r"^\s*[-+]?[0-9]+,[0-9]+\s*$")
_PLAIN_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
# A number as a person writes it under a decimal comma: digits, one comma and digits after it.
_DECIMAL_COMMA = re.compile(r"^(-?)(0|[1-9][0-9]*),([0-9]+)$")
# Digits with a `.` somewhere: a thousands separator or a decimal point, which the text cannot say.
_DOTTED = re.compile(r"^-?[0-9][0-9.]*\.[0-9.]*[0-9](,[0-9]+)?$")


@dataclass(frozen=True)
class CsvOptions:
    """A table's `csv:` setting: each one given fixes that part of the dialect (None: sniffed)."""

    delimiter: str | None = None
    quote: str | None = None
    decimal: str | None = None
    header: bool | None = None


@dataclass(frozen=True)
class CsvDialect:
    """How one CSV file is read, and which settings pipefix.yaml fixed (the others were sniffed)."""

    delimiter: str = ","
    quote: str = '"'
    decimal: str = "."
    header: bool = True
    bom: bool = False
    configured: frozenset[str] = field(default_factory=frozenset)

    @property
    def plain(self) -> bool:
        """The dialect every CSV reader assumes: nothing worth telling a person."""
        return (self.delimiter, self.quote, self.decimal, self.header, self.bom) == (
            ",",
            '"',
            ".",
            True,
            False,
        )

    def as_dict(self) -> dict[str, object]:
        settings = ("delimiter", "quote", "decimal", "header")
        return {
            **{name: getattr(self, name) for name in settings},
            "bom": self.bom,
            "configured": sorted(self.configured),
            "sniffed": [name for name in settings if name not in self.configured],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CsvDialect:
        settings = ("delimiter", "quote", "decimal", "header", "bom")
        return cls(**{k: data[k] for k in settings}, configured=frozenset(data.get("configured", ())))

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False)

    def describe(self) -> str:
        """`delimiter ';' (sniffed), quote '"' (sniffed), decimal ',' (configured), header ...`"""

        def shown(name: str, value: str) -> str:
            how = "configured" if name in self.configured else "sniffed"
            return f"{name} {value} ({how})"

        delimiter = "tab" if self.delimiter == "\t" else repr(self.delimiter)
        parts = [
            shown("delimiter", delimiter),
            shown("quote", repr(self.quote)),
            shown("decimal", repr(self.decimal)),
            shown("header", "yes" if self.header else "no"),
        ]
        if self.bom:
            parts.append("UTF-8 byte-order mark stripped")
        return ", ".join(parts)


def _split(line: str, delimiter: str, quote: str) -> list[str] | None:
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar=quote, strict=True), [])
    except csv.Error:
        return None


def _sample(head: str) -> list[str]:
    """The head's complete, non-blank lines (the last one may be cut where the head ends)."""
    lines = head.split("\n")
    if len(lines) > 1:
        lines = lines[:-1]  # cut by the head's end, or the empty text after the last line end
    return [line.rstrip("\r") for line in lines if line.strip()][:SNIFF_LINES]


def _delimiter(lines: list[str], quote: str) -> str:
    consistent: list[tuple[int, int, str]] = []
    for rank, delimiter in enumerate(DELIMITERS):
        widths = {len(f) if (f := _split(line, delimiter, quote)) is not None else -1 for line in lines}
        if len(widths) == 1 and (width := widths.pop()) > 1:
            consistent.append((-width, rank, delimiter))
    if consistent:
        return min(consistent)[2]
    header = lines[0] if lines else ""
    widest = max(DELIMITERS, key=lambda d: (header.count(d), -DELIMITERS.index(d)))
    return widest if header.count(widest) else ","


def _quote(lines: list[str]) -> str:
    text = "\n".join(lines)
    if '"' not in text and re.search(r"(^|[,;\t|])'[^']*'([,;\t|]|$)", text, re.MULTILINE):
        return "'"
    return '"'


def _looks_like_value(text: str) -> bool:
    bare = text.strip()
    return bool(_PLAIN_NUMBER.match(bare) or _COMMA_NUMBER.match(bare)) or bare.lower() in ("true", "false")


def _header(first: list[str], names: frozenset[str]) -> bool:
    if any(name.strip() in names for name in first):
        return True
    return not any(_looks_like_value(name) for name in first)


def sniff(head: str, options: CsvOptions | None = None, names: frozenset[str] = frozenset()) -> CsvDialect:
    """The dialect of a CSV file whose first KBs (decoded, perhaps cut mid-line) are `head`;
    `names`: the fields the table reads (a first line naming one of them is a header)."""
    options = options or CsvOptions()
    bom = head.startswith(BOM)
    lines = _sample(head.removeprefix(BOM))
    quote = options.quote or _quote(lines)
    delimiter = options.delimiter or _delimiter(lines, quote)
    rows = [fields for line in lines if (fields := _split(line, delimiter, quote)) is not None]
    header = options.header if options.header is not None else bool(rows) and _header(rows[0], names)
    decimal = options.decimal
    if decimal is None:
        values = [value for row in rows[1 if header else 0 :] for value in row]
        comma = delimiter != "," and any(_COMMA_NUMBER.match(v) for v in values)
        decimal = "," if comma else "."
    configured = frozenset(
        name for name in ("delimiter", "quote", "decimal", "header") if getattr(options, name) is not None
    )
    return CsvDialect(delimiter, quote, decimal, header, bom, configured)


@dataclass(frozen=True)
class Ambiguous:
    """A field whose text the dialect cannot read as one number: held with `reason`."""

    reason: str


def decimal_comma_number(text: str, column: str) -> str | Ambiguous | None:
    """Under a decimal comma: the JSON number a numeric field's text is (`401,50` -> `401.50`,
    `-7` -> `-7`), Ambiguous for digits with a `.` in them, None for any other text (read as sent)."""
    bare = text.strip()
    if _PLAIN_NUMBER.match(bare) and "." not in bare:
        return bare
    match = _DECIMAL_COMMA.match(bare)
    if match:
        sign, whole, fraction = match.groups()
        return f"{sign}{whole}.{fraction}"
    if _DOTTED.match(bare):
        return Ambiguous(
            f"{column}: {bare!r} is ambiguous under the decimal comma: its '.' may be a thousands "
            "separator or a decimal point (held, not guessed)"
        )
    return None
