"""What every engine offers the tools: typed capabilities and a small protocol."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipefix.engines.sql import catalog, probe
from pipefix.engines.sql.dialects import DUCKDB
from pipefix.engines.sql.migration import ShapeChange
from pipefix.errors import EngineError as EngineError


@dataclass(frozen=True)
class Capabilities:
    dialect: str
    # The dialect of the statements on pipefix's own state (engines/store): the warehouse's own,
    # except where the state lives apart (Spark: a DuckDB file beside the warehouse).
    state_dialect: str
    temp_schema: str = "temp"  # where this engine keeps temp tables (PostgreSQL: pg_temp)
    # A user table is a view over physical versions pipefix registers (Spark): a retype writes a
    # new version, and a table another tool wrote there is not one pipefix sees, nor adopts.
    versioned_tables: bool = False
    # A view pins the types of the columns it reads: no ALTER COLUMN ... TYPE under it (PostgreSQL)
    views_pin_column_types: bool = False
    # The planner costs a query from statistics gathered before the last load, so a join or a
    # correlated subquery can become a nested loop over rows it believes absent (PostgreSQL):
    # queries over freshly loaded rows use forms without one (health's key probe: INTERSECT).
    stale_plan_risk: bool = False
    # How a load's accepted rows travel from the judge's DuckDB into another warehouse:
    # "rows" (copy_rows, Python tuples), "csv" (a file DuckDB writes, copied in whole:
    # CsvCopier, PostgreSQL), "arrow" (Arrow record batches: ArrowCopier, Spark).
    bulk_rows: str = "rows"


class Engine(Protocol):
    """A warehouse. SQL uses `?` placeholders whatever the dialect; every statement passes the
    safety guard (engines/safety.py) before it runs, and is appended to `statement_log`."""

    capabilities: Capabilities
    statement_log: list[str]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def query_many(self, statements: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        """Independent read-only statements, each one's rows in order; an engine where a
        statement is a job of its own (Spark) runs them at once."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Commit on success, roll back on any exception; nested use joins the outer one."""
        ...

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Bulk-append Python rows (Decimal, datetime, str, int, None ...) to `table` (which may be
        schema-qualified, e.g. `pipefix.quarantine`); returns the number of rows written."""
        ...

    def existing_rows(
        self, table: str, key: str | None, keys: Sequence[str], batches: Sequence[str]
    ) -> list[tuple[str | None, str, int]]:
        """What a batch being judged must know of `table`: its rows of `batches` (written by a
        load that did not commit) and those whose key, as text, is one of `keys`, as
        (key as text, batch, line)."""
        ...

    def table_columns(self, table: str, schema: str = ...) -> dict[str, str]:
        """Column name -> the engine's type name, in table order (the default schema if none)."""
        ...

    def interrupt(self) -> None:
        """Stop: the statement running now is cancelled (its transaction rolls back) and every
        statement after it raises Interrupted. Safe from a signal handler or another thread."""
        ...

    def close(self) -> None: ...


class CsvCopier(Protocol):
    """An engine that appends a CSV file's rows in one statement (`Capabilities.bulk_rows`)."""

    def copy_csv(self, table: str, columns: Sequence[str], path: Path) -> None: ...


class ArrowCopier(Protocol):
    """An engine that appends Arrow record batches (`Capabilities.bulk_rows`)."""

    def copy_record_batches(self, table: str, columns: Sequence[str], batches: Iterable[Any]) -> int: ...


class VersionedTables(Protocol):
    """An engine whose user tables are versions it registers (`Capabilities.versioned_tables`):
    a change to a table's shape is an operation it carries out, not a statement it parses."""

    def change_shape(self, change: ShapeChange) -> None: ...


def scalar(engine: Engine, sql: str, params: Sequence[Any] = ()) -> Any:
    rows = engine.query(sql, params)
    return rows[0][0] if rows else None


# The line of a row loaded before pipefix adopted its table (`_pipefix_line` IS NULL): no staged
# record has it, so such a row is never taken for a load that did not commit; its key counts.
NO_LINE = -1


def existing_rows_by_lists(
    engine: Engine, table: str, key: str | None, keys: Sequence[str], batches: Sequence[str]
) -> list[tuple[str | None, str, int]]:
    """`Engine.existing_rows` through IN lists: fine where a statement is cheap (PostgreSQL)."""
    lookups: list[tuple[str | None, Sequence[str]]] = [
        ("_pipefix_batch", chunk) for chunk in iter_chunks(batches, 5000)
    ]
    if key:
        lookups += [(None, chunk) for chunk in iter_chunks(keys, 5000)]  # None: the key, as text
    queries = [(probe.rows_where(DUCKDB, table, key, column, len(chunk)), chunk) for column, chunk in lookups]
    return existing_rows_of(engine, queries)


def existing_rows_of(
    engine: Engine, queries: Iterable[tuple[str, Sequence[Any]]]
) -> list[tuple[str | None, str, int]]:
    """The rows the probe `queries` return (each: key as text, batch, line), each lineage once; a
    row from before pipefix (no line) with NO_LINE, every one kept: its key counts."""
    found: dict[tuple[str, int], str | None] = {}
    adopted: list[tuple[str | None, str, int]] = []
    for statement, params in queries:
        for k, b, line in engine.query(statement, params):
            if line is None:
                adopted.append((k, str(b), NO_LINE))
            else:
                found[(str(b), int(line))] = k
    return [(k, b, line) for (b, line), k in found.items()] + adopted


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def columns_of(engine: Engine, table: str, schema: str | None = None) -> dict[str, str]:
    """Column name -> type name, in table order; the engine's current schema when none is named."""
    if engine.capabilities.versioned_tables:  # its registry, not a catalog, says what a table holds
        return engine.table_columns(table) if schema is None else engine.table_columns(table, schema)
    params = (schema, table) if schema is not None else (table,)
    return dict(engine.query(catalog.columns(schema is not None), params))


def has_rows(engine: Engine, table: str) -> bool:
    return bool(engine.query(catalog.first_row(DUCKDB, table)))


def column_facts(engine: Engine, table: str) -> list[tuple[str, bool, int | None]]:
    """(name, nullable, character limit) of each column of `table` in the current schema, in order."""
    rows = engine.query(catalog.column_facts(), (table,))
    return [(str(name), str(nullable).upper() == "YES", length) for name, nullable, length in rows]
