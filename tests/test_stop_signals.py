"""A real signal sent to a real `pipefix run` in the middle of a load: it stops at the next safe
point — the statement running is cancelled and the batch's transaction rolled back — prints
where it stopped, exits 130 (SIGINT) or 143 (SIGTERM) without a traceback, and the next run
accounts for every line: received = loaded + held, none lost, none loaded twice.

The run goes under tests/crash_harness.py's `--trace`, which writes each statement's start and
end to a file: the signal is sent once the load's judging statement has started, and the trace
shows what it cut short."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipefix.api import Pipeline
from tests.test_overlapping_runs import CONFIG, ROOT, exactly_once, write_batches

JUDGING = "CREATE OR REPLACE TEMP TABLE _pipefix_checked"  # a load's longest statement


def traced_run(project: Path, trace: Path, *args: str) -> subprocess.Popen[str]:
    harness = [
        "-m",
        "tests.crash_harness",
        "--trace",
        str(trace),
        "--engine",
        "duckdb",
        "--engine",
        "postgres",
    ]
    return subprocess.Popen(
        [
            sys.executable,
            *harness,
            "--",
            "run",
            "--config",
            str(project / "pipefix.yaml"),
            "--no-color",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def wait_for(trace: Path, process: subprocess.Popen[str], event: str, timeout: float = 180) -> int:
    """The index of the first trace line starting with `event`, once it is written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = trace.read_text().splitlines() if trace.exists() else []
        found = next((i for i, line in enumerate(lines) if line.startswith(event)), None)
        if found is not None:
            return found
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    pytest.fail(f"no {event!r} in the trace")


def make_project(tmp_path: Path, request: pytest.FixtureRequest, engine: str, lines: int) -> tuple[Path, int]:
    warehouse = request.getfixturevalue("pg_url") if engine == "postgres" else "duckdb:///warehouse.duckdb"
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    return tmp_path, write_batches(tmp_path / "landing", batches=1, lines=lines)


def stop_mid_load(project: Path, signum: signal.Signals, *args: str, delay: float = 0.0) -> list[str]:
    """Signal a run `delay` seconds after its load started judging; check how it ended; return
    the trace from the judging statement on."""
    trace = project / "trace.txt"
    run = traced_run(project, trace, *args)
    start = wait_for(trace, run, f"start\t{JUDGING}")
    time.sleep(delay)
    run.send_signal(signum)
    out, err = run.communicate(timeout=180)
    assert run.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == (
        f"stopped at step 1 ({signum.name}) — pipefix run continues where this stopped"
    )
    assert "Traceback" not in err + out
    cut = trace.read_text().splitlines()[start:]
    assert "raised\tInterrupted" in cut, cut  # a statement of the load was cut short ...
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:  # ... and rolled back
        assert pipeline.summary()["rows"]["received"] == 0
        assert pipeline.engine.query('SELECT count(*) FROM "orders"')[0][0] == 0
    return cut


def continued(project: Path, sent: int) -> None:
    """The next run loads the batch whole: every line once, loaded or held."""
    done = subprocess.run(
        [sys.executable, "-m", "pipefix", "run", "--json", "--config", str(project / "pipefix.yaml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert rows["received"] == sent == rows["loaded"] + rows["quarantined"]
    assert (rows["lost"], rows["duplicated"], rows["quarantined"]) == (0, 0, sent // 50)
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        assert exactly_once(pipeline.engine) == {"rows_twice": 0, "held_twice": 0, "batches_twice": 0}


@pytest.mark.parametrize(
    ("engine", "signum", "args"),
    [("duckdb", signal.SIGINT, ("--watch", "--interval", "60")), ("postgres", signal.SIGTERM, ())],
)
def test_a_signal_mid_load_stops_cleanly_and_the_next_run_loads_every_line_once(
    tmp_path: Path, request: pytest.FixtureRequest, engine: str, signum: signal.Signals, args: tuple[str, ...]
) -> None:
    project, sent = make_project(tmp_path, request, engine, lines=25_000)
    stop_mid_load(project, signum, *args)  # the judging, or the statement after it, is cut short
    continued(project, sent)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_inside_the_judging_of_a_200k_line_batch(
    tmp_path: Path, request: pytest.FixtureRequest, engine: str, signum: signal.Signals
) -> None:
    project, sent = make_project(tmp_path, request, engine, lines=200_000)
    # Into its execution: DuckDB forgets an interrupt that comes before a query starts.
    cut = stop_mid_load(project, signum, "--watch", "--interval", "60", delay=0.3)
    assert cut[1] == "raised\tInterrupted", cut[:5]  # the judging statement itself, seconds long here
    continued(project, sent)


def test_a_signal_between_watched_steps_stops_at_once(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    project, sent = make_project(tmp_path, request, "duckdb", lines=100)
    trace = project / "trace.txt"
    run = traced_run(project, trace, "--watch", "--interval", "600")
    saved = wait_for(trace, run, 'start\tINSERT INTO "pipefix"."steps"')
    while len(trace.read_text().splitlines()) <= saved + 1:  # the step is saved: the run sleeps
        time.sleep(0.05)
    time.sleep(0.5)
    sent_at = time.monotonic()
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert time.monotonic() - sent_at < 10  # not after the 600-second interval
    assert run.returncode == 130, err
    assert (
        err.strip().splitlines()[-1]
        == "stopped after step 1 (SIGINT) — pipefix run continues where this stopped"
    )
    assert "Step  1" in out
    continued(project, sent)
