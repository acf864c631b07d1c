"""The schema of `pipefix.yaml`: a pydantic model for every section.

The project (`warehouse`, `landing`, `model`), its tables and their columns, the policies, the
budget and the goal, each validated with a message a person can act on. Where each message lands
in the file is messages.py's part; reading the file is reader.py's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from pipefix.config.csv_config import CsvConfig
from pipefix.config.messages import _show
from pipefix.notify.settings import AlertSink
from pipefix.pipeline.contracts import decimal_scale, is_valid_type, type_family

CONFIG_FILE = "pipefix.yaml"
TYPE_CHOICES = "bigint, integer, double, decimal(p,s), varchar, boolean, timestamp, timestamptz, date, json"
TIMESTAMPS = ("timestamp", "timestamptz")  # freshness is measured on the first of these
MAX_NAME_LENGTH = 63
RESERVED_PREFIXES = ("_pipefix", "pipefix")
DUCKDB_PREFIX = "duckdb:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
SPARK_PREFIXES = ("spark://", "sc://")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DURATION = re.compile(r"(\d{1,9})\s*([smhd])")


def parse_duration(text: str) -> int:
    """`90s`, `30m`, `24h`, `7d` -> seconds. Raises ValueError for anything else."""
    match = _DURATION.fullmatch(text.strip())
    seconds = int(match.group(1)) * DURATION_UNITS[match.group(2)] if match else 0
    if seconds <= 0:
        raise ValueError(
            f"invalid duration {text!r}: use a positive number and a unit, like 90s, 30m, 24h or 7d"
        )
    return seconds


def _name_checker(kind: str) -> Callable[[str], str]:
    def check(name: str) -> str:
        if len(name) > MAX_NAME_LENGTH:
            raise ValueError(f"{kind} name {name[:24] + '...'!r} is longer than {MAX_NAME_LENGTH} characters")
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"invalid {kind} name {name!r}: use letters, digits and underscores, "
                "starting with a letter or an underscore"
            )
        if name.lower().startswith(RESERVED_PREFIXES):
            raise ValueError(
                f"{kind} name {name!r} is reserved: names starting with 'pipefix' or '_pipefix' "
                "are pipefix's own"
            )
        return name

    return check


def _distinct_ignoring_case(names: list[str], kind: str) -> None:
    """Warehouses fold unquoted identifiers, so `Price` and `price` would be the same column."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise ValueError(
                f"{kind}s {other!r} and {name!r} differ only in case; the warehouse cannot tell them apart"
            )


