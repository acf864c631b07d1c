"""Spark SQL on a table's physical versions (engines/spark.py): an external Parquet table per
version, the catalog view readers use over the active one, the checks a swap or a restore makes.
Every name backquoted (dialects/spark.py), every path a Spark string literal."""

from __future__ import annotations

from collections.abc import Sequence

from pipefix.engines.sql.dialects import SPARK

_d = SPARK
Columns = Sequence[tuple[str, str]]  # (name, Spark type)


def create_database(name: str) -> str:
    return f"CREATE DATABASE IF NOT EXISTS {_d.ident(name)}"


def create_version(physical: str, columns: Columns, location: str, if_not_exists: bool = False) -> str:
    """An empty version (or, with `if_not_exists`, one registered again over its files)."""
    spec = ", ".join(f"{_d.ident(c)} {t}" for c, t in columns)
    exists = "IF NOT EXISTS " if if_not_exists else ""
    return f"CREATE TABLE {exists}{_d.ident(physical)} ({spec}) USING parquet LOCATION {_d.string(location)}"


def copy_version(physical: str, columns: Columns, have: Sequence[str], source: str, location: str) -> str:
    """A version holding every row of `source`, each column cast to its type (NULL where
    `source` lacks the column)."""

    def item(column: str, kind: str) -> str:
        value = _d.ident(column) if column in have else "NULL"
        return f"CAST({value} AS {kind}) AS {_d.ident(column)}"

    select = ", ".join(item(c, t) for c, t in columns)
    return (
        f"CREATE TABLE {_d.ident(physical)} USING parquet LOCATION {_d.string(location)} "
        f"AS SELECT {select} FROM {_d.ident(source)}"
    )


def row_count(physical: str) -> str:
    return f"SELECT count(*) FROM {_d.ident(physical)}"


def value_count(table: str, column: str) -> str:
    """The values a column holds (its non-NULLs): a column is dropped only at zero."""
    return f"SELECT count({_d.ident(column)}) FROM {_d.ident(table)}"


def rows_missing_from(current: str, earlier: str) -> str:
    """Rows of `current` (by lineage) that `earlier` lacks: a restore would hide them."""
    return (
        f"SELECT count(*) FROM {_d.ident(current)} AS n WHERE NOT EXISTS (SELECT 1 FROM "
        f"{_d.ident(earlier)} AS o WHERE o._pipefix_batch = n._pipefix_batch "
        "AND o._pipefix_line = n._pipefix_line)"
    )


def add_columns(physical: str, column: str, kind: str) -> str:
    return f"ALTER TABLE {_d.ident(physical)} ADD COLUMNS ({_d.ident(column)} {kind})"


def point_view(table: str, physical: str, columns: Sequence[str]) -> str:
    """The swap: the name readers use, re-pointed at a version in one catalog operation."""
    names = ", ".join(_d.ident(c) for c in columns)
    return f"CREATE OR REPLACE VIEW {_d.ident(table)} AS SELECT {names} FROM {_d.ident(physical)}"


def drop_view(table: str) -> str:
    """A name whose table a rolled-back transaction made (its version stays, unregistered)."""
    return f"DROP VIEW IF EXISTS {_d.ident(table)}"


def insert_log(physical: str, columns: Sequence[str], what: str) -> str:
    """How a bulk append shows in the statement log (it runs as a DataFrame write, not SQL)."""
    return f"INSERT INTO {_d.ident(physical)} ({', '.join(_d.ident(c) for c in columns)}) -- {what}"


def key_probe_log(table: str, keys: int, batches: int) -> str:
    """How the key probe shows in the statement log (a DataFrame join, not SQL)."""
    return (
        f"SELECT key, _pipefix_batch, _pipefix_line FROM {_d.ident(table)} -- {keys} keys, {batches} batches"
    )
