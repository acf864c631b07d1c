"""The shared core of every dialect: how a name, a value and a type are written in SQL.

A name is always quoted (a producer's `order`, `select` or `a"b` is a column like any other) and
qualified by quoting each part; a value is a parameter, or a literal built here, never a Python
repr; a contract's logical type becomes the dialect's physical one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pipefix.pipeline.contracts import decimal_scale


@dataclass(frozen=True)
class Dialect:
    name: str
    types: Mapping[str, str] = field(default_factory=dict)  # logical type -> physical type
    quote_char: str = '"'
    temp_schema: str = "temp"  # where a temp table lives (PostgreSQL: pg_temp)

    def ident(self, name: str) -> str:
        """A name quoted: the quote character inside it doubled."""
        q = self.quote_char
        return q + name.replace(q, q + q) + q

    def table(self, *parts: str) -> str:
        """A qualified name, each part quoted: table("pipefix", "batches")."""
        return ".".join(self.ident(part) for part in parts)

    def temp_table(self, name: str) -> str:
        return self.table(self.temp_schema, name)

    def string(self, value: str) -> str:
        """A text literal: single quotes doubled."""
        return "'" + value.replace("'", "''") + "'"

    def number(self, value: float) -> str:
        """A number every dialect reads exactly: plain digits (`0.00001`, never Python's repr
        `1e-05`); past 38 digits, which no decimal holds, in SQL's E notation."""
        exact = Decimal(repr(float(value)))
        _, digits, exponent = exact.as_tuple()
        if not isinstance(exponent, int):  # 'n' or 'F': a NaN or an infinity
            raise ValueError(f"not a finite number: {value!r}")
        plain = format(exact, "f")
        return plain if len(digits) + max(exponent, 0) <= 38 else f"{exact:E}"

    def column_type(self, logical: str) -> str:
        """The physical type of a contract's logical type."""
        scale = decimal_scale(logical)
        if scale is not None:
            return f"DECIMAL({scale[0]},{scale[1]})"
        return self.types[logical]


def placeholders(count: int) -> str:
    """`?, ?, ?`: one parameter per value, in every dialect (engines bind `?`)."""
    return ", ".join("?" for _ in range(count))
