"""A user table as pipefix creates it: the contract's columns, then the lineage of each row
(the operation itself: migration.CreateTable)."""

from __future__ import annotations

from pipefix.engines.sql.dialects import dialect_named
from pipefix.engines.sql.migration import LINEAGE_COLUMNS, CreateTable
from pipefix.pipeline.contracts import Contract

__all__ = ["LINEAGE_COLUMNS", "create_table_sql"]


def create_table_sql(contract: Contract, dialect: str = "duckdb") -> str:
    """The CREATE TABLE a SQL engine runs for `contract` (Spark takes the operation instead)."""
    return CreateTable.of(contract).sql(dialect_named(dialect))
