"""A user table as pipefix creates it: the contract's columns, then the lineage of each row."""

from __future__ import annotations

from pipefix.engines.base import quote
from pipefix.engines.types import physical_type
from pipefix.pipeline.contracts import Contract

LINEAGE_COLUMNS = ("_pipefix_batch", "_pipefix_line", "_pipefix_loaded_step")


def create_table_sql(contract: Contract, dialect: str = "duckdb") -> str:
    columns = [f"{quote(c.name)} {physical_type(c.type, dialect)}" for c in contract.columns] + [
        "_pipefix_batch VARCHAR",
        "_pipefix_line BIGINT",
        "_pipefix_loaded_step BIGINT",
    ]
    return f"CREATE TABLE IF NOT EXISTS {quote(contract.table)} ({', '.join(columns)})"
