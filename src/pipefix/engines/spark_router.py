"""The Spark engine's statement router: where a statement sent as text runs, translated for it.

pipefix changes tables through typed operations and bulk appends (spark.py); what comes here is
text: pipefix's queries, and anything a caller of the Engine protocol sends. Every statement is
parsed (sqlglot) once: one touching only `pipefix.*`, temp or `_pipefix_*` tables runs on the
state DuckDB as written; one touching only user tables is translated to Spark SQL and runs on
Spark (CREATE TABLE, ALTER TABLE and CREATE VIEW become the typed operations; an INSERT writes to
the active physical version); a statement mixing them is refused, except the shadow copy of a
table (CREATE TEMP TABLE ... AS SELECT ... FROM a user table), which lands in DuckDB. Every
statement passes the safety guard first.

SparkRouter is a mixin of SparkEngine (spark.py), which keeps the versions and the Spark calls.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from pipefix.engines import safety
from pipefix.engines.base import EngineError
from pipefix.engines.spark_session import _first_line
from pipefix.engines.spark_types import _spark_type_name, _type_name
from pipefix.engines.sql import spark_translation as translation
from pipefix.engines.sql.spark_registry import shadow_table
from pipefix.errors import Interrupted, PipefixError

if TYPE_CHECKING:
    from pipefix.engines.duckdb import DuckDBEngine

_STATE_SCHEMAS = {"pipefix", "temp", "pg_temp", "information_schema"}
DEFAULT_SCHEMA = "default"


class SparkRouter:
    """Routes and rewrites each statement; runs it on the state DuckDB or on Spark."""

    # What routing uses of the engine, set or defined by SparkEngine.
    url: str
    state: DuckDBEngine
    spark: Any
    statement_log: list[str]
    _stopped: bool
    _state_lock: threading.Lock

    if TYPE_CHECKING:

        def _active(self, table: str, missing_ok: bool = False) -> tuple[str, list[tuple[str, str]]]: ...

        def create_table(self, table: str, columns: list[tuple[str, str]], exists_ok: bool) -> None: ...

        def add_column(self, table: str, column: str, kind: str) -> None: ...

        def retype_column(self, table: str, column: str, kind: str) -> None: ...

        def drop_empty_columns(self, table: str, gone: set[str]) -> None: ...

        def refuse_if_filled(self, table: str, column: str) -> None: ...

        def save_view(self, view: str, body: str) -> None: ...

        def _spark_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    # --- routing -----------------------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any], fetch: bool) -> list[tuple[Any, ...]]:
        if self._stopped:
            raise Interrupted(f"stopped: Spark warehouse {self.url} was interrupted")
        try:
            statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        except sqlglot.errors.ParseError as error:
            raise EngineError(f"statement could not be parsed: {error}\n  in: {sql[:300]}") from error
        if len(statements) != 1:
            safety.inspect(sql, "duckdb")  # a destructive statement among them is refused as such
            raise EngineError(f"one statement at a time on Spark\n  in: {sql[:300]}")
        tree = statements[0]
        spark_tables, state_tables = self._split(tree)
        if not spark_tables:
            return self._run_state(sql, params)
        if state_tables:
            if _is_temp_create(tree) and isinstance(tree, exp.Create):
                return self._shadow_copy(tree, sql)
            raise EngineError(f"statement mixes pipefix state and Spark tables\n  in: {sql[:300]}")
        for dropped in safety.inspect(sql, "duckdb"):
            self.refuse_if_filled(dropped.table_path[-1], dropped.column_name)
        self.statement_log.append(sql)
        try:
            return self._run_spark(tree, sql, params, fetch)
        except PipefixError:  # already pipefix's own: an engine error, a refusal, a stop
            raise
        except Exception as error:
            raise EngineError(f"{_first_line(error)}\n  in: {sql[:300]}") from error

    def _split(self, tree: exp.Expr) -> tuple[list[str], list[str]]:
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "SCHEMA":
            return [], ["schema"]
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        spark, state = [], []
        for table in tree.find_all(exp.Table):
            if table.name in ctes:
                continue
            if (
                table.db.lower() in _STATE_SCHEMAS
                or table.name.startswith("_pipefix_")
                or (_is_temp_create(tree) and table is tree.this)
            ):
                state.append(table.name)
            else:
                spark.append(table.name)
        return spark, state

    def _run_state(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        self.statement_log.append(sql)
        with self._state_lock:  # query_many's threads share the state connection
            return self.state.query(sql, params)

    def _run_spark(
        self, tree: exp.Expr, sql: str, params: Sequence[Any], fetch: bool
    ) -> list[tuple[Any, ...]]:
        if isinstance(tree, exp.Create):
            kind = str(tree.args.get("kind", "")).upper()
            if kind == "TABLE":
                self._create_table(tree)
                return []
            if kind == "VIEW":
                self._create_view(tree)
                return []
        if isinstance(tree, exp.Alter):
            self._alter(tree)
            return []
        if isinstance(tree, exp.Update | exp.Delete | exp.Merge):
            raise EngineError(f"Spark Parquet tables take no UPDATE, DELETE or MERGE\n  in: {sql[:300]}")
        if isinstance(tree, exp.Insert):
            target = tree.find(exp.Table)
            physical = self._active(target.name)[0] if target is not None else ""
            rows = self._spark_rows(translation.insert_into_version(tree, physical), params)
        else:
            rows = self._spark_rows(translation.spark_sql(tree), params)
        return rows if fetch else []

    # --- DDL sent as text: parsed into the typed operations pipefix itself uses (spark.py) ----------

    def _create_table(self, tree: exp.Create) -> None:
        table = tree.find(exp.Table)
        schema = tree.this
        if table is None or not isinstance(schema, exp.Schema) or tree.expression is not None:
            raise EngineError(f"unsupported table definition on Spark: {tree.sql()[:200]}")
        columns = [
            (c.name, _type_name(c.args["kind"])) for c in schema.expressions if isinstance(c, exp.ColumnDef)
        ]
        self.create_table(table.name, columns, bool(tree.args.get("exists")))

    def _create_view(self, tree: exp.Create) -> None:
        view = tree.find(exp.Table)
        assert view is not None
        self.save_view(view.name, translation.spark_sql(tree))

    def _alter(self, tree: exp.Alter) -> None:
        table = tree.this
        if not isinstance(table, exp.Table):
            raise EngineError(f"unsupported ALTER on Spark: {tree.sql()[:200]}")
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):  # ADD COLUMN
                self.add_column(table.name, action.name, _type_name(action.args["kind"]))
            elif isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
                self.retype_column(table.name, action.name, _type_name(action.args["dtype"]))
            elif isinstance(action, exp.Drop):
                self.drop_empty_columns(
                    table.name, {c.name for c in action.args.get("tables") or [action.this]}
                )
            else:
                raise EngineError(f"Spark cannot run on {table.name}: {action.sql()[:200]}")

    def _shadow_copy(self, tree: exp.Create, sql: str) -> list[tuple[Any, ...]]:
        """CREATE TEMP TABLE x AS SELECT ... FROM <user table>: the copy lands in the state
        DuckDB (pipefix's scratch space), with the rows the query returns."""
        select = tree.expression
        target = tree.find(exp.Table)
        if select is None or target is None:
            raise EngineError(f"unsupported statement on Spark\n  in: {sql[:300]}")
        frame = self.spark.sql(translation.spark_sql(select))
        columns = [(f.name, _spark_type_name(f.dataType)) for f in frame.schema.fields]
        self.statement_log.append(sql)
        self.state.execute(shadow_table(target.name, columns))
        rows = [tuple(r) for r in frame.collect()]
        self.state.copy_rows(f"temp.{target.name}", [c for c, _ in columns], rows)
        return []


def _is_state_name(table: str) -> bool:
    schema, _, name = table.rpartition(".")
    return schema.strip('"').lower() in _STATE_SCHEMAS or name.strip('"').startswith("_pipefix_")


def _is_temp_create(tree: exp.Expr) -> bool:
    if not isinstance(tree, exp.Create):
        return False
    properties = tree.args.get("properties")
    return properties is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in properties.expressions
    )
