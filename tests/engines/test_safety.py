"""The engine refuses destructive SQL whoever sends it, before it reaches DuckDB or the log."""

from __future__ import annotations

from typing import Any

import pytest

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
