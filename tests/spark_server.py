"""A real Spark Connect server for the tests, started once per session from the pyspark package.

The pip package ships the server (`jars/spark-connect_*.jar`) and `bin/spark-submit`; Java runs
it. It listens on 127.0.0.1 only, on a free port, with its warehouse in a temp folder, and is
stopped when the session ends. Nothing is downloaded: no `--packages`, no Ivy. Under pytest-xdist
the files that use Spark share one worker (tests/parallel.py), so one server starts per run.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines.spark import STATE_FILE, SparkEngine, open_session
from tests.pg_server import free_port

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
PYSPARK_HINT = "install it with `.venv/bin/pip install 'pyspark[connect]>=4.0'` (or `make install`)"
JAVA_HINT = "install Java 17 with `apt-get update && apt-get install -y openjdk-17-jre-headless`"
START_TIMEOUT = 240.0  # seconds: a JVM on 2 busy cores takes 30-60 s to start the server
STOP_TIMEOUT = 30.0
_databases = count(1)
# A throwaway server: small, quiet, local.
_SERVER_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.connect.grpc.binding.address": "127.0.0.1",
}


@dataclass(frozen=True)
class SparkConnectServer:
    url: str  # sc://127.0.0.1:PORT
    warehouse: Path  # the server's spark.sql.warehouse.dir
    log: Path


def spark_home() -> Path:
    """The pyspark package folder: it holds bin/spark-submit and the jars, Connect's included."""
    try:
        import pyspark
    except ImportError:
        pytest.fail(f"pyspark is not installed: {PYSPARK_HINT}", pytrace=False)
    home = Path(pyspark.__file__).parent
    if not glob.glob(str(home / "jars" / "spark-connect_*.jar")):
        missing = f"the Spark Connect server jar is missing from {home / 'jars'}"
        pytest.fail(f"{missing}: {PYSPARK_HINT}", pytrace=False)
    return home


def require_connect_client() -> None:
    """The client side (grpcio, pyarrow, pandas, ...), the `connect` extra of pyspark."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandas >= 3: a notice, not an error
            import pyspark.sql.connect.session  # noqa: F401
    except ImportError as error:
        pytest.fail(f"the Spark Connect client cannot load ({error}): {PYSPARK_HINT}", pytrace=False)


def java_home() -> str:
    """JAVA_HOME, else the folder above the `java` on PATH (spark-submit needs one of them)."""
    if os.environ.get("JAVA_HOME") and os.access(Path(os.environ["JAVA_HOME"], "bin", "java"), os.X_OK):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        pytest.fail(f"Java is not installed (Spark needs it): {JAVA_HINT}", pytrace=False)
    return str(Path(java).resolve().parent.parent)


def server_command(home: Path, port: int, warehouse: Path) -> list[str]:
    conf = {
        **_SERVER_CONF,
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.warehouse.dir": str(warehouse),
    }
    return [
        str(home / "bin" / "spark-submit"),
        "--class",
        SERVER_CLASS,
        "--name",
        "pipefix-tests",
        "--master",
        "local[2]",
        "--driver-memory",
        "1g",
        *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
    ]


def log_tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


def accepts_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until_up(server: subprocess.Popen[bytes], port: int, log: Path, timeout: float) -> str:
    """'' once the port accepts connections; else why not (the process ended, or the time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return f"the server exited with code {server.returncode}"
        if accepts_connections(port):
            return ""
        time.sleep(0.5)
    return f"the server did not accept connections on 127.0.0.1:{port} within {timeout:.0f} s"


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (spark-submit and its JVM), then SIGKILL."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=STOP_TIMEOUT)


def stop_client_sessions() -> None:
    """Close this process's Connect sessions before their server goes: a session left open
    closes its channel at interpreter exit, and that can wait on a server that is gone."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    session: Any = ConnectSession.getActiveSession() or ConnectSession._get_default_session()
    while session is not None:
        session.stop()
        session = ConnectSession.getActiveSession() or ConnectSession._get_default_session()


@pytest.fixture(scope="session")
def spark_connect_server() -> Iterator[SparkConnectServer]:
    """Start a Spark Connect server (local[2], in-memory catalog); yield its URL and folders."""
    home = spark_home()
    require_connect_client()
    env = {**os.environ, "SPARK_HOME": str(home), "JAVA_HOME": java_home()}
    env.pop("SPARK_REMOTE", None)
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    base = Path(tempfile.mkdtemp(prefix="pipefix-spark-connect-"))
    warehouse, log = base / "warehouse", base / "server.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        failure = ""
        for _attempt in range(3):  # a free port can be taken between probing and binding
            port = free_port()
            with log.open("wb") as sink:
                server = subprocess.Popen(
                    server_command(home, port, warehouse),
                    cwd=base,  # derby.log, metastore_db and the like stay in the temp folder
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            failure = wait_until_up(server, port, log, START_TIMEOUT)
            if not failure:
                break
            exited = server.poll() is not None  # a port taken meanwhile: the server exits at once
            stop(server)
            server = None
            if not exited:  # it hung: another try would hang as long
                break
        if server is None:
            tail = f"--- {log} (last lines):\n{log_tail(log)}"
            pytest.fail(f"the Spark Connect server did not start: {failure}\n{tail}", pytrace=False)
        yield SparkConnectServer(f"sc://127.0.0.1:{port}", warehouse, log)
    finally:
        if server is not None:
            try:
                stop_client_sessions()
            finally:
                stop(server)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_connect_session(spark_connect_server: SparkConnectServer) -> Any:
    """This process's Spark Connect session, as pipefix opens it (shared, like the local one)."""
    return open_session(spark_connect_server.url, str(spark_connect_server.warehouse))


@pytest.fixture
def spark_connect_url(spark_connect_server: SparkConnectServer, spark_connect_session: Any) -> Iterator[str]:
    """`sc://127.0.0.1:PORT` for a test that opens its warehouse from the URL (config, CLI):
    such a warehouse uses the server's `default` database, emptied of tables and views afterwards
    (the Parquet files stay, in the session's temp folder)."""
    yield spark_connect_server.url
    session = spark_connect_session
    session.catalog.setCurrentDatabase("default")
    tables = [t for t in session.catalog.listTables("default") if not t.isTemporary]
    for table in sorted(tables, key=lambda t: t.tableType != "VIEW"):  # views first
        kind = "VIEW" if table.tableType == "VIEW" else "TABLE"
        session.sql(f"DROP {kind} IF EXISTS `default`.`{table.name}`")


@pytest.fixture
def spark_connect(
    spark_connect_server: SparkConnectServer, spark_connect_session: Any, tmp_path: Path
) -> Iterator[SparkEngine]:
    """A SparkEngine on the Connect server, with a catalog database and a folder of its own in
    the server's warehouse; pipefix's state in this test's tmp_path."""
    database = f"pipefix_connect_{next(_databases)}"
    engine = SparkEngine(
        spark_connect_server.url,
        spark_connect_server.warehouse / database,
        tmp_path / STATE_FILE,
        session=spark_connect_session,
        database=database,
    )
    yield engine
    engine.close()
