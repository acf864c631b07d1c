"""A real PostgreSQL server for the tests, started once per session from the machine's binaries.

The server binaries refuse to run as root, and sessions and CI run as root: there every server
command runs as the `postgres` system user (`runuser -u postgres --`) on a folder it owns.
Only 127.0.0.1 and a Unix socket in the data folder are listened on, on a free port. Under
pytest-xdist each worker is a session of its own and starts its own server (its own folder and
port), stopped when that worker's session ends: workers share no database.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

INSTALL_HINT = "install them with `apt-get update && apt-get install -y postgresql`"
# A throwaway server: durability is not worth the wait.
_INITDB_FAST = ("-E", "UTF8", "--locale=C", "--no-sync")
_SERVER_FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; never a fixed one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_bindir() -> Path:
    """The folder holding initdb and pg_ctl: `pg_config --bindir`, else Debian's versioned folders
    (libpq-dev's own pg_config names /usr/bin, where the server binaries are not)."""
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(done.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    for folder in candidates:
        if folder and all(os.access(Path(folder, name), os.X_OK) for name in ("initdb", "pg_ctl")):
            return Path(folder)
    pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {INSTALL_HINT}", pytrace=False)


def _version(folder: str) -> float:
    try:
        return float(Path(folder).parent.name)
    except ValueError:
        return 0.0


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_server_user(command),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Start PostgreSQL (initdb once per session); yield `postgresql://postgres@127.0.0.1:PORT`."""
    bindir = server_bindir()
    base = Path(tempfile.mkdtemp(prefix="pipefix-pg-"))
    data, log = base / "data", base / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        initdb = _run(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", *_INITDB_FAST],
            cwd=base,
        )
        if initdb.returncode != 0:
            pytest.fail(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}", pytrace=False)
        failure = ""
        for _attempt in range(3):  # a free port can be taken between probing and binding
            port = free_port()
            options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 {_SERVER_FAST}"
            start = _run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
                cwd=base,
            )
            if start.returncode == 0:
                started = True
                break
            failure = f"{start.stdout}\n{start.stderr}\n{log.read_text() if log.exists() else ''}"
        if not started:
            pytest.fail(f"PostgreSQL did not start:\n{failure}", pytrace=False)
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        if started:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], cwd=base)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[Callable[[], str]]:
    """Makes fresh, empty databases for one test (as many as it asks for); dropped afterwards."""
    names: list[str] = []

    def create() -> str:
        names.append(f"test_{uuid.uuid4().hex}")
        with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{names[-1]}"')
        return f"{pg_server}/{names[-1]}"

    yield create
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_database: Callable[[], str]) -> str:
    """A fresh, empty database for one test; dropped afterwards."""
    return pg_database()
