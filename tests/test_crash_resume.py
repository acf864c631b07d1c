"""Kill the demo with SIGKILL anywhere — mid-load, mid-migration, mid-replay — resume it, and
the warehouse ends exactly as an uninterrupted run's: same rows, same contracts, no fix twice.

The kill comes from tests/crash_harness.py, which wraps the engine's statement methods. The
everyday tier kills at a few statements chosen by what they are (one of each kind of write);
the slow tier at 30+ points spread over the whole run plus every migration, replay and ledger
or journal write."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipefix.engines.duckdb import DuckDBEngine
from pipefix.scenario.demo import DemoOptions, run_demo
from pipefix.scenario.tables import SOURCE_TABLES
from tests.crash_harness import CrashPoint, armed

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--steps", "5", "--drift-step", "3", "--json"]
# One kill inside each kind of write, as (statements matching, which one). The pattern fixes the
# kind of write even when code changes move statement numbers; a point no longer reached fails.
KINDS_OF_WRITE = {
    "load": (r'^INSERT INTO "pipefix"\."batches"', 10),  # rows and quarantine in, batch row not yet
    "migration": (r'^ALTER TABLE "orders"', 2),  # between the two columns of the v2 migration
    "replay": (r'^UPDATE "pipefix"\."quarantine"', 2),  # rows replayed, quarantine half marked
    "ledger": (r'^INSERT INTO "pipefix"\."ledger"', 6),  # the replay's ledger row, with its action
}


def pipefix(db: Path, *extra: str, crash: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """`pipefix demo` on db; with crash arguments, under the crash harness."""
    command = ["-m", "tests.crash_harness", *crash, "--"] if crash else ["-m", "pipefix"]
    return subprocess.run(
        [sys.executable, *command, "demo", "--db", str(db), *ARGS, *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@dataclass(frozen=True)
class Reference:
    """An uninterrupted run: its warehouse and its JSON summary."""

    snapshot: dict[str, Any]
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    db = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    done = pipefix(db)
    assert done.returncode == 0, done.stderr
    return Reference(snapshot(db), json.loads(done.stdout))


def snapshot(db: Path) -> dict[str, Any]:
    """Everything that must match: every table's rows, the quarantine, contracts, fixes applied."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        state: dict[str, Any] = {}
        for table in (*SOURCE_TABLES, "analytics"):
            state[table] = con.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall()
        state["quarantine"] = con.execute(
            "SELECT table_name, batch_id, line_no, kind, reason, replayed_step "
            "FROM pipefix.quarantine ORDER BY ALL"
        ).fetchall()
        state["contracts"] = con.execute("SELECT * FROM pipefix.active_contracts ORDER BY ALL").fetchall()
        state["fixes"] = con.execute(
            "SELECT step, kind, payload FROM pipefix.audit WHERE kind IN ('fix', 'rollback') ORDER BY ALL"
        ).fetchall()
        state["goals"] = con.execute(
            "SELECT version, step, description FROM pipefix.goals ORDER BY ALL"
        ).fetchall()
        state["steps"] = con.execute("SELECT step FROM pipefix.steps ORDER BY step").fetchall()
        return state
    finally:
        con.close()


