"""Open the warehouse a config names."""

from __future__ import annotations

from pathlib import Path

from pipefix.engines.base import Engine, EngineError
from pipefix.engines.duckdb import DuckDBEngine


def open_warehouse(kind: str, url: str, path: Path | None, *, read_only: bool = False) -> Engine:
    if kind == "duckdb":
        assert path is not None
        if read_only and not path.exists():
            raise EngineError(f"warehouse {path} does not exist yet: `pipefix run` creates it")
        if not read_only and not path.parent.is_dir():
            raise EngineError(f"folder {path.parent} of the warehouse does not exist")
        return DuckDBEngine(path, read_only=read_only)
    # psycopg is imported only for PostgreSQL warehouses.
    from pipefix.engines.postgres import PostgresEngine

    return PostgresEngine(url, read_only=read_only)
