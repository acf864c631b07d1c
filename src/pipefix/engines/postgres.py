"""PostgreSQL: a warehouse on a server, reached with psycopg 3."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader

from pipefix.engines import safety
from pipefix.engines.base import Capabilities, EngineError, columns_of
from pipefix.engines.postgres_probe import existing_rows_by_join
from pipefix.engines.sql import bulk_rows, drop_guard, run_lock, session
from pipefix.engines.sql.dialects import POSTGRES
from pipefix.errors import Interrupted


class PostgresEngine:
    capabilities = Capabilities(
        dialect="postgres",
        state_dialect="postgres",
        temp_schema="pg_temp",
        views_pin_column_types=True,
        stale_plan_risk=True,
        bulk_rows="csv",
    )

    def __init__(self, url: str, read_only: bool = False) -> None:
        self.url = redact_url(url)  # for messages; the password stays in the private conninfo
        self._conninfo = url
        try:
            self._con = psycopg.connect(url, autocommit=True)
        except psycopg.Error as error:
            reason = _scrub(str(error).strip(), url)
            raise EngineError(f"cannot reach PostgreSQL warehouse {self.url}: {reason}") from None
        # JSON comes back as its text, as it does from DuckDB, so callers parse it the same way.
        for json_type in ("json", "jsonb"):
            self._con.adapters.register_loader(json_type, TextLoader)
        try:
            with self._con.cursor() as cursor:
                # Naive timestamps mean UTC, as in DuckDBEngine.
                cursor.execute(session.UTC_SESSION)
                if read_only:
                    cursor.execute(session.READ_ONLY_SESSION)
        except psycopg.Error as error:
            self._con.close()
            raise EngineError(f"cannot set up PostgreSQL session on {self.url}: {error}") from error
        self._in_transaction = False
        self._stopped = False
        self.statement_log: list[str] = []

    def interrupt(self) -> None:
        """Stop: the statement running now is cancelled (its transaction rolls back) and every
        statement after it raises Interrupted. Safe from a signal handler or another thread."""
        self._stopped = True
        # Nothing to cancel, or the server is gone: nothing more runs anyway.
        with suppress(psycopg.Error):
            self._con.cancel_safe(timeout=5)

    def _refuse_if_stopped(self, error: BaseException | None = None) -> None:
        if self._stopped:
            raise Interrupted(f"stopped: the statement on {self.url} was cancelled") from error

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params, fetch=False)

    def query_many(self, statements: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        return [self.query(sql) for sql in statements]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params, fetch=True)

    def _run(self, sql: str, params: Sequence[Any], fetch: bool) -> list[tuple[Any, ...]]:
        for dropped in safety.inspect(sql, "postgres"):
            self._require_empty_column(dropped)
        self._refuse_if_stopped()
        self.statement_log.append(sql)
        try:
            with self._con.cursor() as cursor:
                if params:
                    cursor.execute(to_pyformat(sql), list(params))
                else:
                    cursor.execute(sql)
                if not fetch or cursor.description is None:
                    return []
                return cursor.fetchall()
        except psycopg.Error as error:
            self._refuse_if_stopped(error)
            raise EngineError(f"{error}\n  in: {sql[:300]}") from error

    def _require_empty_column(self, dropped: safety.DroppedColumn) -> None:
        check = drop_guard.values_held_sql(POSTGRES, dropped.table_path, dropped.column_name)
        try:
            with self._con.cursor() as cursor:
                held = cursor.execute(check).fetchone()
        except psycopg.Error as error:
            raise EngineError(f"{error}\n  in: {check[:300]}") from error
        safety.refuse_if_filled(dropped, held[0] if held else None)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._in_transaction:  # nested use joins the outer transaction (no savepoint)
            yield
            return
        self._in_transaction = True
        try:
            with self._con.transaction():  # commits on success, rolls back on any exception
                yield
        except psycopg.Error as error:  # COMMIT itself failed (e.g. a deferred constraint)
            self._refuse_if_stopped(error)
            raise EngineError(f"{error}\n  in: COMMIT") from error
        finally:
            self._in_transaction = False

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        pending = iter(rows)
        first = next(pending, None)
        if first is None:
            return 0
        statement = bulk_rows.copy_from_stdin_sql(POSTGRES, table, columns)
        safety.inspect(statement, "postgres")
        self._refuse_if_stopped()
        self.statement_log.append(statement)
        written = 0
        try:
            with self._con.cursor() as cursor, cursor.copy(statement) as copy:
                for row in _chain(first, pending):
                    # The server hears of a cancel only when the copy ends: stop sending first.
                    self._refuse_if_stopped()
                    copy.write_row([_copy_value(v) for v in row])
                    written += 1
        except psycopg.Error as error:
            self._refuse_if_stopped(error)
            raise EngineError(f"{error}\n  in: {statement[:300]}") from error
        return written

    def copy_csv(self, table: str, columns: Sequence[str], path: Path) -> None:
        """COPY a CSV file DuckDB wrote (`FORCE_QUOTE *`: an unquoted empty field is NULL, a
        quoted one an empty string) into `table`, in blocks: no Python object per row or value."""
        statement = bulk_rows.copy_from_stdin_sql(POSTGRES, table, columns, csv=True)
        safety.inspect(statement, "postgres")
        self._refuse_if_stopped()
        self.statement_log.append(statement)
        try:
            with self._con.cursor() as cursor, cursor.copy(statement) as copy, path.open("rb") as source:
                while block := source.read(1 << 20):
                    self._refuse_if_stopped()  # the server hears of a cancel only when the copy ends
                    copy.write(block)
        except psycopg.Error as error:
            self._refuse_if_stopped(error)
            raise EngineError(f"{error}\n  in: {statement[:300]}") from error

    def existing_rows(
        self, table: str, key: str | None, keys: Sequence[str], batches: Sequence[str]
    ) -> list[tuple[str | None, str, int]]:
        return existing_rows_by_join(self, table, key, keys, batches)

    def table_columns(self, table: str, schema: str = "public") -> dict[str, str]:
        return columns_of(self, table, schema)

    def table_exists(self, table: str, schema: str = "public") -> bool:
        return bool(self.table_columns(table, schema))

    def side_connection(self, schema: str) -> psycopg.Connection[dict[str, Any]]:
        """A second connection to the same database with `schema` first on the search path, for
        a library that runs its own SQL on its own tables (LangGraph's checkpoint saver)."""
        try:
            return psycopg.connect(
                self._conninfo,
                autocommit=True,
                prepare_threshold=0,
                row_factory=dict_row,
                options=f"-c search_path={schema}",
            )
        except psycopg.Error as error:
            reason = _scrub(str(error).strip(), self._conninfo)
            raise EngineError(f"cannot reach PostgreSQL warehouse {self.url}: {reason}") from None

    def close(self) -> None:
        # A session's advisory locks (the run lock, run_lock.py) end with it, but only once the
        # server has ended the session, maybe after the next run asked for them: let them go first.
        with suppress(psycopg.Error):
            if not self._con.closed and self._con.info.transaction_status == TransactionStatus.IDLE:
                self._con.execute(run_lock.release_all_sql())
        self._con.close()


def to_pyformat(sql: str) -> str:
    """Turn DuckDB-style `?` placeholders into psycopg's `%s`, and escape every literal `%` as `%%`
    (psycopg reads `%` everywhere, even inside literals). A `?` inside a string literal, a quoted
    identifier, a dollar-quoted body or a comment is left alone. Use only when there are params."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        end = _skip_quoted(sql, i)
        if end > i:
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif char == "?":
            out.append("%s")
            i += 1
        elif char == "%":
            out.append("%%")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")


def _skip_quoted(sql: str, i: int) -> int:
    """The end of the literal, quoted identifier or comment starting at `i`, or `i` if none does."""
    char = sql[i]
    if char in "'\"":
        escaped = char == "'" and i > 0 and sql[i - 1] in "eE" and (i < 2 or not _is_word(sql[i - 2]))
        j = i + 1
        while j < len(sql):
            if escaped and sql[j] == "\\":
                j += 2
                continue
            if sql[j] == char:
                if sql[j + 1 : j + 2] == char:  # doubled quote: still inside
                    j += 2
                    continue
                return j + 1
            j += 1
        return len(sql)
    if sql.startswith("--", i):
        newline = sql.find("\n", i)
        return len(sql) if newline < 0 else newline + 1
    if sql.startswith("/*", i):
        close = sql.find("*/", i + 2)
        return len(sql) if close < 0 else close + 2
    if char == "$" and (i == 0 or not _is_word(sql[i - 1])):
        tag = _DOLLAR_TAG.match(sql, i)
        if tag:
            close = sql.find(tag.group(), tag.end())
            return len(sql) if close < 0 else close + len(tag.group())
    return i


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def redact_url(url: str) -> str:
    """The URL with its password replaced by `***` (key=value conninfo strings too)."""
    if "://" not in url:
        return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _scrub(reason: str, url: str) -> str:
    """libpq does not echo the password, but make sure of it."""
    password = urlsplit(url).password if "://" in url else None
    return reason.replace(password, "***") if password else reason


def _copy_value(value: Any) -> Any:
    """An aware datetime is stored as its UTC wall time (naive means UTC); the rest as given."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _chain(first: Sequence[Any], rest: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield first
    yield from rest
