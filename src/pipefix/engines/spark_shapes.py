"""The Spark engine's typed changes of a table's shape (engines/table_shape.py): each operation
carried out on the table's physical versions and the registry, never parsed back from SQL text.
A trial's shadow copy (`_pipefix_*`, temp) lives in the state DuckDB and takes the operation's
DuckDB statement. DDL sent as text reaches the same methods through the router.

SparkShapes is a mixin of SparkEngine (spark.py), which keeps the versions and the Spark calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipefix.engines.base import EngineError
from pipefix.engines.safety import DestructiveStatementError
from pipefix.engines.spark_router import _is_state_name
from pipefix.engines.spark_session import _first_line
from pipefix.engines.sql import spark_registry as registry
from pipefix.engines.sql import spark_versions as versions
from pipefix.engines.sql.dialects import DUCKDB, SPARK
from pipefix.engines.sql.migration import (
    AddColumn,
    CreateTable,
    CreateView,
    DropColumn,
    EmptyTempCopy,
    RetypeColumn,
    ShapeChange,
)
from pipefix.errors import Interrupted, PipefixError

if TYPE_CHECKING:
    from pipefix.engines.duckdb import DuckDBEngine


class SparkShapes:
    """Creates, widens, retypes and narrows (while empty) user tables as new versions."""

    # What the changes use of the engine, set or defined by SparkEngine and SparkRouter.
    url: str
    state: DuckDBEngine
    statement_log: list[str]
    _stopped: bool

    if TYPE_CHECKING:

        def _active(self, table: str, missing_ok: bool = False) -> tuple[str, list[tuple[str, str]]]: ...

        def _new_version(
            self, table: str, columns: list[tuple[str, str]], source: str | None, cause: str
        ) -> str: ...

        def _set_active(self, table: str, physical: str, columns: list[tuple[str, str]]) -> None: ...

        def _physical_columns(self, physical: str) -> dict[str, str]: ...

        def _spark_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

        def _run_state(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    def change_shape(self, change: ShapeChange) -> None:
        """Carry out a change as the operation it is: no statement is parsed back into it. A
        trial's shadow copy (`_pipefix_*`, temp) lives in the state DuckDB and takes its SQL."""
        if self._stopped:
            raise Interrupted(f"stopped: Spark warehouse {self.url} was interrupted")
        if isinstance(change, EmptyTempCopy):
            self.empty_copy(change.name, change.table)
            return
        if _is_state_name(change.view if isinstance(change, CreateView) else change.table):
            self._run_state(change.sql(DUCKDB), ())
            return
        statement = change.sql(SPARK)
        if isinstance(change, DropColumn):  # refused before it shows as run, as on every engine
            self.refuse_if_filled(change.table, change.column)
        self.statement_log.append(statement)
        try:
            self._change_user_table(change, statement)
        except PipefixError:  # already pipefix's own: an engine error, a refusal, a stop
            raise
        except Exception as error:  # pyspark raises its own exception tree, py4j others
            raise EngineError(f"{_first_line(error)}\n  in: {statement[:300]}") from error

    def _change_user_table(self, change: ShapeChange, statement: str) -> None:
        if isinstance(change, CreateTable):
            self.create_table(change.table, [(c, SPARK.column_type(t)) for c, t in change.columns], True)
        elif isinstance(change, AddColumn):
            if change.default is not None:
                raise EngineError(
                    f"Spark adds no column with a default (in-place Parquet)\n  in: {statement}"
                )
            self.add_column(change.table, change.column, SPARK.column_type(change.logical))
        elif isinstance(change, RetypeColumn):
            self.retype_column(change.table, change.column, SPARK.column_type(change.logical))
        elif isinstance(change, DropColumn):
            self.drop_empty_columns(change.table, {change.column})
        elif isinstance(change, CreateView):
            self.save_view(change.view, statement)

    def create_table(self, table: str, columns: list[tuple[str, str]], exists_ok: bool) -> None:
        if self._active(table, missing_ok=True)[0]:
            if exists_ok:
                return
            raise EngineError(f"table {table} exists")
        self._new_version(table, columns, None, "create")

    def add_column(self, table: str, column: str, kind: str) -> None:
        """In place on the active version, unless a hidden leftover of another type (a column
        added then rolled back) holds the name there: then a new version."""
        physical, columns = self._active(table)
        if any(c == column for c, _ in columns):
            raise EngineError(f"column {column} of {table} exists")
        in_place = self._physical_columns(physical)
        columns = [*columns, (column, kind)]
        if column not in in_place:
            self._spark_rows(versions.add_columns(physical, column, kind))
        elif in_place[column] != kind:
            self._new_version(table, columns, physical, f"add {column}")
            return
        self._set_active(table, physical, columns)

    def retype_column(self, table: str, column: str, kind: str) -> None:
        physical, columns = self._active(table)
        columns = [(c, kind if c == column else t) for c, t in columns]
        self._new_version(table, columns, physical, f"retype {column} {kind}")

    def drop_empty_columns(self, table: str, gone: set[str]) -> None:
        """A new version without them (checked empty first: refuse_if_filled)."""
        physical, columns = self._active(table)
        kept = [(c, t) for c, t in columns if c not in gone]
        self._new_version(table, kept, physical, f"drop empty {', '.join(sorted(gone))}")

    def refuse_if_filled(self, table: str, column: str) -> None:
        """Only a column holding no value may go."""
        held = int(self._spark_rows(versions.value_count(table, column))[0][0])
        if held:
            raise DestructiveStatementError(
                f"refused: dropping column {column} of {table} would lose {held} values"
            )

    def save_view(self, view: str, body: str) -> None:
        """Create the view, and keep its statement so that a new session re-creates it."""
        self._spark_rows(body)
        if self.state.query(registry.has_view(), (view,))[0][0]:
            self.state.execute(registry.update_view(), (body, view))
        else:
            self.state.execute(registry.insert_view(), (view, body))

    def empty_copy(self, name: str, table: str) -> None:
        """A temp table in the state DuckDB with `table`'s columns (as the registry has them) and
        no row: where a migration is tried first."""
        columns = self._active(table)[1]
        self._run_state(registry.shadow_table(name, columns), ())