TableName = Annotated[str, AfterValidator(_name_checker("table"))]
ColumnName = Annotated[str, AfterValidator(_name_checker("column"))]
PolicyMode = Literal["auto", "approve", "block"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnConfig(_Model):
    """One column of a table's contract."""

    type: str
    nullable: bool = True
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    values: tuple[str, ...] | None = Field(default=None, min_length=1)
    # The record field the value is read from, when it cannot be the column's name (a CSV
    # header `Height(Inches)`): the table starts with an adapter that reads it.
    source: str | None = Field(default=None, min_length=1)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        canonical = re.sub(r"\s+", "", value.lower())
        if is_valid_type(canonical):
            return canonical
        if canonical.startswith("decimal(") and ")" not in canonical:
            raise ValueError(
                f"incomplete type {value!r}: inside {{...}} a comma separates settings, "
                'so put decimal types in quotes, like "decimal(12,2)"'
            )
        if decimal_scale(canonical) is not None:
            raise ValueError(
                f"invalid type {value!r}: decimal(p,s) needs a precision p from 1 to 38 "
                "and a scale s of at most p"
            )
        raise ValueError(f"unknown type {value!r} (use {TYPE_CHOICES})")

    @field_validator("min", "max")
    @classmethod
    def _numeric_bounds(cls, value: float | None, info: ValidationInfo) -> float | None:
        logical = info.data.get("type")
        if value is None:
            return None
        if logical is not None and type_family(logical) != "numeric":
            raise ValueError(f"{info.field_name} applies to numeric columns only, not {logical}")
        low = info.data.get("min")
        if info.field_name == "max" and low is not None and low > value:
            raise ValueError(f"max ({value:g}) is below min ({low:g})")
        return value

    @field_validator("values")
    @classmethod
    def _varchar_values(cls, value: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        logical = info.data.get("type")
        if value is not None and logical is not None and logical != "varchar":
            raise ValueError(f"values apply to varchar columns only, not {logical}")
        return value


class TableConfig(_Model):
    """A table's contract: its columns (in file order), an optional unique key and freshness."""

    columns: dict[ColumnName, ColumnConfig] = Field(min_length=1)
    key: str | None = None
    freshness: str | None = None
    csv: CsvConfig | None = None  # how its CSV files are written, where sniffing should not decide

    @field_validator("columns")
    @classmethod
    def _columns_distinct(cls, value: dict[str, ColumnConfig]) -> dict[str, ColumnConfig]:
        _distinct_ignoring_case(list(value), "column")
        read: dict[str, str] = {}
        for name, column in value.items():
            field = column.source or name
            if field in read or (column.source is not None and field in value and field != name):
                other = read.get(field, field)
                raise ValueError(f"columns {other!r} and {name!r} would both read field {field!r}")
            read[field] = name
        return value

    @field_validator("key")
    @classmethod
    def _key_is_a_column(cls, value: str | None, info: ValidationInfo) -> str | None:
        columns = info.data.get("columns")
        if value is not None and columns is not None and value not in columns:
            raise ValueError(f"key {value!r} is not one of the table's columns ({', '.join(columns)})")
        return value

    @field_validator("freshness", mode="before")
    @classmethod
    def _freshness(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"expected a duration like 90s, 30m, 24h or 7d, got {_show(value)}")
        parse_duration(value)
        columns = info.data.get("columns")
        if columns is not None and not any(c.type in TIMESTAMPS for c in columns.values()):
            raise ValueError("freshness is measured on a timestamp column, and this table has none")
        return value.strip()

    @property
    def freshness_seconds(self) -> int | None:
        return parse_duration(self.freshness) if self.freshness is not None else None


class Policies(_Model):
    """What pipefix may do on its own for each kind of schema change."""

    add_column: PolicyMode = "auto"
    remove_column: PolicyMode = "auto"
    rename_column: PolicyMode = "auto"
    type_change: PolicyMode = "auto"
    # A folder in landing/ no table of pipefix.yaml names: a new table is a new commitment, so
    # pipefix proposes its inferred contract and asks first (tools/new_tables.py).
    add_table: PolicyMode = "approve"


class BudgetConfig(_Model):
    max_fixes: int = Field(default=15, ge=0)


class GoalConfig(_Model):
    health: float = Field(default=0.95, ge=0, le=1, allow_inf_nan=False)
    error_rate: float = Field(default=0.02, ge=0, le=1, allow_inf_nan=False)


class LandingConfig(_Model):
    """Where producers drop batch files, and when a file is complete enough to read.

    `landing: landing` (a folder) is short for `landing: {path: landing}`."""

    path: str = "landing"
    # A file is read once unchanged this long (by its mtime): a producer may still be writing it.
    settle: str = "5s"
    # Read a folder's files only once a `_SUCCESS` file is in it (Spark, Hadoop).
    require_success_marker: bool = False

    @field_validator("path")
    @classmethod
    def _folder(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a folder, like landing")
        return value.strip()

    @field_validator("settle", mode="before")
    @classmethod
    def _quiet_time(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(
                f"expected a duration like 5s, 30s or 2m (0s: read files at once), got {_show(value)}"
            )
        settle_seconds(value)
        return value.strip()

    @property
    def settle_seconds(self) -> int:
        return settle_seconds(self.settle)


def settle_seconds(text: str) -> int:
    """`0s`, `5s`, `2m` -> seconds; zero is allowed (unlike parse_duration)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit, like 5s, 30s or 2m (0s: read files at once)"
        )
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


class PipefixConfig(_Model):
    """The whole of `pipefix.yaml`."""

    warehouse: str
    landing: LandingConfig = Field(default_factory=LandingConfig)
    tables: dict[TableName, TableConfig] = Field(min_length=1)
    policies: Policies = Field(default_factory=Policies)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    goal: GoalConfig = Field(default_factory=GoalConfig)
    alerts: tuple[AlertSink, ...] = ()
    # Who plans `pipefix run`: offline (the rules), PROVIDER:NAME or file:PATH (relative to this
    # file); `--model` wins. Unset: the rules — a provider's API key never picks a model by itself.
    model: str | None = None

    @field_validator("warehouse")
    @classmethod
    def _warehouse_url(cls, value: str) -> str:
        url = value.strip()
        if url.startswith(DUCKDB_PREFIX):
            if not url[len(DUCKDB_PREFIX) :]:
                raise ValueError("duckdb:/// needs a file, like duckdb:///warehouse.duckdb")
            return url
        if url.startswith(POSTGRES_PREFIXES):
            return url
        if url.startswith(SPARK_PREFIXES):
            if not re.fullmatch(r"spark://local(\[(\d+|\*)\])?|sc://[\w.\-]+(:\d+)?(/.*)?", url):
                raise ValueError(f"unsupported Spark URL {url!r}: use spark://local[N] or sc://host:port")
            return url
        scheme = url.partition("://")[0] if "://" in url else url[:20]
        raise ValueError(
            f"unsupported warehouse {scheme!r}: use duckdb:///<file> or postgresql://user@host:port/db "
            "(or spark://local[N], sc://host:port)"
        )

    @field_validator("landing", mode="before")
    @classmethod
    def _landing_folder(cls, value: object) -> object:
        if value is None:
            return {}
        if isinstance(value, str):  # `landing: landing`, the folder alone
            if not value.strip():
                raise ValueError("must name a folder, like landing")
            return {"path": value}
        return value

    @field_validator("tables")
    @classmethod
    def _tables_distinct(cls, value: dict[str, TableConfig]) -> dict[str, TableConfig]:
        _distinct_ignoring_case(list(value), "table")
        return value

    @field_validator("policies", "budget", "goal", mode="before")
    @classmethod
    def _empty_section_means_defaults(cls, value: object) -> object:
        return {} if value is None else value

    @field_validator("alerts", mode="before")
    @classmethod
    def _no_alerts(cls, value: object) -> object:
        return () if value is None else value

    @field_validator("model")
    @classmethod
    def _model_spec(cls, value: str | None) -> str | None:
        from pipefix.planners.models import spec_problem  # LangChain's import only when a model is named

        if value is None:
            return None
        problem = spec_problem(value.strip())
        if problem is not None:
            raise ValueError(problem)
        return value.strip()
