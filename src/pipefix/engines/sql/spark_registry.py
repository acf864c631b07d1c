"""The Spark engine's registry of its tables' physical versions, kept in the state DuckDB beside
the warehouse (engines/spark.py): every version, the active one with its columns, and the
compatibility views to re-create when a session opens. DuckDB's dialect, parameters for values."""

from __future__ import annotations

from collections.abc import Sequence

from pipefix.engines.sql.dialects import DUCKDB

_d = DUCKDB
VERSIONS = _d.table("pipefix", "spark_tables")
ACTIVE = _d.table("pipefix", "spark_active")
VIEWS = _d.table("pipefix", "spark_views")

DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {_d.ident('pipefix')}",
    f"CREATE TABLE IF NOT EXISTS {VERSIONS} (table_name VARCHAR, physical VARCHAR, "
    "location VARCHAR, columns VARCHAR, cause VARCHAR, created_at TIMESTAMP)",
    f"CREATE TABLE IF NOT EXISTS {ACTIVE} (table_name VARCHAR, physical VARCHAR, columns VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {VIEWS} (view_name VARCHAR, body VARCHAR)",
)


def versions_of() -> str:
    """The physical versions of a table (a parameter), oldest first."""
    return f"SELECT physical FROM {VERSIONS} WHERE table_name = ? ORDER BY created_at, physical"


def version_columns() -> str:
    """The columns of one version (parameters: table, physical)."""
    return f"SELECT columns FROM {VERSIONS} WHERE table_name = ? AND physical = ?"


def add_version() -> str:
    """Parameters: table, physical, location, columns (JSON), cause, created at."""
    return f"INSERT INTO {VERSIONS} VALUES (?, ?, ?, ?, ?, ?)"


def every_version() -> str:
    return f"SELECT physical, location, columns FROM {VERSIONS} ORDER BY created_at"


def active_of() -> str:
    """The active version of a table (a parameter) and its columns (JSON)."""
    return f"SELECT physical, columns FROM {ACTIVE} WHERE table_name = ?"


def every_active() -> str:
    return f"SELECT table_name, physical, columns FROM {ACTIVE}"


def has_active() -> str:
    return f"SELECT count(*) FROM {ACTIVE} WHERE table_name = ?"


def update_active() -> str:
    """Parameters: physical, columns (JSON), table."""
    return f"UPDATE {ACTIVE} SET physical = ?, columns = ? WHERE table_name = ?"


def insert_active() -> str:
    """Parameters: table, physical, columns (JSON)."""
    return f"INSERT INTO {ACTIVE} VALUES (?, ?, ?)"


def has_view() -> str:
    return f"SELECT count(*) FROM {VIEWS} WHERE view_name = ?"


def update_view() -> str:
    """Parameters: body, view."""
    return f"UPDATE {VIEWS} SET body = ? WHERE view_name = ?"


def insert_view() -> str:
    """Parameters: view, body."""
    return f"INSERT INTO {VIEWS} VALUES (?, ?)"


def every_view() -> str:
    return f"SELECT body FROM {VIEWS}"


# Spark's type names are DuckDB's too, but for its instant type.
_DUCKDB_NAMES = {"TIMESTAMP_LTZ": "TIMESTAMPTZ"}


def shadow_table(name: str, columns: Sequence[tuple[str, str]]) -> str:
    """A temp table of these columns (Spark types, as the registry keeps them): a user table's
    empty copy, or its rows copied (a shadow trial)."""
    spec = ", ".join(f"{_d.ident(c)} {_DUCKDB_NAMES.get(t, t)}" for c, t in columns)
    return f"CREATE TEMP TABLE {_d.ident(name)} ({spec})"
