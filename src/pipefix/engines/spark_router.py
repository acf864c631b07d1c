"""The Spark engine's statement router: where a statement pipefix issues runs, rewritten for it.

Every statement is parsed (sqlglot) once: one touching only `pipefix.*`, temp or `_pipefix_*`
tables runs on the state DuckDB (`information_schema.columns` read through a view that also lists
Spark's user tables as the registry describes them); one touching only user tables is translated
to Spark SQL (writes go to the active physical version; CREATE TABLE and ALTER TABLE become
operations on versions) and runs on Spark; a statement mixing them is refused, except the shadow
copy of a table (CREATE TEMP TABLE ... AS SELECT ... FROM a user table), which lands in DuckDB.
Every statement passes the safety guard first.

SparkRouter is a mixin of SparkEngine (spark.py), which keeps the versions and the Spark calls.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from pipefix.engines import safety
from pipefix.engines.base import EngineError, quote
from pipefix.engines.spark_session import _first_line
from pipefix.engines.spark_types import _bq, _spark_type_name, _type_name
from pipefix.errors import Interrupted, PipefixError

if TYPE_CHECKING:
    from pipefix.engines.duckdb import DuckDBEngine

_STATE_SCHEMAS = {"pipefix", "temp", "pg_temp", "information_schema"}
DEFAULT_SCHEMA = "default"
# information_schema.columns as the tools read it: the state's own tables, and Spark's user
# tables as the registry describes them (what the view shows, in view order).
_COLUMNS_VIEW = (
    "CREATE OR REPLACE TEMP VIEW _pipefix_columns AS "
    "SELECT table_schema, table_name, column_name, data_type, numeric_precision, numeric_scale, "
    "ordinal_position FROM information_schema.columns WHERE table_schema = 'pipefix' "
    f"UNION ALL SELECT '{DEFAULT_SCHEMA}', table_name, c.name, c.type, NULL, NULL, c.pos "
    "FROM (SELECT table_name, unnest(from_json(columns, "
    """'[{"name": "VARCHAR", "type": "VARCHAR", "pos": "BIGINT"}]')) AS c FROM pipefix.spark_active)"""
)
_INFO_COLUMNS = re.compile(r"\binformation_schema\s*\.\s*columns\b", re.IGNORECASE)
_CURRENT_SCHEMA = re.compile(r"\bcurrent_schema\s*\(\s*\)", re.IGNORECASE)


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

        def _new_version(
            self, table: str, columns: list[tuple[str, str]], source: str | None, cause: str
        ) -> str: ...

        def _set_active(self, table: str, physical: str, columns: list[tuple[str, str]]) -> None: ...

        def _physical_columns(self, physical: str) -> dict[str, str]: ...

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
            self._require_empty_column(dropped)
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
        if _INFO_COLUMNS.search(sql):
            sql = _CURRENT_SCHEMA.sub(f"'{DEFAULT_SCHEMA}'", _INFO_COLUMNS.sub("_pipefix_columns", sql))
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
            if target is not None:
                target.set("this", exp.to_identifier(self._active(target.name)[0]))
                target.set("db", None)
        rows = self._spark_rows(tree.sql(dialect="spark"), params)
        return rows if fetch else []

    # --- DDL on Spark -----------------------------------------------------------------------------

    def _create_table(self, tree: exp.Create) -> None:
        table = tree.find(exp.Table)
        schema = tree.this
        if table is None or not isinstance(schema, exp.Schema) or tree.expression is not None:
            raise EngineError(f"unsupported CREATE TABLE on Spark: {tree.sql()[:200]}")
        if self._active(table.name, missing_ok=True)[0]:
            if tree.args.get("exists"):
                return
            raise EngineError(f"table {table.name} exists")
        columns = [
            (c.name, _type_name(c.args["kind"])) for c in schema.expressions if isinstance(c, exp.ColumnDef)
        ]
        self._new_version(table.name, columns, None, "create")

    def _create_view(self, tree: exp.Create) -> None:
        view = tree.find(exp.Table)
        assert view is not None
        body = tree.sql(dialect="spark")
        self._spark_rows(body)
        if self.state.query("SELECT count(*) FROM pipefix.spark_views WHERE view_name = ?", (view.name,))[0][
            0
        ]:
            self.state.execute(
                "UPDATE pipefix.spark_views SET body = ? WHERE view_name = ?", (body, view.name)
            )
        else:
            self.state.execute("INSERT INTO pipefix.spark_views VALUES (?, ?)", (view.name, body))

    def _alter(self, tree: exp.Alter) -> None:
        table = tree.this
        if not isinstance(table, exp.Table):
            raise EngineError(f"unsupported ALTER on Spark: {tree.sql()[:200]}")
        name = table.name
        physical, columns = self._active(name)
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):  # ADD COLUMN
                column, kind = action.name, _type_name(action.args["kind"])
                if any(c == column for c, _ in columns):
                    raise EngineError(f"column {column} of {name} exists")
                in_place = self._physical_columns(physical)
                if column not in in_place:
                    self._spark_rows(f"ALTER TABLE {physical} ADD COLUMNS ({_bq(column)} {kind})")
                elif in_place[column] != kind:  # a hidden leftover of another type: new version
                    columns = [*columns, (column, kind)]
                    physical = self._new_version(name, columns, physical, f"add {column}")
                    continue
                columns = [*columns, (column, kind)]
                self._set_active(name, physical, columns)
            elif isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
                column, kind = action.name, _type_name(action.args["dtype"])
                columns = [(c, kind if c == column else t) for c, t in columns]
                physical = self._new_version(name, columns, physical, f"retype {column} {kind}")
            elif isinstance(action, exp.Drop):  # verified empty by the safety guard
                gone = {c.name for c in action.args.get("tables") or [action.this]}
                columns = [(c, t) for c, t in columns if c not in gone]
                physical = self._new_version(name, columns, physical, f"drop empty {', '.join(sorted(gone))}")
            else:
                raise EngineError(f"Spark cannot run on {name}: {action.sql()[:200]}")

    def _require_empty_column(self, dropped: safety.DroppedColumn) -> None:
        column = sqlglot.parse_one(dropped.column, read="duckdb").sql(dialect="spark")
        table = sqlglot.parse_one(dropped.table, read="duckdb").sql(dialect="spark")
        held = self._spark_rows(f"SELECT count({column}) FROM {table}")
        safety.refuse_if_filled(dropped, int(held[0][0]) if held else None)

    def _shadow_copy(self, tree: exp.Create, sql: str) -> list[tuple[Any, ...]]:
        """CREATE TEMP TABLE x AS SELECT ... FROM <user table>: the copy lands in the state
        DuckDB (pipefix's scratch space), with the rows the query returns."""
        select = tree.expression
        target = tree.find(exp.Table)
        if select is None or target is None:
            raise EngineError(f"unsupported statement on Spark\n  in: {sql[:300]}")
        frame = self.spark.sql(select.sql(dialect="spark"))
        columns = [(f.name, _spark_type_name(f.dataType)) for f in frame.schema.fields]
        # Spark's type names are DuckDB's too, but for its instant type.
        spec = ", ".join(f"{quote(c)} {'TIMESTAMPTZ' if t == 'TIMESTAMP_LTZ' else t}" for c, t in columns)
        self.statement_log.append(sql)
        self.state.execute(f"CREATE TEMP TABLE {quote(target.name)} ({spec})")
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
