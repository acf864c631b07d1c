"""Apache Spark: the same agent on a distributed engine (`spark://local[N]`, `sc://host:port`).

Design. Spark SQL on plain Parquet tables has no transactions and no UPDATE/DELETE, so pipefix
splits what it keeps where, and orders its writes so that every guarantee still holds:

- **User tables live in Spark**, as Parquet tables in the Spark catalog. Each table is a chain of
  *physical versions* `<table>__v<n>` (external Parquet tables at `<warehouse dir>/<table>/v<n>-<id>`),
  and the name readers use, `<table>`, is a catalog view over the active version. A change Spark
  cannot make in place (a column's type, dropping an empty column) writes a new version
  (CREATE TABLE ... AS SELECT with the cast), checks it holds every row, then swaps the view —
  one catalog operation. The previous version is never dropped: `restore_table_version` points
  the view back to it, refusing when rows loaded since would disappear. `ALTER TABLE ... ADD
  COLUMNS` runs in place on the active version.
- **pipefix's own bookkeeping stays in DuckDB** (`pipefix-state.duckdb` beside the Spark
  warehouse): contracts, batches, quarantine, audit, ledger ... need UPDATE and transactions.
  It also holds the *registry* of physical versions and of the active one with its columns
  (`pipefix.spark_tables`, `pipefix.spark_active`, `pipefix.spark_views`), so the Spark catalog
  is re-derived from it when a session opens: the truth about which version is live commits in
  the same DuckDB transaction as the contract that needs it.
- **Routing.** Every statement is parsed (sqlglot) once: one touching only `pipefix.*`, temp or
  `_pipefix_*` tables runs on the state DuckDB; one touching only user tables is translated to
  Spark SQL (writes go to the active physical version) and runs on Spark; a statement mixing
  them is refused, except the shadow copy of a table (CREATE TEMP TABLE ... AS SELECT ... FROM
  a user table), which lands in DuckDB. Every statement passes the safety guard first.
- **Order of writes, and why no row is lost or doubled.** `transaction()` is the state DuckDB's
  transaction; Spark writes inside it happen at once. The loader writes a batch's rows to Spark
  first and its bookkeeping (quarantine rows, `pipefix.batches`) commits after. A crash between
  them rolls the bookkeeping back; the batch is then not "loaded" by content hash, runs again,
  and the lineage columns (`_pipefix_batch`, `_pipefix_line`) make the judge skip the rows
  already in Spark (and not count their keys as duplicates of themselves). A failed fix rolls
  back its registry change too, and the view is re-pointed to the registry's version (or dropped,
  for a table the rollback unmade: its version stays, unregistered, and a later one skips its
  name); a column added in place stays physically (Parquet tables cannot drop one) but hidden
  and empty, and is reused if the migration runs again.

Capabilities say what Spark lacks: no transactional DDL, no in-place retype, no row-level DML.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from pipefix.engines import safety, spark_arrow
from pipefix.engines.base import Capabilities, EngineError, literal, quote
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.errors import Interrupted, PipefixError

STATE_FILE = "pipefix-state.duckdb"
_STATE_SCHEMAS = {"pipefix", "temp", "pg_temp", "information_schema"}
DEFAULT_SCHEMA = "default"

_REGISTRY_DDL = [
    "CREATE SCHEMA IF NOT EXISTS pipefix",
    "CREATE TABLE IF NOT EXISTS pipefix.spark_tables (table_name VARCHAR, physical VARCHAR, "
    "location VARCHAR, columns VARCHAR, cause VARCHAR, created_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS pipefix.spark_active (table_name VARCHAR, physical VARCHAR, columns VARCHAR)",
    "CREATE TABLE IF NOT EXISTS pipefix.spark_views (view_name VARCHAR, body VARCHAR)",
]
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


class SparkEngine:
    capabilities = Capabilities(
        dialect="spark",
        transactional_ddl=False,
        alter_drop_not_null=False,
        in_place_retype=False,
        row_level_dml=False,
    )

    def __init__(
        self,
        url: str,
        warehouse_dir: str | Path,
        state_path: str | Path,
        *,
        read_only: bool = False,
        session: Any = None,
        database: str = "default",
    ) -> None:
        self.url = url
        self.warehouse_dir = str(warehouse_dir)
        self.state = DuckDBEngine(state_path, read_only=read_only)
        self.path = self.state.path  # the state file: checkpoints live beside it
        self.read_only = read_only
        self.statement_log: list[str] = []
        self._stopped = False
        self._depth = 0
        self._touched: set[str] = set()
        self._state_lock = threading.Lock()
        self.spark = session if session is not None else open_session(url, self.warehouse_dir)
        self.database = database
        if database != "default":  # a catalog database of its own (tests share one session)
            self._spark_rows(f"CREATE DATABASE IF NOT EXISTS {_bq(database)}")
        self.spark.catalog.setCurrentDatabase(database)
        if not read_only:
            for statement in _REGISTRY_DDL:
                self.state.execute(statement)
        if self.state.table_exists("spark_active", "pipefix"):
            self.state.execute(_COLUMNS_VIEW)
            self._restore_catalog()

    # --- the Engine protocol -------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params, fetch=False)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params, fetch=True)

    def query_many(self, statements: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        """Each statement is a Spark job: submitted from threads, one job plans and schedules
        while another runs (measured 1.6x on 8 health aggregates at local[2])."""
        if len(statements) < 2:
            return [self.query(sql) for sql in statements]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(4, len(statements))) as pool:
            return list(pool.map(self.query, statements))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The state's transaction. Spark writes inside it happen at once (data before
        bookkeeping); on rollback the Spark views are re-pointed to the registry's versions."""
        self._depth += 1
        try:
            with self.state.transaction():
                yield
        except BaseException:
            if self._depth == 1:
                self._resync(self._touched)
            raise
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._touched = set()

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        if _is_state_name(table):
            return self.state.copy_rows(table, columns, rows)
        batch = [tuple(_spark_value(v) for v in row) for row in rows]
        if not batch:
            return 0
        physical = self._active(table)[0]
        statement = f"INSERT INTO {physical} ({', '.join(columns)}) -- {len(batch)} rows"
        safety.inspect(f"INSERT INTO {quote(table)} SELECT 1", "duckdb")
        self.statement_log.append(statement)
        try:
            self._insert_rows(physical, list(columns), batch)
        except Exception as error:  # pyspark raises its own exception tree, py4j others
            raise EngineError(f"{_first_line(error)}\n  in: {statement}") from error
        return len(batch)

    def copy_record_batches(self, table: str, columns: Sequence[str], batches: Iterable[Any]) -> int:
        """Rows as Arrow record batches (a load's accepted rows, straight from the judge's DuckDB):
        one Spark job per batch, never a Python tuple per row (spark_arrow.py)."""
        if _is_state_name(table):  # a trial's shadow table, in the state DuckDB
            rows = (tuple(row.values()) for batch in batches for row in batch.to_pylist())
            return self.state.copy_rows(table, columns, rows)
        physical = self._active(table)[0]
        statement = f"INSERT INTO {physical} ({', '.join(columns)}) -- Arrow record batches"
        safety.inspect(f"INSERT INTO {quote(table)} SELECT 1", "duckdb")
        self.statement_log.append(statement)
        try:
            return spark_arrow.insert_batches(self.spark, physical, columns, batches)
        except Exception as error:  # pyspark raises its own exception tree, py4j others
            raise EngineError(f"{_first_line(error)}\n  in: {statement}") from error

    def existing_rows(
        self, table: str, key: str | None, keys: Sequence[str], batches: Sequence[str]
    ) -> list[tuple[str | None, str, int]]:
        """One Spark job: the keys travel as a local relation (Arrow) joined to the table; IN
        lists of thousands of parameters cost Spark seconds to plan."""
        if _is_state_name(table):  # a shadow table of a trial
            return self.state.existing_rows(table, key, keys, batches)
        import pyarrow as pa

        F = column_functions(self.spark)
        self.statement_log.append(
            f"SELECT key, _pipefix_batch, _pipefix_line FROM {table} "
            f"-- {len(keys)} keys, {len(batches)} batches"
        )
        try:
            rows = self.spark.table(_bq(table))
            key_text = F.col(_bq(key)).cast("string") if key else F.lit(None).cast("string")
            wanted = F.col("_pipefix_batch").isin(list(batches))
            if key and keys:
                probe = self.spark.createDataFrame(pa.table({"_pipefix_probe": pa.array(keys, pa.string())}))
                rows = rows.join(F.broadcast(probe), key_text == probe["_pipefix_probe"], "left")
                wanted = wanted | probe["_pipefix_probe"].isNotNull()
            found = rows.where(wanted).select(key_text, "_pipefix_batch", "_pipefix_line").collect()
        except Exception as error:  # pyspark raises its own exception tree, py4j others
            raise EngineError(f"{_first_line(error)}\n  in: existing rows of {table}") from error
        return [(k, str(b), int(line)) for k, b, line in found]

    def table_columns(self, table: str, schema: str = DEFAULT_SCHEMA) -> dict[str, str]:
        if schema in _STATE_SCHEMAS:
            return self.state.table_columns(table, schema)
        return dict(self._active(table, missing_ok=True)[1])

    def table_exists(self, table: str, schema: str = DEFAULT_SCHEMA) -> bool:
        return bool(self.table_columns(table, schema))

    def interrupt(self) -> None:
        """Stop: the state's statement running now is interrupted (its transaction rolls back) and
        every statement after it raises Interrupted. A Spark job already running is left to end:
        a batch's rows are written before its bookkeeping, whose rollback loads them again later,
        and the lineage columns keep them from landing twice."""
        self._stopped = True
        self.state.interrupt()

    def close(self) -> None:
        self.state.close()

    # --- versions: what a swap keeps, and what rollback restores --------------------------------

    def table_versions(self, table: str) -> list[str]:
        """The physical versions of `table`, oldest first (every one is kept)."""
        rows = self.state.query(
            "SELECT physical FROM pipefix.spark_tables WHERE table_name = ? ORDER BY created_at, physical",
            (table,),
        )
        return [str(r[0]) for r in rows]

    def active_version(self, table: str) -> str:
        return self._active(table)[0]

    def restore_table_version(self, table: str, physical: str) -> None:
        """Point `table` back to an earlier physical version. Refused when a row of the active
        version (by lineage) is missing from it: a rollback never hides a loaded row."""
        rows = self.state.query(
            "SELECT columns FROM pipefix.spark_tables WHERE table_name = ? AND physical = ?",
            (table, physical),
        )
        if not rows:
            raise EngineError(f"{table} has no version {physical}")
        current = self._active(table)[0]
        missing = self._spark_rows(
            f"SELECT count(*) FROM {current} AS n WHERE NOT EXISTS (SELECT 1 FROM {physical} AS o "
            "WHERE o._pipefix_batch = n._pipefix_batch AND o._pipefix_line = n._pipefix_line)"
        )[0][0]
        if missing:
            raise EngineError(
                f"refused: restoring {table} to {physical} would hide {missing} rows loaded since"
            )
        with self.transaction():
            self._set_active(table, physical, _load_columns(rows[0][0]))

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

    def _new_version(self, table: str, columns: list[tuple[str, str]], source: str | None, cause: str) -> str:
        """Write a new physical version (a copy of `source` with these columns, or empty), check
        it holds every row, and make it active. Nothing of the old version is touched."""
        n = len(self.table_versions(table)) + 1
        while self.spark.catalog.tableExists(f"{table}__v{n}"):  # left by a rolled-back transaction
            n += 1
        physical = f"{table}__v{n}"
        location = f"{self.warehouse_dir.rstrip('/')}/{table}/v{n}-{uuid.uuid4().hex[:8]}"
        spec = ", ".join(f"{_bq(c)} {t}" for c, t in columns)
        if source is None:
            self._spark_rows(f"CREATE TABLE {physical} ({spec}) USING parquet LOCATION {literal(location)}")
        else:
            have = self._physical_columns(source)
            select = ", ".join(
                f"CAST({_bq(c)} AS {t}) AS {_bq(c)}" if c in have else f"CAST(NULL AS {t}) AS {_bq(c)}"
                for c, t in columns
            )
            self._spark_rows(
                f"CREATE TABLE {physical} USING parquet LOCATION {literal(location)} "
                f"AS SELECT {select} FROM {source}"
            )
            before = self._spark_rows(f"SELECT count(*) FROM {source}")[0][0]
            after = self._spark_rows(f"SELECT count(*) FROM {physical}")[0][0]
            if before != after:
                raise EngineError(f"new version of {table} holds {after} rows, not {before}: not swapped")
        self.state.execute(
            "INSERT INTO pipefix.spark_tables VALUES (?, ?, ?, ?, ?, ?)",
            (table, physical, location, json.dumps(columns), cause, datetime.now(UTC).replace(tzinfo=None)),
        )
        self._set_active(table, physical, columns)
        return physical

    def _set_active(self, table: str, physical: str, columns: list[tuple[str, str]]) -> None:
        text = json.dumps([{"name": c, "type": t, "pos": i + 1} for i, (c, t) in enumerate(columns)])
        if self.state.query("SELECT count(*) FROM pipefix.spark_active WHERE table_name = ?", (table,))[0][0]:
            self.state.execute(
                "UPDATE pipefix.spark_active SET physical = ?, columns = ? WHERE table_name = ?",
                (physical, text, table),
            )
        else:
            self.state.execute("INSERT INTO pipefix.spark_active VALUES (?, ?, ?)", (table, physical, text))
        self._touched.add(table)
        self._point_view(table, physical, columns)

    def _point_view(self, table: str, physical: str, columns: list[tuple[str, str]]) -> None:
        """The swap: one catalog operation re-points the name readers use."""
        names = ", ".join(_bq(c) for c, _ in columns)
        self._spark_rows(f"CREATE OR REPLACE VIEW {_bq(table)} AS SELECT {names} FROM {physical}")

    # --- state <-> catalog ------------------------------------------------------------------------

    def _active(self, table: str, missing_ok: bool = False) -> tuple[str, list[tuple[str, str]]]:
        rows = self.state.query(
            "SELECT physical, columns FROM pipefix.spark_active WHERE table_name = ?", (table,)
        )
        if not rows:
            if missing_ok:
                return "", []
            raise EngineError(f"no Spark table {table!r}")
        return str(rows[0][0]), [(c["name"], c["type"]) for c in json.loads(rows[0][1])]

    def _restore_catalog(self) -> None:
        """Register every physical version, point each view at the active one, re-create the
        compatibility views: the catalog as the state says it is."""
        for physical, location, columns in self.state.query(
            "SELECT physical, location, columns FROM pipefix.spark_tables ORDER BY created_at"
        ):
            spec = ", ".join(f"{_bq(c)} {t}" for c, t in _load_columns(columns))
            self._spark_rows(
                f"CREATE TABLE IF NOT EXISTS {physical} ({spec}) USING parquet LOCATION {literal(location)}"
            )
        self._resync(None)
        for (body,) in self.state.query("SELECT body FROM pipefix.spark_views"):
            self._spark_rows(str(body))

    def _resync(self, tables: set[str] | None) -> None:
        active = self.state.query("SELECT table_name, physical, columns FROM pipefix.spark_active")
        for table, physical, columns in active:
            if tables is None or table in tables:
                parsed = [(c["name"], c["type"]) for c in json.loads(columns)]
                # a column added in place then rolled back may linger, empty and hidden
                self._point_view(str(table), str(physical), parsed)
        # a table created in a rolled-back transaction: its name goes (its version stays, unregistered)
        for table in (tables or set()) - {str(r[0]) for r in active}:
            self._spark_rows(f"DROP VIEW IF EXISTS {_bq(table)}")

    def _physical_columns(self, physical: str) -> dict[str, str]:
        return {f.name: _spark_type_name(f.dataType) for f in self.spark.table(physical).schema.fields}

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

    # --- Spark calls --------------------------------------------------------------------------------

    def _spark_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        args = [_spark_value(p) for p in params] if params else None
        frame = self.spark.sql(sql, args=args) if args else self.spark.sql(sql)
        if not frame.columns:  # a command: already run
            return []
        return [tuple(row) for row in frame.collect()]

    def _insert_rows(self, physical: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        spark_arrow.insert_rows(self.spark, physical, columns, rows)


INSTALL_HINT = "pip install 'pipefix[spark]' (pyspark with pyarrow; a local session also needs Java 17+)"


def open_session(url: str, warehouse_dir: str) -> Any:
    """`spark://local[N]`: an in-process local session; `sc://host:port`: Spark Connect."""
    try:
        import pyarrow  # noqa: F401  (batches travel to Spark as Arrow)
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise EngineError(f"a Spark warehouse needs {error.name}: {INSTALL_HINT}") from None
    try:
        return _start_session(SparkSession.builder, url, warehouse_dir)
    except Exception as error:  # pyspark and py4j raise their own exception trees
        raise EngineError(f"cannot start Spark for {url}: {_first_line(error)}\n  {INSTALL_HINT}") from error


def _start_session(builder: Any, url: str, warehouse_dir: str) -> Any:
    if url.startswith("sc://"):
        builder = connect_builder(url)
    else:
        master = url.removeprefix("spark://") or "local[2]"
        cores = re.fullmatch(r"local\[(\d+)\]", master)
        # as many partitions as cores: Spark's default of 200 makes 200 tasks of a small table
        partitions = cores.group(1) if cores else str(os.cpu_count() or 2)
        builder = (
            builder.master(master)
            .appName("pipefix")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", partitions)
            .config("spark.default.parallelism", partitions)
            .config("spark.sql.warehouse.dir", warehouse_dir)
            .config("spark.driver.extraJavaOptions", "-Dderby.system.home=" + warehouse_dir)
        )
    session = builder.getOrCreate()
    # Naive timestamps mean UTC, as on the other engines.
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.timestampType", "TIMESTAMP_NTZ")
    if not url.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    return session


def connect_builder(url: str) -> Any:
    """The builder of a Spark Connect session, from Connect's own session class: pyspark's
    generic builder flips the whole process to Connect (an environment switch) and refuses
    while a local session exists, so one process could not hold both (the tests do)."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    return ConnectSession.builder.remote(url)


def is_connect(session: Any) -> bool:
    """A Spark Connect session (no JVM here: no sparkContext, Connect's own column functions)."""
    return type(session).__module__.startswith("pyspark.sql.connect.")


def column_functions(session: Any) -> Any:
    """pyspark's column functions for `session`. `pyspark.sql.functions` picks local or Connect
    columns by a process-wide switch that `connect_builder` leaves alone, so code building
    columns for a session asks here."""
    if is_connect(session):
        from pyspark.sql.connect import functions as connect_functions

        return connect_functions
    from pyspark.sql import functions as local_functions

    return local_functions


def parse_url(url: str) -> str:
    """Validate a Spark warehouse URL; returns it. `spark://local`, `spark://local[N]`,
    `spark://local[*]` or `sc://host:port`."""
    if re.fullmatch(r"spark://local(\[(\d+|\*)\])?", url) or re.fullmatch(r"sc://[\w.\-]+(:\d+)?(/.*)?", url):
        return url
    raise ValueError(f"unsupported Spark URL {url!r}: use spark://local[N] or sc://host:port")


# --- types -------------------------------------------------------------------------------------------


def _type_name(kind: exp.DataType) -> str:
    """A column type as pipefix names it on Spark (types.py's physical types for "spark")."""
    text = kind.sql(dialect="spark").upper()
    text = text.replace(" ", "")
    return {"TIMESTAMP_NTZ": "TIMESTAMP", "VARCHAR": "STRING", "TEXT": "STRING", "INTEGER": "INT"}.get(
        text, text
    )


def _spark_type_name(data_type: Any) -> str:
    text = str(data_type.simpleString()).upper()
    # Spark calls its instant type (with a time zone) `timestamp`: pipefix's timestamptz.
    names = {"TIMESTAMP_NTZ": "TIMESTAMP", "TIMESTAMP": "TIMESTAMP_LTZ", "INTEGER": "INT"}
    return names.get(text, text)


def _load_columns(text: str) -> list[tuple[str, str]]:
    return [(str(c), str(t)) for c, t in json.loads(text)]


def _spark_value(value: Any) -> Any:
    """An aware datetime becomes its UTC wall time (naive means UTC), as on PostgreSQL."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _bq(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


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


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
