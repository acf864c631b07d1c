"""The engine refuses destructive SQL whoever sends it, before it reaches DuckDB or the log."""

from __future__ import annotations

from typing import Any

import pytest

from pipefix.engines import safety
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.safety import DestructiveStatementError

USERS = [(1, "ada", None), (2, "bob", None), (3, "cy", None)]


@pytest.fixture
def users(engine: DuckDBEngine) -> DuckDBEngine:
    """The engine with a user table `users(id, name, note)`: names filled, notes all NULL."""
    engine.execute("CREATE TABLE users (id INTEGER, name VARCHAR, note VARCHAR)")
    engine.execute("INSERT INTO users VALUES (1, 'ada', NULL), (2, 'bob', NULL), (3, 'cy', NULL)")
    return engine


def user_rows(engine: DuckDBEngine) -> list[tuple[Any, ...]]:
    return engine.query("SELECT id, name, note FROM users ORDER BY id")


REFUSED = [
    pytest.param("DROP TABLE users", "DROP", id="drop-table"),
    pytest.param("DROP TABLE IF EXISTS main.users", "DROP", id="drop-table-qualified"),
    pytest.param("TRUNCATE users", "TRUNCATE", id="truncate"),
    pytest.param("TRUNCATE TABLE users", "TRUNCATE", id="truncate-table"),
    pytest.param("DELETE FROM users", "DELETE", id="delete-all"),
    pytest.param("DELETE FROM users WHERE id = 2", "DELETE", id="delete-where"),
    pytest.param("CREATE OR REPLACE TABLE users AS SELECT 1 AS id", "CREATE OR REPLACE", id="ctas-replace"),
    pytest.param("create or replace table users (id INTEGER)", "CREATE OR REPLACE", id="replace-lower"),
    pytest.param("INSERT INTO users VALUES (4, 'dee', NULL); DROP TABLE users", "DROP", id="smuggled-drop"),
    pytest.param("SELECT 1; TRUNCATE users", "TRUNCATE", id="smuggled-truncate"),
    pytest.param("DROP SCHEMA main CASCADE", "DROP", id="drop-schema"),
    # rows already in a user table are never changed either: pipefix only appends
    pytest.param("UPDATE users SET note = 'x'", "UPDATE", id="update"),
    pytest.param("update main.users set note = 'x' where id = 2", "UPDATE", id="update-qualified"),
    pytest.param(
        "MERGE INTO users USING (SELECT 2 AS id, 'x' AS note) AS s ON users.id = s.id "
        "WHEN MATCHED THEN UPDATE SET note = s.note",
        "MERGE",
        id="merge",
    ),
    pytest.param(
        "INSERT INTO users VALUES (2, 'bob', 'x') ON CONFLICT (id) DO UPDATE SET note = excluded.note",
        r"upsert \(INSERT ... ON CONFLICT DO UPDATE\)",
        id="on-conflict-do-update",
    ),
    pytest.param(
        "INSERT OR REPLACE INTO users VALUES (2, 'bob', 'x')",
        r"upsert \(INSERT OR REPLACE\)",
        id="or-replace",
    ),
    pytest.param("INSERT OVERWRITE users SELECT 1, 'x', NULL", "INSERT OVERWRITE", id="insert-overwrite"),
    pytest.param("SELECT id FROM users; UPDATE users SET note = 'x'", "UPDATE", id="smuggled-update"),
    pytest.param("SELECT 1; UPDATE/* a comment */users SET note = 'x'", "UPDATE", id="commented-update"),
    pytest.param(
        "SELECT 1 -- ; UPDATE? no\n; UPDATE users SET note = 'x'", "UPDATE", id="update-after-comment"
    ),
    pytest.param(
        "WITH s AS (SELECT 2 AS id) UPDATE users SET note = 'x' FROM s WHERE users.id = s.id",
        "UPDATE",
        id="update-with-cte",
    ),
    pytest.param(
        "WITH d AS (DELETE FROM users RETURNING *) SELECT count(*) FROM d", "DELETE", id="delete-in-cte"
    ),
]


@pytest.mark.parametrize(("sql", "verb"), REFUSED)
def test_execute_refuses_destructive_sql_and_the_rows_survive(
    users: DuckDBEngine, sql: str, verb: str
) -> None:
    logged = list(users.statement_log)
    with pytest.raises(DestructiveStatementError, match=f"^refused: {verb}"):
        users.execute(sql)
    assert users.statement_log == logged, "a refused statement must never reach the log"
    assert user_rows(users) == USERS
    assert list(users.table_columns("users")) == ["id", "name", "note"]


@pytest.mark.parametrize(("sql", "verb"), REFUSED)
def test_query_refuses_destructive_sql_too(users: DuckDBEngine, sql: str, verb: str) -> None:
    with pytest.raises(DestructiveStatementError, match=f"^refused: {verb}"):
        users.query(sql)
    assert sql not in users.statement_log
    assert user_rows(users) == USERS


