"""DuckDB: an embedded warehouse in one file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from pipefix.engines import duckdb_parallel, duckdb_settings, run_lock, safety
from pipefix.engines.base import (
    Capabilities,
    EngineError,
    columns_of,
    existing_rows_by_lists,
    iter_chunks,
)
from pipefix.engines.sql import bulk_rows, drop_guard, session
from pipefix.engines.sql import staging as sql
from pipefix.engines.sql.dialects import DUCKDB
from pipefix.errors import Interrupted


class DuckDBEngine:
    capabilities = Capabilities(dialect="duckdb", state_dialect="duckdb")

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = str(path)
        # A bounded buffer pool, spilling beyond it (duckdb_settings.py); read before connecting.
        settings = duckdb_settings.settings_sql(self.path)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as error:
            # Another process has the file open for writing: one run at a time (run_lock.py).
            busy = run_lock.duckdb_busy(error, self.path, read_only=read_only)
            if busy is not None:
                raise busy from None
            raise EngineError(f"cannot open DuckDB warehouse {self.path}: {error}") from error
        # Timestamps with an offset are normalised to UTC, never cast with the offset dropped.
        self._con.execute(session.UTC_SESSION)
        for setting in settings:
            self._con.execute(setting)
        self._in_transaction = False
        self._stopped = False
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self.statement_log: list[str] = []

    def interrupt(self) -> None:
        """Stop: the statement running now is interrupted (its transaction rolls back) and every
        statement after it raises Interrupted. Safe from a signal handler or another thread."""
        self._stopped = True
        with suppress(duckdb.Error):  # closed already: nothing runs
            self._con.interrupt()
            for cursor in list(self._cursors):  # query_many's, running at once
                cursor.interrupt()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params)

    def query_many(self, statements: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        threads = duckdb_parallel.workers(len(statements))
        # A cursor sees committed data only: inside a transaction, one after another.
        if threads == 1 or self._in_transaction or any(safety.inspect(sql, "duckdb") for sql in statements):
            return [self.query(sql) for sql in statements]
        self._refuse_if_stopped()
        self.statement_log.extend(statements)
        return duckdb_parallel.query_all(
            self._con, statements, threads, self._cursors, self._refuse_if_stopped
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params).fetchall()

    def record_batches(self, sql: str, rows: int = 250_000) -> Any:
        """A query's result as a pyarrow RecordBatchReader of `rows` rows a batch, read as it is
        consumed: no Python object per value (Spark's load path)."""
        safety.inspect(sql, "duckdb")
        self._refuse_if_stopped()
        self.statement_log.append(sql)
        try:
            return self._con.sql(sql).to_arrow_reader(rows)
        except duckdb.Error as error:
            raise EngineError(f"{error}\n  in: {sql[:300]}") from error

    def _run(self, sql: str, params: Sequence[Any]) -> duckdb.DuckDBPyConnection:
        for dropped in safety.inspect(sql, "duckdb"):
            self._require_empty_column(dropped)
        self._refuse_if_stopped()
        self.statement_log.append(sql)
        try:
            return self._con.execute(sql, list(params)) if params else self._con.execute(sql)
        except duckdb.Error as error:
            self._refuse_if_stopped(error)
            hint = duckdb_settings.out_of_memory_hint(str(error))
            raise EngineError(f"{error}\n  in: {sql[:300]}{hint}") from error

    def _refuse_if_stopped(self, error: BaseException | None = None) -> None:
        if self._stopped:
            raise Interrupted(f"stopped: DuckDB warehouse {self.path} was interrupted") from error

    def _require_empty_column(self, dropped: safety.DroppedColumn) -> None:
        check = drop_guard.values_held_sql(DUCKDB, dropped.table_path, dropped.column_name)
        held = self._con.execute(check).fetchone()
        safety.refuse_if_filled(dropped, held[0] if held else None)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._in_transaction:  # nested use joins the outer transaction
            yield
            return
        self._con.execute(session.BEGIN)
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._con.execute(session.ROLLBACK)
            raise
        else:
            self._con.execute(session.COMMIT)
        finally:
            self._in_transaction = False

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        batch = [list(row) for row in rows]
        if not batch:
            return 0
        statement = bulk_rows.insert_rows_logged(DUCKDB, table, columns, len(batch))
        self.statement_log.append(statement)
        try:
            # Many rows per statement: executemany binds and runs one row at a time (10k held
            # records took 13 s that way, 2 s in chunks of 100).
            for chunk in iter_chunks(batch, 100):
                self._refuse_if_stopped()
                insert = bulk_rows.insert_rows_sql(DUCKDB, table, columns, len(chunk))
                self._con.execute(insert, [value for row in chunk for value in row])
        except duckdb.Error as error:
            self._refuse_if_stopped(error)
            raise EngineError(f"{error}\n  in: {statement[:300]}") from error
        return len(batch)

    def existing_rows(
        self, table: str, key: str | None, keys: Sequence[str], batches: Sequence[str]
    ) -> list[tuple[str | None, str, int]]:
        return existing_rows_by_lists(self, table, key, keys, batches)

    def table_columns(self, table: str, schema: str = "main") -> dict[str, str]:
        return columns_of(self, table, schema)

    def table_exists(self, table: str, schema: str = "main") -> bool:
        return bool(self.table_columns(table, schema))

    def stage_lines(
        self, path: Path, first_line: int, batch_id: str, stage: str, starts_file: bool = True
    ) -> None:
        """Stage whole lines of a JSONL file as raw records (every line accounted for, even broken
        ones), the first numbered `first_line`; blank lines are no record. `starts_file`: the
        lines are the first of their file, where a UTF-8 byte-order mark is no part of a record."""
        self.execute(sql.stage_lines(stage, starts_file), (batch_id, first_line - 1, str(path)))

    def stage_json_document(self, path: Path, batch_id: str, stage: str, layout: str) -> int:
        """Read a JSON document's records: each element of an array (`layout` "array"), or each of
        the objects written one after another ("document"); its 1-based position is its line_no.
        DuckDB streams the file; a malformed document raises EngineError (held whole)."""
        self.execute(sql.stage_json_document(stage, layout), (batch_id, str(path)))
        rows = self.query(sql.count(DUCKDB.ident(stage)))
        return int(rows[0][0])

    def close(self) -> None:
        self._con.close()
