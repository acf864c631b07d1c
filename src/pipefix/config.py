"""The pipeline's configuration file, `pipefix.yaml`.

Pydantic models for every section, and a loader that reports each problem as
`file:line: key.path: message` — the line is the YAML node the problem is about — and never
lets a traceback reach the user for bad input. `${NAME}` in any string value is replaced by the
environment variable NAME.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from pipefix.config_csv import CsvConfig
from pipefix.errors import ConfigError as ConfigError
from pipefix.notify.settings import AlertSink
from pipefix.pipeline.contracts import (
    Adapter,
    ColumnSpec,
    ColumnTransform,
    Contract,
    TransformKind,
    decimal_scale,
    is_valid_type,
    type_family,
)
from pipefix.pipeline.csv_dialect import CsvOptions
from pipefix.pipeline.landing import LandingRules

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
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_MAX_NODES = 100_000  # guards against alias bombs; a real config has a few hundred nodes

Loc = tuple[str | int, ...]


# --------------------------------------------------------------------------------------------- models


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


# ------------------------------------------------------------------------------------ loaded config


@dataclass(frozen=True)
class WarehouseTarget:
    """Where rows are loaded. duckdb: `path` is the resolved file; postgres: `url` includes the password."""

    kind: Literal["duckdb", "postgres", "spark"]
    url: str
    path: Path | None

    def redacted(self) -> str:
        return redact_url(self.url)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and the (absolute) file it came from; relative paths resolve against its folder."""

    config: PipefixConfig
    path: Path
    lines: dict[Loc, int] = field(default_factory=dict, compare=False)  # the line of every key
    source: str = ""  # the file as it was named, for messages

    @property
    def folder(self) -> Path:
        return self.path.parent

    def where(self, loc: Loc) -> str:
        """`file:line: key.path` of a setting: the line of its deepest part still in the file."""
        return f"{self.source or self.path}:{_line_of(loc, self.lines)}: {_dotted(loc)}"

    def contracts(self) -> dict[str, Contract]:
        """Version-1 contracts, one per table, columns in file order."""
        contracts: dict[str, Contract] = {}
        for table, spec in self.config.tables.items():
            columns = tuple(
                ColumnSpec(name, col.type, col.nullable, col.min, col.max, col.values)
                for name, col in spec.columns.items()
            )
            freshness_column = (
                next((c.name for c in columns if c.type in TIMESTAMPS), None) if spec.freshness else None
            )
            contracts[table] = Contract(
                table,
                1,
                columns,
                key=spec.key,
                freshness_column=freshness_column,
                freshness_seconds=spec.freshness_seconds,
            )
        return contracts

    def adapters(self) -> dict[str, Adapter]:
        """Version-1 adapters of the tables with a column read from another field (`source:`)."""
        adapters: dict[str, Adapter] = {}
        for table, spec in self.config.tables.items():
            transforms = tuple(
                ColumnTransform(name, TransformKind.RENAME, col.source)
                for name, col in spec.columns.items()
                if col.source is not None and col.source != name
            )
            if transforms:
                adapters[table] = Adapter(table, 1, transforms)
        return adapters

    def csv_options(self) -> dict[str, CsvOptions]:
        """The tables' `csv:` settings (config_csv.py)."""
        return {t: spec.csv.options() for t, spec in self.config.tables.items() if spec.csv is not None}

    def landing_dir(self) -> Path:
        return self.folder / Path(self.config.landing.path).expanduser()

    def landing_rules(self) -> LandingRules:
        landing = self.config.landing
        return LandingRules(landing.settle_seconds, landing.require_success_marker)

    def model_spec(self) -> str | None:
        """The `model:` setting, a `file:` path made absolute against this file's folder."""
        spec = self.config.model
        if spec is not None and spec.startswith("file:"):
            return f"file:{self.folder / Path(spec[len('file:') :].strip()).expanduser()}"
        return spec

    def warehouse(self) -> WarehouseTarget:
        url = self.config.warehouse
        if url.startswith(DUCKDB_PREFIX):
            return WarehouseTarget("duckdb", url, self.folder / Path(url[len(DUCKDB_PREFIX) :]).expanduser())
        if url.startswith(SPARK_PREFIXES):  # the Spark warehouse dir and pipefix's state beside it
            return WarehouseTarget("spark", url, self.folder / "spark-warehouse")
        return WarehouseTarget("postgres", url, None)

    def redacted_warehouse(self) -> str:
        return redact_url(self.config.warehouse)


