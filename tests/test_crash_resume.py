"""Kill the demo with SIGKILL anywhere — mid-load, mid-migration, mid-replay — resume it, and
the warehouse ends exactly as an uninterrupted run's: same rows, same contracts, no fix twice."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipefix.scenario.demo import DemoOptions, run_demo
from pipefix.scenario.tables import SOURCE_TABLES

ARGS = ["--steps", "5", "--drift-step", "3", "--json"]
pytestmark = pytest.mark.slow


def pipefix(db: Path, *extra: str, crash_at: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PIPEFIX_CRASH_AT_STATEMENT"}
    if crash_at is not None:
        env["PIPEFIX_CRASH_AT_STATEMENT"] = str(crash_at)
    return subprocess.run(
        [sys.executable, "-m", "pipefix", "demo", "--db", str(db), *ARGS, *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


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


def kill_points(tmp: Path) -> list[int]:
    """Statement numbers to die at: spread over the run, plus every migration, replay and ledger write."""
    log = run_demo(DemoOptions(db=tmp / "count.duckdb", steps=5, drift_step=3)).pipeline.engine.statement_log
    spread = list(range(40, len(log) - 5, max(1, (len(log) - 45) // 18)))
    special = [
        i + 1
        for i, statement in enumerate(log)
        if statement.lstrip().upper().startswith("ALTER")
        or "UPDATE pipefix.quarantine" in statement
        or "INSERT INTO pipefix.ledger" in statement
        or "INSERT INTO pipefix.journal" in statement
    ]
    return sorted(set(spread + special))


def test_a_run_killed_anywhere_resumes_to_the_same_warehouse(tmp_path: Path) -> None:
    reference = tmp_path / "reference.duckdb"
    done = pipefix(reference)
    assert done.returncode == 0, done.stderr
    expected = snapshot(reference)
    expected_summary = json.loads(done.stdout)
    points = kill_points(tmp_path)
    assert len(points) >= 30

    def kill_and_resume(point: int) -> tuple[int, str]:
        db = tmp_path / f"killed-{point}.duckdb"
        killed = pipefix(db, crash_at=point)
        assert killed.returncode == -9, f"statement {point} was not reached: {killed.stderr[-300:]}"
        cut_short = thread(db)
        # Past the first node the killed run has checkpoints, and `--resume` goes on with its thread.
        must_continue = checkpoints(db, cut_short) > 2
        resumed = pipefix(db, "--resume")
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        summary = json.loads(resumed.stdout)
        same = snapshot(db) == expected and all(
            summary[k] == expected_summary[k]
            for k in ("rows", "fixes", "revisions", "drift_step", "recovered_step")
        )
        if must_continue and thread(db) != cut_short:
            return point, "restarted instead of resuming from its checkpoint"
        return point, "ok" if same else "DIFFERENT"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = dict(pool.map(kill_and_resume, points))
    assert {p: o for p, o in outcomes.items() if o != "ok"} == {}
    assert expected_summary["rows"]["lost"] == 0
    assert len(expected["fixes"]) == len(expected_summary["fixes"]) == 5  # each fix applied once
