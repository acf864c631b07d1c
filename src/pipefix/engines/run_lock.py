"""One run per pipeline at a time, enforced by the warehouse itself.

- **DuckDB**: the file lock DuckDB takes when a process opens the file for writing; no other
  process may open it, not even read-only, until that one closes it or dies.
- **Spark**: the same lock on the state file (`pipefix-state.duckdb`), which the engine keeps
  open for its whole life.
- **PostgreSQL**: a session-level advisory lock keyed on the pipeline (its `pipefix` schema in
  this database), held by the engine's connection: released when the connection ends, a killed
  process included. The holder names itself in `application_name`, so a second run can say who
  holds it without writing anything.

A writer that finds the lock held waits up to `wait` seconds, then raises PipelineBusy naming the
holder (process, host, since). Read-only openings take no lock; on DuckDB they still cannot open
a file another process writes (the operating system's lock), and are told so.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pipefix.engines.sql import run_lock as sql
from pipefix.errors import PipelineBusy

if TYPE_CHECKING:
    from pipefix.engines.postgres import PostgresEngine

T = TypeVar("T")
POLL_SECONDS = 0.25
HOLDER_PREFIX = "pipefix pid "  # application_name of the PostgreSQL session holding the lock
_DUCKDB_LOCK = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)": '
    r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)"
)


def lock_key(schema: str) -> int:
    """The advisory lock's key: the pipeline is its state schema in this database (advisory locks
    are per database). A positive bigint, so pg_locks' (classid, objid) give it back."""
    digest = hashlib.sha256(f"pipefix run lock:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as far as it can be told."""

    pid: int | None
    host: str | None
    since: datetime | None
    command: str = ""

    def describe(self) -> str:
        who = f"process {self.pid}" if self.pid else "a process"
        where = f" on {self.host}" if self.host else ""
        details = [self.command] if self.command else []
        if self.since is not None:
            details.append(f"since {self.since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
        return f"{who}{where}" + (f" ({', '.join(details)})" if details else "")


def waiting(acquire: Callable[[], T], wait: float) -> T:
    """`acquire()`, tried again every POLL_SECONDS while it raises PipelineBusy, for up to `wait`
    seconds; then the last PipelineBusy goes up."""
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            return acquire()
        except PipelineBusy:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            time.sleep(min(POLL_SECONDS, left))


# --- DuckDB (and Spark's state file) ---------------------------------------------------------


def duckdb_busy(error: Exception, path: str, *, read_only: bool) -> PipelineBusy | None:
    """The clear error for DuckDB's "Could not set lock on file", or None for any other error."""
    found = _DUCKDB_LOCK.search(str(error))
    if found is None:
        return None
    pid = int(found["pid"])
    since, command = _local_process(pid)
    holder = Holder(pid, "this machine", since, command)
    what = "the Spark warehouse's state file" if Path(path).name == "pipefix-state.duckdb" else "warehouse"
    if read_only:
        advice = (
            "DuckDB lets no other process read a file while one has it open for writing: "
            "try again when that run ends"
        )
    else:
        advice = (
            "one run at a time: wait for it to end, or let this one wait for it with --wait SECONDS "
            "(Pipeline.open(..., wait=SECONDS))"
        )
    return PipelineBusy(
        f"{what} {path} is in use by {holder.describe()}: another pipefix run, or another program "
        f"with the file open. {advice}"
    )


def _local_process(pid: int) -> tuple[datetime | None, str]:
    """When a process of this machine started and its command line, where /proc tells."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        args = [a.decode(errors="replace") for a in raw if a]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        stat = Path("/proc/stat").read_text().splitlines()
        boot = next(int(line.split()[1]) for line in stat if line.startswith("btime"))
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None, ""
    shown = [Path(a).name if i < 2 and a.startswith("/") else a for i, a in enumerate(args)]
    command = " ".join(shown)
    return datetime.fromtimestamp(started, UTC), command if len(command) <= 100 else command[:97] + "..."


# --- PostgreSQL --------------------------------------------------------------------------------


def hold_postgres(engine: PostgresEngine, schema: str, wait: float) -> None:
    """Take the pipeline's advisory lock on the engine's own connection (kept until it closes),
    waiting up to `wait` seconds; PipelineBusy names the session that holds it."""
    key = lock_key(schema)

    def acquire() -> None:
        if not engine.query(sql.try_lock_sql(), (key,))[0][0]:
            raise PipelineBusy(
                f"pipeline {engine.url} is in use: {postgres_holder(engine, key).describe()} holds its "
                "run lock (another pipefix run). One run at a time: wait for it to end, or let this "
                "one wait for it with --wait SECONDS (Pipeline.open(..., wait=SECONDS))"
            )

    waiting(acquire, wait)
    name = f"{HOLDER_PREFIX}{os.getpid()} on {socket.gethostname()}"
    engine.query(sql.name_session_sql(), (name[:63],))


def postgres_holder(engine: PostgresEngine, key: int) -> Holder:
    """The session holding the advisory lock `key`: the pid and host it named itself with, and
    when it connected."""
    rows = engine.query(sql.holder_sql(), (key,))
    if not rows:
        return Holder(None, None, None, "a session that has just ended")
    name, since, backend = rows[0]
    named = re.fullmatch(rf"{re.escape(HOLDER_PREFIX)}(\d+) on (.+)", str(name or ""))
    if named is None:
        return Holder(None, None, since, f"PostgreSQL session {backend}")
    return Holder(int(named[1]), named[2], since)