def test_delete_with_parameters_is_refused(users: DuckDBEngine) -> None:
    with pytest.raises(DestructiveStatementError, match="DELETE from users"):
        users.execute("DELETE FROM users WHERE id = ?", (1,))
    assert user_rows(users) == USERS


def test_a_refusal_inside_a_transaction_rolls_back_the_whole_transaction(users: DuckDBEngine) -> None:
    def insert_then_drop() -> None:
        with users.transaction():
            users.execute("INSERT INTO users VALUES (4, 'dee', NULL)")
            users.execute("DROP TABLE users")

    with pytest.raises(DestructiveStatementError):
        insert_then_drop()
    assert user_rows(users) == USERS
    assert "DROP TABLE users" not in users.statement_log
    # the engine is usable again after the rollback
    users.execute("INSERT INTO users VALUES (4, 'dee', NULL)")
    assert len(user_rows(users)) == 4


def test_a_commented_keyword_does_not_hide_a_drop(users: DuckDBEngine) -> None:
    with pytest.raises(DestructiveStatementError):
        users.execute("DROP /* just a comment */ TABLE users")
    assert user_rows(users) == USERS


def test_temp_tables_may_be_dropped_but_a_name_alone_makes_nothing_scratch(users: DuckDBEngine) -> None:
    users.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
    users.execute("CREATE OR REPLACE TEMP TABLE _pipefix_stage AS SELECT 1 AS x")
    users.execute("DELETE FROM temp.scratch WHERE x = 1")
    users.execute("DROP TABLE temp.scratch")
    users.execute('DROP TABLE IF EXISTS temp."_pipefix_stage"')
    assert users.query("SELECT table_name FROM duckdb_tables() WHERE temporary") == []
    users.execute("CREATE TABLE _pipefix_tmp (x INTEGER)")
    users.execute("INSERT INTO _pipefix_tmp VALUES (1), (2)")
    for statement in ("DELETE FROM _pipefix_tmp WHERE x = 1", "DROP TABLE _pipefix_tmp"):
        with pytest.raises(DestructiveStatementError):
            users.execute(statement)
    assert users.query("SELECT x FROM _pipefix_tmp ORDER BY x") == [(1,), (2,)]
    assert user_rows(users) == USERS


def test_non_destructive_alter_is_allowed(users: DuckDBEngine) -> None:
    users.execute("ALTER TABLE users ADD COLUMN email VARCHAR")
    users.execute("ALTER TABLE users ALTER COLUMN id TYPE BIGINT")
    assert users.table_columns("users") == {
        "id": "BIGINT",
        "name": "VARCHAR",
        "note": "VARCHAR",
        "email": "VARCHAR",
    }
    assert len(user_rows(users)) == 3


def test_dropping_an_empty_column_is_allowed(users: DuckDBEngine) -> None:
    users.execute("ALTER TABLE users DROP COLUMN note")
    assert list(users.table_columns("users")) == ["id", "name"]
    assert users.query("SELECT id, name FROM users ORDER BY id") == [(1, "ada"), (2, "bob"), (3, "cy")]


def test_dropping_a_column_that_holds_values_is_refused_with_the_count(users: DuckDBEngine) -> None:
    logged = list(users.statement_log)
    with pytest.raises(DestructiveStatementError, match="would lose 3 values"):
        users.execute('ALTER TABLE users DROP COLUMN "name"')
    assert users.statement_log == logged
    assert user_rows(users) == USERS


def test_dropping_a_filled_column_without_the_column_keyword_is_refused(users: DuckDBEngine) -> None:
    with pytest.raises(DestructiveStatementError):
        users.execute("ALTER TABLE users DROP name")
    assert "name" in users.table_columns("users")


def test_create_or_replace_with_a_comment_inside_is_refused(users: DuckDBEngine) -> None:
    with pytest.raises(DestructiveStatementError):
        users.execute("CREATE OR /* x */ REPLACE TABLE users AS SELECT 1 AS id")
    assert user_rows(users) == USERS


def test_renaming_a_user_table_into_scratch_does_not_make_it_droppable(users: DuckDBEngine) -> None:
    with pytest.raises(DestructiveStatementError):
        users.execute("ALTER TABLE users RENAME TO _pipefix_users; DROP TABLE _pipefix_users")
    assert user_rows(users) == USERS


def test_update_with_parameters_is_refused(users: DuckDBEngine) -> None:
    with pytest.raises(DestructiveStatementError, match="UPDATE of users"):
        users.execute("UPDATE users SET note = ? WHERE id = ?", ("x", 2))
    assert user_rows(users) == USERS


