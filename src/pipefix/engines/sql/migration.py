"""Changes to a user table's shape, as typed operations: created, columns added, dropped while
empty, widened; the compatibility views `<table>_v<n>` of a contract's earlier versions; the
empty copy a migration is tried on first (its shadow trial).

An operation holds names and logical types, never SQL text. A SQL engine runs the statement
`sql(dialect)` builds; an engine that keeps its tables in versions (Spark) takes the operation
itself (engines/table_shape.py), so no statement is parsed back into what it meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pipefix.engines.sql.dialects import Dialect
from pipefix.pipeline.contracts import Contract

LINEAGE_COLUMNS = ("_pipefix_batch", "_pipefix_line", "_pipefix_loaded_step")
_LINEAGE_TYPES = ("varchar", "bigint", "bigint")


@dataclass(frozen=True)
class CreateTable:
    """A user table as pipefix creates it: the contract's columns, then each row's lineage."""

    table: str
    columns: tuple[tuple[str, str], ...]  # (name, logical type), lineage included

    @classmethod
    def of(cls, contract: Contract) -> CreateTable:
        own = tuple((c.name, c.type) for c in contract.columns)
        return cls(contract.table, own + tuple(zip(LINEAGE_COLUMNS, _LINEAGE_TYPES, strict=True)))

    def sql(self, d: Dialect) -> str:
        listed = ", ".join(f"{d.ident(c)} {d.column_type(t)}" for c, t in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {d.table(self.table)} ({listed})"


@dataclass(frozen=True)
class AddColumn:
    """`default`: what the rows already there hold (a text or a whole number), else NULL."""

    table: str
    column: str
    logical: str
    default: str | int | None = None

    def sql(self, d: Dialect) -> str:
        tail = ""
        if self.default is not None:
            value = self.default
            tail = f" DEFAULT {d.string(value) if isinstance(value, str) else int(value)}"
        kind = d.column_type(self.logical)
        return f"ALTER TABLE {d.table(self.table)} ADD COLUMN {d.ident(self.column)} {kind}{tail}"


@dataclass(frozen=True)
class DropColumn:
    """Run only while the column holds no value (the safety guard checks)."""

    table: str
    column: str

    def sql(self, d: Dialect) -> str:
        return f"ALTER TABLE {d.table(self.table)} DROP COLUMN {d.ident(self.column)}"


@dataclass(frozen=True)
class RetypeColumn:
    table: str
    column: str
    logical: str

    def sql(self, d: Dialect) -> str:
        return (
            f"ALTER TABLE {d.table(self.table)} ALTER COLUMN {d.ident(self.column)} "
            f"TYPE {d.column_type(self.logical)}"
        )


@dataclass(frozen=True)
class CreateView:
    """A view of `columns` of `table`; each column in `casts` read as that logical type: cast
    from the table's column, or NULL while it is `detached` (changing type under the view)."""

    view: str
    table: str
    columns: tuple[str, ...]
    casts: Mapping[str, str] = field(default_factory=dict)
    detached: bool = False

    def sql(self, d: Dialect) -> str:
        def item(column: str) -> str:
            if column not in self.casts:
                return d.ident(column)
            source = "NULL" if self.detached else d.ident(column)
            return f"CAST({source} AS {d.column_type(self.casts[column])}) AS {d.ident(column)}"

        listed = ", ".join(item(c) for c in self.columns)
        return f"CREATE OR REPLACE VIEW {d.table(self.view)} AS SELECT {listed} FROM {d.table(self.table)}"


@dataclass(frozen=True)
class EmptyTempCopy:
    """A temp table `name` with `table`'s columns and no row."""

    name: str
    table: str

    def sql(self, d: Dialect) -> str:
        return f"CREATE TEMP TABLE {d.ident(self.name)} AS SELECT * FROM {d.table(self.table)} LIMIT 0"


ShapeChange = CreateTable | AddColumn | DropColumn | RetypeColumn | CreateView | EmptyTempCopy


def views_in_current_schema() -> str:
    """The names of the views in the current schema."""
    return "SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()"


def drop_temp_table(d: Dialect, name: str) -> str:
    return f"DROP TABLE IF EXISTS {d.temp_table(name)}"
