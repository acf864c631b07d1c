"""A validated `pipefix.yaml` and the file it came from.

Relative paths resolve against the file's folder; the tables' settings become version-1 contracts,
adapters and CSV options; the warehouse URL becomes a target, shown with its password hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipefix.config.messages import Loc, _dotted, _line_of
from pipefix.config.schema import DUCKDB_PREFIX, SPARK_PREFIXES, TIMESTAMPS, PipefixConfig
from pipefix.pipeline.contracts import Adapter, ColumnSpec, ColumnTransform, Contract, TransformKind
from pipefix.pipeline.csv_dialect import CsvOptions
from pipefix.pipeline.landing import LandingRules


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
        """The tables' `csv:` settings (csv_config.py)."""
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
