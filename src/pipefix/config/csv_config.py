"""A table's `csv:` setting in pipefix.yaml: how its CSV files are written, where sniffing
(pipeline/csv_dialect.py) should not decide.

    tables:
      orders:
        csv: {delimiter: ";", decimal: ",", quote: '"', header: true}

Each key is optional; those left out are sniffed from each file.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from pipefix.pipeline.csv_dialect import DECIMALS, DELIMITERS, QUOTES, CsvOptions

_NAMED = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join("tab" if v == "\t" else repr(v) for v in values)


class CsvConfig(BaseModel):
    """`delimiter` (`,` `;` `|` or tab), `quote` (`"` or `'`), `decimal` (`.` or `,`), `header`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str | None = None
    quote: str | None = None
    decimal: str | None = None
    header: bool | None = None

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _NAMED.get(value.lower(), value)
        if value not in DELIMITERS:
            raise ValueError(f"delimiter must be one of {_choices(DELIMITERS)}, got {value!r}")
        return value

    @field_validator("quote")
    @classmethod
    def _quote(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value not in QUOTES:
            raise ValueError(f"quote must be one of {_choices(QUOTES)}, got {value!r}")
        return value

    @field_validator("decimal")
    @classmethod
    def _decimal(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if value not in DECIMALS:
            raise ValueError(f"decimal must be one of {_choices(DECIMALS)}, got {value!r}")
        if value == info.data.get("delimiter"):
            raise ValueError(f"decimal {value!r} cannot also be the delimiter")
        return value

    def options(self) -> CsvOptions:
        return CsvOptions(self.delimiter, self.quote, self.decimal, self.header)