def thread(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT value FROM pipefix.settings WHERE key = 'agent.thread'").fetchone()
        return str(row[0]) if row else ""
    finally:
        con.close()


def checkpoints(db: Path, thread_id: str) -> int:
    path = db.with_name(f"{db.stem}.checkpoints.sqlite")
    if not thread_id or not path.exists():
        return 0
    with closing(sqlite3.connect(path)) as con:
        row = con.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchone()
        return int(row[0])


def kill_and_resume(db: Path, crash: Sequence[str], reference: Reference) -> str:
    """Kill a fresh run where crash says, resume it, and compare with the reference."""
    killed = pipefix(db, crash=crash)
    assert killed.returncode == -9, f"{crash} was not reached: {killed.stderr[-300:]}"
    cut_short = thread(db)
    # Past the first node the killed run has checkpoints, and `--resume` goes on with its thread.
    must_continue = checkpoints(db, cut_short) > 2
    resumed = pipefix(db, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout)
    same = snapshot(db) == reference.snapshot and all(
        summary[k] == reference.summary[k]
        for k in ("rows", "fixes", "revisions", "drift_step", "recovered_step")
    )
    if must_continue and thread(db) != cut_short:
        return "restarted instead of resuming from its checkpoint"
    return "ok" if same else "DIFFERENT"


def in_pairs(check: Callable[[str], str], names: Sequence[str]) -> dict[str, str]:
    """Run the checks two at a time (each is two processes in turn); the ones not ok."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = dict(zip(names, pool.map(check, names), strict=True))
    return {name: outcome for name, outcome in outcomes.items() if outcome != "ok"}


def assert_reference_sound(reference: Reference) -> None:
    assert reference.summary["rows"]["lost"] == 0
    assert len(reference.snapshot["fixes"]) == len(reference.summary["fixes"]) == 5  # each fix once


def test_the_harness_counts_each_statement_once_and_disarms_after(tmp_path: Path) -> None:
    unarmed = {name: vars(DuckDBEngine)[name] for name in ("execute", "query")}
    engine = DuckDBEngine(tmp_path / "counted.duckdb")
    try:
        with armed(CrashPoint(pattern=re.compile("^(SELECT|INSERT)")), [DuckDBEngine]) as counter:
            engine.execute("CREATE TABLE t (x INTEGER)")
            engine.query_many(["SELECT 1", " SELECT 2"])  # through query: once each
            engine.copy_rows("t", ["x"], [[1], [2]])  # not counted, as before the harness
            engine.execute("INSERT INTO t VALUES (?)", (3,))
        engine.query("SELECT 4")
    finally:
        engine.close()
    assert counter.seen == ["SELECT 1", " SELECT 2", "INSERT INTO t VALUES (?)"]
    assert all(vars(DuckDBEngine)[name] is method for name, method in unarmed.items())


def test_a_run_killed_inside_each_kind_of_write_resumes_to_the_same_warehouse(
    tmp_path: Path, reference: Reference
) -> None:
    def check(kind: str) -> str:
        pattern, nth = KINDS_OF_WRITE[kind]
        crash = ["--crash-at", str(nth), "--matching", pattern]
        return kill_and_resume(tmp_path / f"killed-{kind}.duckdb", crash, reference)

    assert in_pairs(check, list(KINDS_OF_WRITE)) == {}
    assert_reference_sound(reference)


def kill_points(tmp: Path) -> list[int]:
    """Statement numbers to die at: spread over the run, plus every migration, replay and ledger write.
    Counted by the harness itself, so a number names the statement the harness will die before."""
    with armed(CrashPoint(), [DuckDBEngine]) as counter:
        run_demo(DemoOptions(db=tmp / "count.duckdb", steps=5, drift_step=3))
    log = counter.seen
    spread = list(range(40, len(log) - 5, max(1, (len(log) - 45) // 18)))
    special = [
        i + 1
        for i, statement in enumerate(log)
        if statement.lstrip().upper().startswith("ALTER")
        or 'UPDATE "pipefix"."quarantine"' in statement
        or 'INSERT INTO "pipefix"."ledger"' in statement
        or 'INSERT INTO "pipefix"."journal"' in statement
    ]
    return sorted(set(spread + special))


@pytest.mark.slow
def test_a_run_killed_anywhere_resumes_to_the_same_warehouse(tmp_path: Path, reference: Reference) -> None:
    points = kill_points(tmp_path)
    assert len(points) >= 30

    def check(point: str) -> str:
        return kill_and_resume(tmp_path / f"killed-{point}.duckdb", ["--crash-at", point], reference)

    assert in_pairs(check, [str(p) for p in points]) == {}
    assert_reference_sound(reference)
