"""Spark session start-up: an in-process local session (`spark://local[N]`, a JVM started with
pipefix's settings) or a Spark Connect session (`sc://host:port`), and what differs between the two
(Connect has no sparkContext and its own column functions).

pyspark is imported only when a session opens, so a DuckDB or PostgreSQL warehouse never pays for it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from pipefix.engines.base import EngineError

INSTALL_HINT = "pip install 'pipefix[spark]' (pyspark with pyarrow; a local session also needs Java 17+)"


def open_session(url: str, warehouse_dir: str) -> Any:
    """`spark://local[N]`: an in-process local session; `sc://host:port`: Spark Connect."""
    try:
        import pyarrow  # noqa: F401  (batches travel to Spark as Arrow)
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise EngineError(f"a Spark warehouse needs {error.name}: {INSTALL_HINT}") from None
    try:
        return _start_session(SparkSession.builder, url, warehouse_dir)
    except Exception as error:  # pyspark and py4j raise their own exception trees
        raise EngineError(f"cannot start Spark for {url}: {_first_line(error)}\n  {INSTALL_HINT}") from error


def _start_session(builder: Any, url: str, warehouse_dir: str) -> Any:
    if url.startswith("sc://"):
        builder = connect_builder(url)
    else:
        master = url.removeprefix("spark://") or "local[2]"
        cores = re.fullmatch(r"local\[(\d+)\]", master)
        # as many partitions as cores: Spark's default of 200 makes 200 tasks of a small table
        partitions = cores.group(1) if cores else str(os.cpu_count() or 2)
        builder = (
            builder.master(master)
            .appName("pipefix")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", partitions)
            .config("spark.default.parallelism", partitions)
            .config("spark.sql.warehouse.dir", warehouse_dir)
            .config("spark.driver.extraJavaOptions", "-Dderby.system.home=" + warehouse_dir)
        )
    session = builder.getOrCreate()
    # Naive timestamps mean UTC, as on the other engines.
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.timestampType", "TIMESTAMP_NTZ")
    if not url.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    return session


def connect_builder(url: str) -> Any:
    """The builder of a Spark Connect session, from Connect's own session class: pyspark's
    generic builder flips the whole process to Connect (an environment switch) and refuses
    while a local session exists, so one process could not hold both (the tests do)."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    return ConnectSession.builder.remote(url)


def is_connect(session: Any) -> bool:
    """A Spark Connect session (no JVM here: no sparkContext, Connect's own column functions)."""
    return type(session).__module__.startswith("pyspark.sql.connect.")


def column_functions(session: Any) -> Any:
    """pyspark's column functions for `session`. `pyspark.sql.functions` picks local or Connect
    columns by a process-wide switch that `connect_builder` leaves alone, so code building
    columns for a session asks here."""
    if is_connect(session):
        from pyspark.sql.connect import functions as connect_functions

        return connect_functions
    from pyspark.sql import functions as local_functions

    return local_functions


def parse_url(url: str) -> str:
    """Validate a Spark warehouse URL; returns it. `spark://local`, `spark://local[N]`,
    `spark://local[*]` or `sc://host:port`."""
    if re.fullmatch(r"spark://local(\[(\d+|\*)\])?", url) or re.fullmatch(r"sc://[\w.\-]+(:\d+)?(/.*)?", url):
        return url
    raise ValueError(f"unsupported Spark URL {url!r}: use spark://local[N] or sc://host:port")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
