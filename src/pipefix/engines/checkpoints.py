"""Where the agent loop's LangGraph checkpoints live: a SQLite file beside a DuckDB warehouse,
the warehouse's own `pipefix` schema on PostgreSQL (LangGraph's Postgres saver), memory for an
in-memory warehouse. The savers run their own SQL on their own tables, never on user data."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from pipefix.engines.base import Engine, EngineError
from pipefix.engines.postgres import PostgresEngine


def checkpoint_file(warehouse: Path) -> Path:
    """`pipeline.duckdb` keeps its checkpoints in `pipeline.checkpoints.sqlite`."""
    return warehouse.with_name(f"{warehouse.stem}.checkpoints.sqlite")


@contextmanager
def open_saver(engine: Engine, serde: Any, schema: str = "pipefix") -> Iterator[Any]:
    """A LangGraph checkpoint saver for `engine`, closed on exit."""
    if isinstance(engine, PostgresEngine):
        from langgraph.checkpoint.postgres import PostgresSaver

        with engine.side_connection(schema) as postgres:
            postgres_saver = PostgresSaver(postgres, serde=serde)
            postgres_saver.setup()
            yield postgres_saver
        return
    local_file = _local_file(engine)
    if local_file is not None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = checkpoint_file(local_file)
        try:
            connection = sqlite3.connect(path, check_same_thread=False)
        except sqlite3.Error as error:
            raise EngineError(f"cannot open checkpoint file {path}: {error}") from error
        with closing(connection):
            yield SqliteSaver(connection, serde=serde)
        return
    from langgraph.checkpoint.memory import InMemorySaver

    yield InMemorySaver(serde=serde)


def _local_file(engine: Engine) -> Path | None:
    """The DuckDB file checkpoints sit beside: the file an engine keeps pipefix's state in (its
    `path`: a DuckDB warehouse, or a Spark warehouse's state file); None in memory or where
    there is none."""
    path = getattr(engine, "path", None)
    return None if path is None or str(path) == ":memory:" else Path(str(path))