def redact_url(url: str) -> str:
    """The URL with any password (in the user info or a `password=` parameter) replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    # Up to the last `@`: a password may hold unencoded `/`, `?` or `@`; at worst this hides too much.
    at = rest.rfind("@")
    if at >= 0:
        userinfo, host = rest[:at], rest[at + 1 :]
        if ":" in userinfo:
            rest = f"{userinfo.partition(':')[0]}:***@{host}"
    rest = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", rest)
    return f"{scheme}://{rest}"


# ------------------------------------------------------------------------------------------- loading


def load_config(path: Path) -> LoadedConfig:
    """Read and validate a config file. Every problem, including bad YAML, raises ConfigError."""
    source = str(path)
    text = _read_text(path, source)
    data, lines = _parse(text, source)
    try:
        config = PipefixConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lines, source)) from None
    return LoadedConfig(config, path.resolve(), lines, source)


def _read_text(path: Path, source: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: no such file (`pipefix init` writes one; or point to yours with --config)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{source}:{line}: not valid UTF-8 text (byte {raw[exc.start]:#04x})") from None


def _parse(text: str, source: str) -> tuple[dict[str, Any], dict[Loc, int]]:
    """The document as plain values, and the line (1-based) of every key and list item by its path."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None or (isinstance(root, ScalarNode) and root.tag.endswith(":null")):
            raise ConfigError(
                f"{source}: the file has no settings; it needs at least `warehouse:` and `tables:`"
            )
        line = root.start_mark.line + 1
        if not isinstance(root, MappingNode):
            raise ConfigError(
                f"{source}:{line}: expected settings as `key: value` lines (warehouse, tables, ...), "
                f"got {'a list' if isinstance(root, SequenceNode) else 'a single value'}"
            )
        reader = _Reader(loader, source)
        reader.lines[()] = line
        data = reader.mapping(root, ())
        return data, reader.lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = exc.problem or exc.context or "cannot parse"
        if exc.problem and exc.context:
            problem += f" ({exc.context})"
        lines = text.splitlines()
        written = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        if "flow" in problem and "${" in written:
            problem += "; inside [...] or {...}, put values that use ${NAME} in quotes"
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        char = exc.character
        code = (
            char if isinstance(char, int) else ord(char) if isinstance(char, str) and len(char) == 1 else None
        )
        problem = f"character #x{code:04x} is not allowed" if code is not None else exc.reason
        raise ConfigError(f"{source}:{line}:{column}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


class _Reader:
    """Turns composed YAML nodes into plain values, recording the line of every key and list item."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.lines: dict[Loc, int] = {}
        self._count = 0
        self._open: set[int] = set()

    def fail(self, node: Node, path: Loc, message: str) -> ConfigError:
        where = f"{self.source}:{node.start_mark.line + 1}"
        return ConfigError(f"{where}: {_dotted(path)}: {message}" if path else f"{where}: {message}")

    @contextmanager
    def _visiting(self, node: Node, path: Loc) -> Iterator[None]:
        self._count += 1
        if self._count > _MAX_NODES:
            raise self.fail(node, (), "too many values (do aliases expand into each other?)")
        if not isinstance(node, ScalarNode) and node.tag not in _COLLECTION_TAGS:
            mark = node.start_mark
            where = f"{self.source}:{mark.line + 1}:{mark.column + 1}"
            raise ConfigError(f"{where}: invalid YAML: tag {node.tag!r} is not supported")
        if id(node) in self._open:
            raise self.fail(node, path, "an alias refers to the value that contains it")
        self._open.add(id(node))
        try:
            yield
        finally:
            self._open.discard(id(node))

    def value(self, node: Node, path: Loc) -> Any:
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            with self._visiting(node, path):
                items: list[Any] = []
                for index, item in enumerate(node.value):
                    self.lines[(*path, index)] = item.start_mark.line + 1
                    items.append(self.value(item, (*path, index)))
                return items
        return self.scalar(node, path)

    def mapping(self, node: MappingNode, path: Loc) -> dict[str, Any]:
        with self._visiting(node, path):
            result: dict[str, Any] = {}
            # `<<: *anchor` merges first, so that the mapping's own keys (and their lines) win.
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                    for source in sources:
                        if not isinstance(source, MappingNode):
                            raise self.fail(source, path, "`<<` can only merge mappings")
                        for key, item in self.mapping(source, path).items():
                            result.setdefault(key, item)
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                if not isinstance(key_node, ScalarNode):
                    raise self.fail(key_node, path, "a key must be a plain name, not a list or a mapping")
                key = str(key_node.value)  # the text as written: `on:` or `1:` stay names
                line = key_node.start_mark.line + 1
                if key in first_line:
                    raise self.fail(
                        key_node, (*path, key), f"duplicate key (first written on line {first_line[key]})"
                    )
                first_line[key] = line
                self.lines[(*path, key)] = line
                result[key] = self.value(value_node, (*path, key))
            return result

    def scalar(self, node: Node, path: Loc) -> Any:
        with self._visiting(node, path):
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.YAMLError:
                raise
            except Exception as exc:  # e.g. `2026-13-45` matches YAML's date pattern but is no date
                raise self.fail(node, path, f"cannot read {str(node.value)[:40]!r}: {exc}") from None
            if isinstance(value, str) and "${" in value:
                return self._substitute(value, node, path)
            return value

    def _substitute(self, text: str, node: Node, path: Loc) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            found = os.environ.get(name)
            if found is None:
                raise self.fail(node, path, f"environment variable {name!r} is not set")
            return found

        return _ENV_VAR.sub(replace, text)


# ---------------------------------------------------------------------------------- error messages


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    """The line of the deepest node of `loc` present in the file."""
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return 1


def _describe(exc: ValidationError, lines: dict[Loc, int], source: str) -> str:
    found: list[tuple[int, str]] = []
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(part for part in error["loc"] if part != "[key]")
        shown = loc[:-1] if error["type"] in ("missing", "extra_forbidden") and loc else loc
        line = _line_of(loc, lines)
        message = _message(error, loc)
        text = f"{source}:{line}: {_dotted(shown)}: {message}" if shown else f"{source}:{line}: {message}"
        if text not in (t for _, t in found):
            found.append((line, text))
    found.sort(key=lambda item: item[0])
    return "\n".join(text for _, text in found)


def _message(error: ErrorDetails, loc: Loc) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    given = error.get("input")
    name = loc[-1] if loc else ""
    if kind == "missing":
        return f"missing required key {name!r}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        if not allowed:
            return f"unknown key {name!r}"
        close = difflib.get_close_matches(str(name), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key {name!r} ({hint}allowed: {', '.join(allowed)})"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_type":
        return f"expected text, got {_show(given)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of `key: value` settings, got {_show(given)}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {_show(given)}"
    if kind.startswith("bool_"):
        return f"expected true or false, got {_show(given)}"
    if kind.startswith("int_"):
        return f"expected a whole number, got {_show(given)}"
    if kind.startswith("float_") or kind == "finite_number":
        return f"expected a finite number, got {_show(given)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got {_show(given)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {_show(given)}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {_show(given)}"
    msg = str(error["msg"])
    return msg[:1].lower() + msg[1:]


def _show(value: object) -> str:
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (YAML reads yes/no/on/off as true/false; quote a value meant as text)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"a {type(value).__name__} value"


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the model at `loc` accepts, by following field annotations from PipefixConfig."""
    current: Any = PipefixConfig
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return []
        if get_origin(current) in (Union, types.UnionType):
            current = next((a for a in get_args(current) if a is not type(None)), None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []
