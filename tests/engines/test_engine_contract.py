"""One contract, every engine: DuckDB on a file, PostgreSQL on a real server and Spark in local
mode behave alike. Where Spark differs by design (Capabilities, and spark.py's docstring: its
Parquet tables take no transaction, no in-place retype and no row-level UPDATE/DELETE), the test
asserts what Spark does instead."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from pipefix.engines.base import EngineError, scalar
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine, redact_url, to_pyformat
from pipefix.engines.safety import DestructiveStatementError
from pipefix.engines.spark import SparkEngine
from pipefix.engines.types import physical_type
from tests.pg_server import free_port

AnyEngine = DuckDBEngine | PostgresEngine | SparkEngine

NOTE = "Zoë's “100%” ✓ ?"
PLUS_2 = timezone(timedelta(hours=2))
DOC = {"sku": "A-1", "tags": ["x", "y"], "qty": 3, "nested": {"ok": True}}


@pytest.fixture
def users(any_engine: AnyEngine) -> AnyEngine:
    """A user table `users(id, name, note)`: names filled, notes all NULL."""
    any_engine.execute("CREATE TABLE users (id INTEGER, name VARCHAR, note VARCHAR)")
    any_engine.execute("INSERT INTO users VALUES (1, 'ada', NULL), (2, 'bob', NULL), (3, 'cy', NULL)")
    return any_engine


def user_rows(engine: AnyEngine) -> list[tuple[Any, ...]]:
    return engine.query("SELECT id, name, note FROM users ORDER BY id")


def count(engine: AnyEngine, table: str) -> int:
    return int(scalar(engine, f"SELECT count(*) FROM {table}"))


# --- parameters and bulk copy ---------------------------------------------------------------


def test_question_mark_params_round_trip(any_engine: AnyEngine) -> None:
    any_engine.execute("CREATE TABLE items (id BIGINT, name VARCHAR, price DECIMAL(12,2), seen TIMESTAMP)")
    seen = datetime(2026, 11, 1, 10, 0, 30)
    any_engine.execute("INSERT INTO items VALUES (?, ?, ?, ?)", (1, NOTE, Decimal("19.99"), seen))
    any_engine.execute("INSERT INTO items VALUES (?, ?, ?, ?)", (2, None, Decimal("0.01"), None))

    rows = any_engine.query("SELECT id, name, price, seen FROM items WHERE id = ?", (1,))
    assert rows == [(1, NOTE, Decimal("19.99"), seen)]
    # `?` and `%` inside literals are text, not placeholders, whatever the params.
    matched = any_engine.query(
        "SELECT id, '?' AS mark, '50%' AS pct FROM items WHERE name LIKE '%' || ? || '%' ORDER BY id",
        ("100%",),
    )
    assert matched == [(1, "?", "50%")]
    assert any_engine.query("SELECT id FROM items WHERE name IS NULL AND price = ?", (Decimal("0.01"),)) == [
        (2,)
    ]


def _typed_table(engine: AnyEngine, table: str) -> None:
    json_type = physical_type("json", engine.capabilities.dialect)
    engine.execute(
        f"CREATE TABLE {table} (id BIGINT, price DECIMAL(12,2), created TIMESTAMP, day DATE, "
        f'paid BOOLEAN, doc {json_type}, note VARCHAR, "order id" VARCHAR)'
    )


COLUMNS = ("id", "price", "created", "day", "paid", "doc", "note", "order id")


def test_copy_rows_keeps_every_value_exact(any_engine: AnyEngine) -> None:
    _typed_table(any_engine, "sales")
    created = datetime(2026, 11, 1, 10, 0, 30, 123456)
    rows: list[tuple[Any, ...]] = [
        (1, Decimal("19.99"), created, date(2026, 11, 1), True, json.dumps(DOC), NOTE, "o-1"),
        (2, None, None, None, None, None, None, None),
        (3, Decimal("0.10"), datetime(2026, 11, 1, 12, 0, tzinfo=PLUS_2), None, False, "[]", "", "o-3"),
    ]

    assert any_engine.copy_rows("sales", COLUMNS, iter(rows)) == 3

    got = any_engine.query(f"SELECT {', '.join(_q(c) for c in COLUMNS)} FROM sales ORDER BY id")
    first, empty, aware = got
    assert first[:5] == (1, Decimal("19.99"), created, date(2026, 11, 1), True)
    assert isinstance(first[1], Decimal)
    assert isinstance(first[5], str)
    assert json.loads(first[5]) == DOC
    assert first[6:] == (NOTE, "o-1")
    assert empty == (2, None, None, None, None, None, None, None)
    # An aware datetime lands as its UTC wall time, never with the offset silently dropped.
    assert aware[2] == datetime(2026, 11, 1, 10, 0)
    assert (aware[4], json.loads(aware[5]), aware[6]) == (False, [], "")


def test_copy_rows_into_a_schema_qualified_table(any_engine: AnyEngine) -> None:
    any_engine.execute("CREATE SCHEMA IF NOT EXISTS pipefix")  # Spark: always there, its state
    any_engine.execute("CREATE TABLE pipefix.quarantine (line_no BIGINT, raw VARCHAR, reason VARCHAR)")
    rows = [(1, '{"broken": ', "unparseable"), (2, "100% ?", None)]

    assert any_engine.copy_rows("pipefix.quarantine", ("line_no", "raw", "reason"), rows) == 2
    assert any_engine.copy_rows("pipefix.quarantine", ("line_no", "raw", "reason"), []) == 0

    assert any_engine.query("SELECT line_no, raw, reason FROM pipefix.quarantine ORDER BY line_no") == rows


def test_existing_rows_and_query_many_read_what_the_table_holds(any_engine: AnyEngine) -> None:
    """What the judge asks of a warehouse (the rows a batch must know of) and what the health
    check does (independent statements, answered in order, at once where the engine can)."""
    columns = ("item_id", "price", "_pipefix_batch", "_pipefix_line")
    any_engine.execute(
        "CREATE TABLE items (item_id BIGINT, price DECIMAL(38,10), "
        "_pipefix_batch VARCHAR, _pipefix_line BIGINT)"
    )
    huge, tiny = Decimal("123456789012345678901234567.1"), Decimal("0.0000000001")  # mixed scales, one copy
    rows = [(1, huge, "b1", 1), (2, tiny, "b1", 2), (3, None, "b2", 1), (4, Decimal("-5"), "b3", 1)]
    assert any_engine.copy_rows("items", columns, rows) == 4

    by_key_or_batch = any_engine.existing_rows("items", "item_id", ["2", "4", "99"], ["b2"])
    assert sorted(by_key_or_batch) == [("2", "b1", 2), ("3", "b2", 1), ("4", "b3", 1)]
    assert sorted(any_engine.existing_rows("items", None, [], ["b1"])) == [(None, "b1", 1), (None, "b1", 2)]
    assert any_engine.existing_rows("items", "item_id", ["99"], ["b9"]) == []

    counts = [f"SELECT count(*) FROM items WHERE item_id > {n}" for n in range(5)]
    prices = "SELECT price FROM items WHERE item_id <= 2 ORDER BY item_id"
    assert any_engine.query_many([*counts, prices]) == [
        [(4,)],
        [(3,)],
        [(2,)],
        [(1,)],
        [(0,)],
        [(huge,), (tiny,)],
    ]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- transactions ---------------------------------------------------------------------------


class Boom(RuntimeError):
    """Raised by a test on purpose, inside a transaction."""


def _user_and_state_tables(engine: AnyEngine) -> None:
    """A user table `t` and a table of pipefix's own state, `pipefix.t` (on Spark: in the
    state DuckDB beside the warehouse)."""
    engine.execute("CREATE SCHEMA IF NOT EXISTS pipefix")
    engine.execute("CREATE TABLE pipefix.t (id INTEGER)")
    engine.execute("CREATE TABLE t (id INTEGER)")


def ids(engine: AnyEngine, table: str) -> list[int]:
    return [int(r[0]) for r in engine.query(f"SELECT id FROM {table} ORDER BY id")]


def kept_after_rollback(engine: AnyEngine, written: list[int]) -> list[int]:
    """What a rolled-back transaction leaves in a user table: nothing — except on Spark, whose
    Parquet tables have no transaction: its writes happen at once (data before bookkeeping, see
    spark.py), and only pipefix's state rolls back."""
    return written if isinstance(engine, SparkEngine) else []


def _write_then_fail(engine: AnyEngine) -> None:
    with engine.transaction():
        for table in ("t", "pipefix.t"):
            engine.execute(f"INSERT INTO {table} VALUES (?)", (1,))
            engine.copy_rows(table, ("id",), [(2,), (3,)])
        engine.execute("CREATE TABLE made_inside (id INTEGER)")  # DDL is transactional too
        engine.execute("CREATE TABLE pipefix.made_inside (id INTEGER)")
        raise Boom("boom")


def test_transaction_rolls_back_on_any_exception(any_engine: AnyEngine) -> None:
    _user_and_state_tables(any_engine)
    with pytest.raises(Boom):
        _write_then_fail(any_engine)

    assert ids(any_engine, "pipefix.t") == []
    assert not any_engine.table_columns("made_inside", "pipefix")
    assert ids(any_engine, "t") == kept_after_rollback(any_engine, [1, 2, 3])
    # Spark has no transactional DDL, but its registry of tables is pipefix state: the table
    # made inside is gone from the engine's view (its Parquet files stay, unregistered).
    assert not any_engine.table_columns("made_inside")
    with pytest.raises(EngineError, match="made_inside"):
        any_engine.query("SELECT count(*) FROM made_inside")
    any_engine.execute("CREATE TABLE made_inside (id INTEGER)")  # and can be made again
    any_engine.execute("INSERT INTO made_inside VALUES (?)", (7,))
    assert ids(any_engine, "made_inside") == [7]


def _write_then_break(engine: AnyEngine) -> None:
    with engine.transaction():
        engine.execute("INSERT INTO t VALUES (1)")
        engine.execute("INSERT INTO pipefix.t VALUES (1)")
        engine.execute("INSERT INTO missing_table VALUES (1)")


def test_transaction_rolls_back_after_a_database_error(any_engine: AnyEngine) -> None:
    _user_and_state_tables(any_engine)
    with pytest.raises(EngineError, match="missing_table"):
        _write_then_break(any_engine)

    assert ids(any_engine, "pipefix.t") == []
    assert ids(any_engine, "t") == kept_after_rollback(any_engine, [1])
    any_engine.execute("INSERT INTO t VALUES (2)")  # the engine is usable afterwards
    any_engine.execute("INSERT INTO pipefix.t VALUES (2)")
    assert ids(any_engine, "t") == [*kept_after_rollback(any_engine, [1]), 2]
    assert ids(any_engine, "pipefix.t") == [2]


def test_transaction_commits_on_success(any_engine: AnyEngine) -> None:
    _user_and_state_tables(any_engine)
    with any_engine.transaction():
        for table in ("t", "pipefix.t"):
            any_engine.execute(f"INSERT INTO {table} VALUES (?)", (1,))
            any_engine.copy_rows(table, ("id",), [(2,)])

    assert ids(any_engine, "t") == [1, 2]
    assert ids(any_engine, "pipefix.t") == [1, 2]


def _inner_succeeds_outer_fails(engine: AnyEngine) -> None:
    with engine.transaction():
        with engine.transaction():
            engine.execute("INSERT INTO t VALUES (1)")
            engine.execute("INSERT INTO pipefix.t VALUES (1)")
        raise Boom("outer")


def _inner_fails(engine: AnyEngine) -> None:
    with engine.transaction():
        engine.execute("INSERT INTO t VALUES (2)")
        engine.execute("INSERT INTO pipefix.t VALUES (2)")
        raise Boom("inner")


def test_nested_transaction_joins_the_outer_one(any_engine: AnyEngine) -> None:
    _user_and_state_tables(any_engine)
    with pytest.raises(Boom, match="outer"):
        _inner_succeeds_outer_fails(any_engine)
    # the inner block's success committed nothing on its own
    assert ids(any_engine, "pipefix.t") == []
    assert ids(any_engine, "t") == kept_after_rollback(any_engine, [1])

    with any_engine.transaction():
        with pytest.raises(Boom, match="inner"):
            _inner_fails(any_engine)
        any_engine.execute("INSERT INTO t VALUES (3)")
        any_engine.execute("INSERT INTO pipefix.t VALUES (3)")
    # An inner failure caught inside the outer block undoes nothing by itself (no savepoint).
    assert ids(any_engine, "pipefix.t") == [2, 3]
    assert ids(any_engine, "t") == [*kept_after_rollback(any_engine, [1]), 2, 3]


# --- what an engine can do to a user table in place ----------------------------------------


def test_rows_of_a_user_table_are_never_updated_but_pipefix_state_is(users: AnyEngine) -> None:
    # pipefix only appends to user tables: the guard refuses an UPDATE on every engine, before
    # it reaches the engine (Spark's own "no row-level DML" check is never reached)
    logged = list(users.statement_log)
    with pytest.raises(DestructiveStatementError, match=r"^refused: UPDATE of users"):
        users.execute("UPDATE users SET note = ? WHERE id = ?", ("hi", 2))
    assert users.statement_log == logged
    assert user_rows(users)[1] == (2, "bob", None)
    # pipefix's own state takes UPDATE on every engine
    users.execute("CREATE SCHEMA IF NOT EXISTS pipefix")
    users.execute("CREATE TABLE pipefix.marks (id INTEGER, note VARCHAR)")
    users.execute("INSERT INTO pipefix.marks VALUES (1, NULL), (2, NULL)")
    users.execute("UPDATE pipefix.marks SET note = ? WHERE id = ?", ("hi", 2))
    assert users.query("SELECT id, note FROM pipefix.marks ORDER BY id") == [(1, None), (2, "hi")]


def test_retyping_a_column_keeps_every_row(users: AnyEngine) -> None:
    before = user_rows(users)
    first = users.active_version("users") if isinstance(users, SparkEngine) else None

    users.execute("ALTER TABLE users ALTER COLUMN id TYPE BIGINT")

    assert users.table_columns("users")["id"].lower() == "bigint"
    assert user_rows(users) == before
    if users.capabilities.versioned_tables:
        # Spark writes a new physical version and swaps the view; the old one is kept
        assert isinstance(users, SparkEngine)
        assert users.table_versions("users") == [first, users.active_version("users")]


# --- the safety guard -----------------------------------------------------------------------

REFUSED = [
    pytest.param("DROP TABLE users", "DROP", id="drop-table"),
    pytest.param("TRUNCATE users", "TRUNCATE", id="truncate"),
    pytest.param("DELETE FROM users", "DELETE", id="delete-all"),
    pytest.param("DELETE FROM users WHERE id = 2", "DELETE", id="delete-where"),
    pytest.param("CREATE OR REPLACE TABLE users AS SELECT 1 AS id", "CREATE OR REPLACE", id="ctas-replace"),
    pytest.param("INSERT INTO users VALUES (4, 'dee', NULL); DROP TABLE users", "DROP", id="smuggled-drop"),
    pytest.param("UPDATE users SET note = 'x'", "UPDATE", id="update"),
    pytest.param("SELECT id FROM users; UPDATE/* x */users SET note = 'x'", "UPDATE", id="smuggled-update"),
    pytest.param(
        "MERGE INTO users USING (SELECT 2 AS id) AS s ON users.id = s.id "
        "WHEN MATCHED THEN UPDATE SET note = 'x'",
        "MERGE",
        id="merge",
    ),
    pytest.param(
        "INSERT INTO users VALUES (2, 'bob', 'x') ON CONFLICT (id) DO UPDATE SET note = 'x'",
        "upsert",
        id="upsert",
    ),
]


@pytest.mark.parametrize(("sql", "word"), REFUSED)
def test_destructive_statements_are_refused(users: AnyEngine, sql: str, word: str) -> None:
    before = user_rows(users)
    logged = list(users.statement_log)

    with pytest.raises(DestructiveStatementError, match=word):
        users.execute(sql)

    assert users.statement_log == logged  # refused statements never reach the log
    assert user_rows(users) == before


def test_dropping_a_column_that_holds_values_is_refused(users: AnyEngine) -> None:
    with pytest.raises(DestructiveStatementError, match="lose 3 values"):
        users.execute("ALTER TABLE users DROP COLUMN name")
    assert user_rows(users)[0] == (1, "ada", None)

    users.execute("ALTER TABLE users DROP COLUMN note")  # all NULL: nothing is lost

    assert list(users.table_columns("users")) == ["id", "name"]
    assert users.query("SELECT id, name FROM users ORDER BY id") == [(1, "ada"), (2, "bob"), (3, "cy")]


def test_statement_log_records_what_ran_not_what_was_refused(any_engine: AnyEngine) -> None:
    any_engine.execute("CREATE TABLE t (id INTEGER, note VARCHAR)")
    any_engine.execute("INSERT INTO t VALUES (?, ?)", (1, "x"))
    with pytest.raises(DestructiveStatementError):
        any_engine.execute("DROP TABLE t")
    with pytest.raises(DestructiveStatementError):
        any_engine.execute("ALTER TABLE t DROP COLUMN note")
    any_engine.query("SELECT id FROM t WHERE id = ?", (1,))

    assert any_engine.statement_log == [
        "CREATE TABLE t (id INTEGER, note VARCHAR)",
        "INSERT INTO t VALUES (?, ?)",
        "SELECT id FROM t WHERE id = ?",
    ]


def test_a_bad_statement_raises_engine_error_naming_it(any_engine: AnyEngine) -> None:
    with pytest.raises(EngineError, match="SELEKT 1"):
        any_engine.execute("SELEKT 1")
    with pytest.raises(EngineError, match="no_such_table"):
        any_engine.query("SELECT * FROM no_such_table WHERE id = ?", (1,))
    with pytest.raises(EngineError, match="no_such_table"):
        any_engine.copy_rows("no_such_table", ("id",), [(1,)])
    assert any_engine.query("SELECT 1") == [(1,)]  # still usable


# --- PostgreSQL only ------------------------------------------------------------------------


def test_unreachable_server_never_shows_the_password() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://pipefix:s3cret-pw@127.0.0.1:{port}/warehouse"

    with pytest.raises(EngineError) as raised:
        PostgresEngine(url)

    message = str(raised.value)
    assert message.startswith(f"cannot reach PostgreSQL warehouse postgresql://pipefix:***@127.0.0.1:{port}/")
    assert "s3cret-pw" not in message
    assert "s3cret-pw" not in repr(raised.value.__cause__) + repr(raised.value.__context__)


def test_read_only_engine_refuses_writes(pg_url: str) -> None:
    writer = PostgresEngine(pg_url)
    writer.execute("CREATE TABLE t (id INTEGER)")
    writer.execute("INSERT INTO t VALUES (1)")
    writer.close()

    reader = PostgresEngine(pg_url, read_only=True)
    try:
        assert reader.query("SELECT id FROM t") == [(1,)]
        with pytest.raises(EngineError, match="read-only"):
            reader.execute("INSERT INTO t VALUES (?)", (2,))
        with pytest.raises(EngineError, match="read-only"):
            reader.execute("CREATE TABLE u (id INTEGER)")
        with pytest.raises(EngineError, match="read-only"):
            reader.copy_rows("t", ("id",), [(3,)])
        with pytest.raises(EngineError, match="read-only"), reader.transaction():
            reader.execute("INSERT INTO t VALUES (5)")
        assert reader.query("SELECT id FROM t") == [(1,)]
    finally:
        reader.close()


def test_postgres_table_columns_and_json_text(pg_url: str) -> None:
    engine = PostgresEngine(pg_url)
    try:
        engine.execute("CREATE TABLE t (id BIGINT, doc JSONB, at TIMESTAMPTZ)")
        engine.copy_rows("t", ("id", "doc", "at"), [(1, '{"a": 1}', datetime(2026, 11, 1, 10, 0))])
        assert engine.table_columns("t") == {
            "id": "bigint",
            "doc": "jsonb",
            "at": "timestamp with time zone",
        }
        # A naive datetime means UTC, whatever the server's own zone.
        assert engine.query("SELECT doc, at FROM t") == [
            ('{"a": 1}', datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
        ]
    finally:
        engine.close()


def test_the_server_is_a_real_postgresql(pg_server: str) -> None:
    with psycopg.connect(f"{pg_server}/postgres") as con:
        row = con.execute("SHOW server_version").fetchone()
        address = con.execute("SELECT inet_server_addr()::text").fetchone()
    assert row is not None
    assert int(row[0].split(".")[0]) >= 13
    assert address is not None
    assert address[0].startswith("127.0.0.1")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT ?", "SELECT %s"),
        ("SELECT ?, ? FROM t WHERE a = ?", "SELECT %s, %s FROM t WHERE a = %s"),
        ("SELECT '?' , ?", "SELECT '?' , %s"),
        ("SELECT 'it''s ?' , ?", "SELECT 'it''s ?' , %s"),
        ('SELECT "col?" FROM t WHERE x = ?', 'SELECT "col?" FROM t WHERE x = %s'),
        ('SELECT "a""?b" , ?', 'SELECT "a""?b" , %s'),
        ("SELECT E'\\'?' , ?", "SELECT E'\\'?' , %s"),
        ("SELECT $$ ? $$, $tag$ '? $tag$, ?", "SELECT $$ ? $$, $tag$ '? $tag$, %s"),
        ("SELECT 1 -- why?\n, ?", "SELECT 1 -- why?\n, %s"),
        ("SELECT /* ? */ ?", "SELECT /* ? */ %s"),
        ("SELECT ? LIKE '50%'", "SELECT %s LIKE '50%%'"),
        ("SELECT 7 % ?", "SELECT 7 %% %s"),
        ("SELECT '%s', ?", "SELECT '%%s', %s"),
        ("SELECT 1", "SELECT 1"),
    ],
)
def test_placeholder_conversion(sql: str, expected: str) -> None:
    assert to_pyformat(sql) == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
        ("postgres://u:p%40ss@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"),
        ("host=h user=u password=pw dbname=db", "host=h user=u password=*** dbname=db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