def test_pipefix_state_and_temp_tables_take_updates_and_upserts(users: DuckDBEngine) -> None:
    users.execute("CREATE SCHEMA IF NOT EXISTS pipefix")
    users.execute("CREATE TABLE pipefix.marks (key VARCHAR PRIMARY KEY, value VARCHAR)")
    users.execute("INSERT INTO pipefix.marks VALUES ('a', '1'), ('b', '1')")
    users.execute("UPDATE pipefix.marks SET value = ? WHERE key = ?", ("2", "a"))
    users.execute("UPDATE \"pipefix\".\"marks\" AS m SET value = '3' WHERE m.key = 'b'")
    users.execute(
        "INSERT INTO pipefix.marks VALUES ('b', '4') ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    users.execute("INSERT OR REPLACE INTO pipefix.marks VALUES ('c', '5')")
    users.execute(
        "MERGE INTO pipefix.marks USING (SELECT 'c' AS key, '6' AS value) AS n ON marks.key = n.key "
        "WHEN MATCHED THEN UPDATE SET value = n.value"
    )
    assert users.query("SELECT key, value FROM pipefix.marks ORDER BY key") == [
        ("a", "2"),
        ("b", "4"),
        ("c", "6"),
    ]
    users.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
    users.execute("UPDATE temp.scratch SET x = 2")
    assert users.query("SELECT x FROM temp.scratch") == [(2,)]
    # rows of pipefix's own state are changed, never removed (the quarantine holds user rows)
    with pytest.raises(DestructiveStatementError, match=r"DELETE from pipefix\.marks"):
        users.execute("DELETE FROM pipefix.marks")
    # a name alone makes nothing scratch: unqualified, `scratch` might be a user table
    with pytest.raises(DestructiveStatementError, match="UPDATE of scratch"):
        users.execute("UPDATE scratch SET x = 3")
    assert user_rows(users) == USERS


def test_appending_is_allowed(users: DuckDBEngine) -> None:
    users.execute("INSERT INTO users VALUES (4, 'dee', NULL)")
    users.execute("INSERT INTO users SELECT 5, 'update -- merge', NULL")  # words in a literal
    users.execute("CREATE UNIQUE INDEX users_id ON users (id)")
    users.execute("INSERT INTO users VALUES (1, 'ada', 'x') ON CONFLICT DO NOTHING")
    users.execute("INSERT OR IGNORE INTO users VALUES (2, 'bob', 'x')")
    assert user_rows(users) == [*USERS, (4, "dee", None), (5, "update -- merge", None)]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO users VALUES (4, 'dee', NULL)",
        "SELECT id, updated_at, last_update_ts FROM users WHERE merged_by IS NULL",
        "INSERT INTO pipefix.batches SELECT * FROM read_json('x.jsonl')",
        "CREATE OR REPLACE TEMP TABLE _pipefix_stage AS SELECT replace(raw, 'a', 'b') AS raw FROM t",
    ],
)
def test_plain_inserts_and_selects_skip_the_parser(sql: str) -> None:
    """Parsing is kept rare: only a risky word (or a comment) sends a statement to sqlglot."""
    assert not safety._needs_parsing(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE OR REPLACE TEMP TABLE _pipefix_stage AS SELECT 1; UPDATE users SET note = 'x'",
        "CREATE OR REPLACE TEMP TABLE _pipefix_stage AS SELECT 1; INSERT OR REPLACE INTO users VALUES (1)",
        "CREATE OR REPLACE TEMP TABLE _pipefix_stage AS SELECT 1; MERGE INTO users USING t ON true",
        "INSERT INTO users VALUES (1) ON CONFLICT (id) DO UPDATE SET note = 'x'",
        "INSERT OVERWRITE users SELECT 1",
        "Upsert users",
    ],
)
def test_a_hidden_row_change_is_always_parsed(sql: str) -> None:
    assert safety._needs_parsing(sql)


def test_a_data_modifying_cte_is_refused_in_postgres_dialect() -> None:
    for sql, verb in (
        ("WITH d AS (UPDATE users SET note = 'x' RETURNING *) SELECT * FROM d", "UPDATE"),
        ("WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d", "DELETE"),
        ("INSERT INTO users VALUES (1) ON CONFLICT (id) DO UPDATE SET note = 'x'", "upsert"),
    ):
        with pytest.raises(DestructiveStatementError, match=f"^refused: {verb}"):
            safety.inspect(sql, "postgres")
    assert safety.inspect("UPDATE pg_temp.scratch SET x = 1", "postgres") == []
    assert safety.inspect("INSERT INTO users VALUES (1) ON CONFLICT DO NOTHING", "postgres") == []


def test_dropping_anything_but_a_column_is_refused_by_name(users: DuckDBEngine) -> None:
    with pytest.raises(DestructiveStatementError) as refused:
        safety.inspect("ALTER TABLE users DROP CONSTRAINT named_id", "postgres")
    assert str(refused.value) == "refused: dropping constraint named_id of table users"
    assert user_rows(users) == USERS


def test_replacing_a_user_table_is_refused_saying_its_rows_would_go(users: DuckDBEngine) -> None:
    with pytest.raises(DestructiveStatementError) as refused:
        users.execute("CREATE OR REPLACE TABLE main.users AS SELECT 1 AS id")
    why = "refused: CREATE OR REPLACE of table main.users, which would discard its rows"
    assert str(refused.value) == why
    assert user_rows(users) == USERS
