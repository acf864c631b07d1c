"""Open the warehouse a config names. Opened to write, it holds the pipeline's run lock until it
is closed (engines/run_lock.py): one run at a time, another waiting up to `wait` seconds."""

from __future__ import annotations

from pathlib import Path

from pipefix.engines import run_lock
from pipefix.engines.base import Engine, EngineError
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.store import SCHEMA


def open_warehouse(
    kind: str, url: str, path: Path | None, *, read_only: bool = False, wait: float = 0.0
) -> Engine:
    if kind == "duckdb":
        assert path is not None
        if read_only and not path.exists():
            raise EngineError(f"warehouse {path} does not exist yet: `pipefix run` creates it")
        if not read_only and not path.parent.is_dir():
            raise EngineError(f"folder {path.parent} of the warehouse does not exist")
        return run_lock.waiting(lambda: DuckDBEngine(path, read_only=read_only), wait)
    if kind == "spark":
        return open_spark(url, path, read_only=read_only, wait=wait)
    # psycopg is imported only for PostgreSQL warehouses.
    from pipefix.engines.postgres import PostgresEngine

    engine = PostgresEngine(url, read_only=read_only)
    if not read_only:
        try:
            run_lock.hold_postgres(engine, SCHEMA, wait)
        except BaseException:
            engine.close()
            raise
    return engine


def open_spark(url: str, warehouse_dir: Path | None, *, read_only: bool = False, wait: float = 0.0) -> Engine:
    """`spark://local[N]` keeps its Parquet tables in `warehouse_dir` (created when missing) and
    pipefix's state in `pipefix-state.duckdb` inside it; `sc://host:port` keeps the tables where
    the cluster's `spark.sql.warehouse.dir` says, and the state in `warehouse_dir` on this machine."""
    # pyspark is imported only for Spark warehouses.
    from pipefix.engines.spark import STATE_FILE, SparkEngine

    folder = (warehouse_dir or Path("spark-warehouse")).resolve()
    state = folder / STATE_FILE
    if read_only and not state.exists():
        raise EngineError(f"warehouse {folder} does not exist yet: `pipefix run` creates it")
    if not read_only:
        if not folder.parent.is_dir():
            raise EngineError(f"folder {folder.parent} of the warehouse does not exist")
        folder.mkdir(exist_ok=True)
    if url.startswith("sc://"):
        from pipefix.engines.spark import open_session

        session = open_session(url, str(folder))
        remote_dir = str(session.conf.get("spark.sql.warehouse.dir"))
        return run_lock.waiting(
            lambda: SparkEngine(
                url, f"{remote_dir.rstrip('/')}/pipefix", state, read_only=read_only, session=session
            ),
            wait,
        )
    return run_lock.waiting(lambda: SparkEngine(url, folder, state, read_only=read_only), wait)


def open_demo_warehouse(url: str | None, db_path: Path, *, read_only: bool = False) -> Engine:
    """The demo's warehouse: DuckDB in `db_path`, or Spark (`url`) with its tables and state in
    `<db_path stem>-spark/` beside it."""
    if url is None or url.startswith("duckdb"):
        return open_warehouse("duckdb", "", db_path, read_only=read_only)
    if not url.startswith(("spark://", "sc://")):
        raise EngineError(f"unsupported demo warehouse {url!r}: use spark://local[N] or sc://host:port")
    return open_spark(url, db_path.parent / f"{db_path.stem}-spark", read_only=read_only)
