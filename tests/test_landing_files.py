"""Files still being written, on DuckDB and on a real PostgreSQL, for a keyed table (orders) and a
keyless one (events): a file that grows after it was loaded loads only its new lines; one
rewritten in place is reported, never loaded twice; one modified less than `landing.settle` ago,
named as in progress (`*.tmp`, `_*`, `.*`) or in a folder without `_SUCCESS` (when required) is
read only once complete."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.domain.records import StepRecord
from tests.conftest import settled

CONFIG = """
warehouse: {warehouse}
landing: {landing}
tables:
  orders:
    key: order_id
    columns:
      order_id: {{type: bigint, nullable: false}}
      status:   {{type: varchar}}
  events:
    columns:
      kind: {{type: varchar, nullable: false}}
      n:    {{type: bigint}}
"""
TABLES = ("orders", "events")


def configure(folder: Path, warehouse: str = "duckdb:///w.duckdb", landing: str = "landing") -> Path:
    (folder / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse, landing=landing))
    return folder


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = request.getfixturevalue("pg_url") if request.param == "postgres" else "duckdb:///w.duckdb"
    return configure(tmp_path, warehouse)


def records(table: str, ids: range) -> str:
    """JSONL lines: orders keyed by order_id; events without a key (only `n` tells them apart)."""
    rows = [{"order_id": i, "status": "new"} if table == "orders" else {"kind": "click", "n": i} for i in ids]
    return "".join(json.dumps(r) + "\n" for r in rows)


def land(project: Path, file: str, text: str, *, append: bool = False, fresh: bool = False) -> Path:
    """Write (or append to) landing/<file>; dated a minute back unless `fresh` (just written)."""
    path = project / "landing" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as handle:
        handle.write(text)
    if not fresh:
        settled(path)
    return path


def cli(project: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(project / "pipefix.yaml")])
    assert result.exit_code in (0, 1), result.output
    return result.output


def run_json(project: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(cli(project, "run", "--json"))
    return summary


def rows_of(summary: dict[str, Any]) -> tuple[int, ...]:
    """(received, loaded, quarantined, duplicates, lost, duplicated)"""
    rows = summary["rows"]
    return tuple(rows[k] for k in ("received", "loaded", "quarantined", "duplicates", "lost", "duplicated"))


def query(project: Path, sql: str) -> list[tuple[Any, ...]]:
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        return pipeline.engine.query(sql)


def test_a_file_that_grows_loads_only_its_new_lines(project: Path) -> None:
    for table in TABLES:
        land(project, f"{table}/b1.jsonl", records(table, range(1, 2001)))
    assert rows_of(run_json(project)) == (4000, 4000, 0, 0, 0, 0)

    for table in TABLES:  # the producer appends 2,000 more lines to each file
        land(project, f"{table}/b1.jsonl", records(table, range(2001, 4001)), append=True)
    output = cli(project, "run", "--no-color")
    for table in TABLES:
        assert (
            f"{table}/b1.jsonl grew after it was loaded: its 2,000 new lines loaded as batch {table}/b1"
            in output
        )

    summary = run_json(project)
    assert rows_of(summary) == (8000, 8000, 0, 0, 0, 0)  # received 4,000 per table, none twice
    appended = summary["landing"]["appended"]
    assert [(a["step"], a["file"], a["lines"]) for a in appended] == [
        (2, "events/b1.jsonl", 2000),
        (2, "orders/b1.jsonl", 2000),
    ]
    assert all(a["after"].startswith(a["file"] + "@") for a in appended)
    for table, field in (("orders", "order_id"), ("events", "n")):
        # One row per line sent, line numbers 1..4,000 going on across the two batches.
        assert query(
            project,
            f"SELECT count(*), count(DISTINCT {field}), count(DISTINCT (_pipefix_batch, _pipefix_line)), "
            f"count(DISTINCT _pipefix_line), min(_pipefix_line), max(_pipefix_line) FROM {table}",
        ) == [(4000, 4000, 4000, 4000, 1, 4000)]
        assert query(project, f"SELECT max(_pipefix_line) FROM {table} WHERE {field} <= 2000") == [(2000,)]
    assert query(project, "SELECT count(*) FROM pipefix.quarantine") == [(0,)]
    history = cli(project, "history")
    assert "appended   orders/b1.jsonl grew after it was loaded: its 2,000 new lines loaded" in history

    # The grown file sent again under a new name: all its 4,000 lines are already loaded.
    orders = project / "landing" / "orders"
    shutil.copy(orders / "b1.jsonl", orders / "b1-again.jsonl")
    settled(orders / "b1-again.jsonl")
    output = cli(project, "run", "--no-color")
    assert "duplicates: orders/b1-again.jsonl (4,000 lines) already loaded as orders/b1.jsonl" in output
    assert rows_of(run_json(project)) == (12000, 8000, 0, 4000, 0, 0)


def test_a_csv_that_grows_reads_its_new_lines_under_its_header(project: Path) -> None:
    path = land(project, "events/e.csv", "kind,n\nclick,1\nclick,2\n")
    run_json(project)
    land(project, "events/e.csv", "view,3\nview,4\n", append=True)  # no header: the file's applies
    assert rows_of(run_json(project)) == (4, 4, 0, 0, 0, 0)
    assert query(project, "SELECT kind, n, _pipefix_line FROM events ORDER BY n") == [
        ("click", 1, 2),
        ("click", 2, 3),
        ("view", 3, 4),
        ("view", 4, 5),
    ]
    assert path.read_text().count("kind,n") == 1


def test_a_last_line_cut_when_it_was_loaded_is_completed_in_its_place(project: Path) -> None:
    """The loaded bytes ended inside a line (no line end: the producer was still writing it).
    Held as malformed then; once the file grows, the completed line is judged in its place (a
    replay: loaded under its first batch and line), and the lines after it load as new lines."""
    first = records("orders", range(1, 3)) + '{"order_id": 3, "sta'
    land(project, "orders/b.jsonl", first)
    summary = run_json(project)
    assert rows_of(summary) == (3, 2, 1, 0, 0, 0)
    assert query(project, "SELECT line_no, kind FROM pipefix.quarantine") == [(3, "malformed")]

    land(project, "orders/b.jsonl", 'tus": "new"}\n' + records("orders", range(4, 5)), append=True)
    summary = run_json(project)
    assert rows_of(summary) == (4, 4, 0, 0, 0, 0)
    assert summary["rows"]["replayed"] == 1
    loaded = query(project, "SELECT order_id, _pipefix_batch, _pipefix_line FROM orders ORDER BY order_id")
    first_batch = loaded[0][1]
    assert [(o, b == first_batch, line) for o, b, line in loaded] == [
        (1, True, 1),
        (2, True, 2),
        (3, True, 3),  # the completed line, under the batch and line it was held as
        (4, False, 4),
    ]
    assert query(project, "SELECT raw, replayed_step FROM pipefix.quarantine") == [
        ('{"order_id": 3, "status": "new"}', 2)
    ]


def test_a_cut_line_that_loaded_is_not_loaded_twice(project: Path) -> None:
    """A CSV line cut inside its last field reads as a record (`click,1` of `click,12`) and loads.
    Its completed text cannot load too: it is held, with why; the lines after it load."""
    land(project, "events/e.csv", "kind,n\nclick,1\nclick,1")
    assert rows_of(run_json(project)) == (2, 2, 0, 0, 0, 0)
    land(project, "events/e.csv", "2\nview,5\n", append=True)
    assert rows_of(run_json(project)) == (4, 3, 1, 0, 0, 0)
    assert query(project, "SELECT n, _pipefix_line FROM events ORDER BY _pipefix_line") == [
        (1, 2),
        (1, 3),
        (5, 4),
    ]
    [(line, kind, reason)] = query(project, "SELECT line_no, kind, reason FROM pipefix.quarantine")
    assert (line, kind) == (3, "malformed")
    assert reason == (
        "line 3 was still being written when events/e.csv was loaded: its first part was read then; "
        "the completed line is held, not loaded twice"
    )


def test_a_last_line_without_a_line_end_that_was_complete_stays_as_loaded(project: Path) -> None:
    land(project, "orders/b.jsonl", records("orders", range(1, 3)).rstrip("\n"))
    run_json(project)
    land(project, "orders/b.jsonl", "\n" + records("orders", range(3, 5)), append=True)
    assert rows_of(run_json(project)) == (4, 4, 0, 0, 0, 0)
    assert query(project, "SELECT order_id, _pipefix_line FROM orders ORDER BY 1") == [
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 4),
    ]


def test_a_file_rewritten_in_place_is_reported_not_reloaded(project: Path) -> None:
    for table in TABLES:
        land(project, f"{table}/b1.jsonl", records(table, range(1, 21)))
    run_json(project)
    for table in TABLES:  # rewritten: the loaded bytes are no longer its first bytes
        land(project, f"{table}/b1.jsonl", records(table, range(21, 31)))
    output = cli(project, "run", "--no-color")
    step, summary_part = output.split("Summary")
    for text in (step, summary_part):
        assert "orders/b1.jsonl was rewritten after it was loaded (batch orders/b1.jsonl@" in text
        assert "): not reloaded; to load its new content, send it under a new name" in text
    summary = run_json(project)
    assert rows_of(summary) == (40, 40, 0, 0, 0, 0)
    rewritten = summary["landing"]["rewritten"]
    assert [(r["step"], r["file"]) for r in rewritten] == [(2, "events/b1.jsonl"), (2, "orders/b1.jsonl")]
    assert all(r["after"].startswith(r["file"] + "@") and r["after"] != r["batch_id"] for r in rewritten)
    history = cli(project, "history")
    assert "rewritten  events/b1.jsonl was rewritten after it was loaded (batch events/b1.jsonl@" in history
    assert "rewritten after it was loaded" not in cli(project, "run", "--no-color").split("Summary")[0]

    for table in TABLES:  # what the message says: under a new name, it loads
        (project / "landing" / table / "b1.jsonl").rename(project / "landing" / table / "b2.jsonl")
    assert rows_of(run_json(project)) == (60, 60, 0, 0, 0, 0)
    assert query(project, "SELECT count(*), count(DISTINCT order_id) FROM orders") == [(30, 30)]
    assert query(project, "SELECT count(*), count(DISTINCT n) FROM events") == [(30, 30)]


def test_a_file_still_being_written_is_reported_and_read_once_settled(project: Path) -> None:
    land(project, "orders/a.jsonl", records("orders", range(1, 11)))
    fresh = [
        land(project, "orders/b.jsonl", records("orders", range(11, 21)), fresh=True),
        land(project, "events/e.jsonl", records("events", range(1, 11)), fresh=True),
    ]
    output = cli(project, "run", "--no-color")  # a.jsonl is ready: no wait
    step, summary_part = output.split("Summary")
    for file in ("orders/b.jsonl", "events/e.jsonl"):
        writing = rf"not read yet: {file} \(still being written: modified [0-4] s ago\)"
        assert re.search(rf"\n        {writing}\n", step)
        assert re.search(rf"\n{writing}: a later run reads it\n", summary_part)

    land(project, "orders/c.jsonl", records("orders", range(21, 31)))
    for path in fresh:  # the producer is still at it
        os.utime(path)
    summary = run_json(project)
    assert rows_of(summary) == (20, 20, 0, 0, 0, 0)
    not_ready = summary["landing"]["not_ready"]
    assert [(f["table"], f["file"]) for f in not_ready] == [
        ("orders", "orders/b.jsonl"),
        ("events", "events/e.jsonl"),
    ]
    assert all(f["reason"].startswith("still being written: modified ") for f in not_ready)
    assert all(0 <= f["modified_seconds_ago"] < 5 for f in not_ready)

    with Pipeline.open(project / "pipefix.yaml") as pipeline:  # from Python, without waiting
        steps: list[StepRecord] = []
        pipeline.run(1, wait_for_files=False, on_step=steps.append)
    assert [(n.file, n.kind) for n in steps[0].files] == [
        ("orders/b.jsonl", "writing"),
        ("events/e.jsonl", "writing"),
    ]

    settled(*fresh)
    summary = run_json(project)
    assert rows_of(summary) == (40, 40, 0, 0, 0, 0)
    assert summary["landing"]["not_ready"] == []


def test_a_run_with_only_files_still_settling_waits_for_them_once(tmp_path: Path) -> None:
    project = configure(tmp_path, landing="{path: landing, settle: 2s}")
    land(project, "orders/a.jsonl", records("orders", range(1, 6)), fresh=True)
    started = time.monotonic()
    output = cli(project, "run", "--no-color")
    assert time.monotonic() - started >= 1.5
    assert "waiting 2 s for orders/a.jsonl to settle (modified less than landing.settle ago)" in output
    assert "rows: received 5 | loaded 5 |" in output


@pytest.mark.parametrize("name", ["b.jsonl.tmp", "b.jsonl.part", "_b.jsonl", ".b.jsonl"])
def test_files_named_as_in_progress_are_read_once_renamed(tmp_path: Path, name: str) -> None:
    project = configure(tmp_path)
    path = land(project, f"orders/{name}", records("orders", range(1, 6)))
    summary = run_json(project)
    assert (summary["rows"]["received"], summary["landing"]["not_ready"]) == (0, [])
    path.rename(path.with_name("b.jsonl"))  # the producer is done
    assert rows_of(run_json(project)) == (5, 5, 0, 0, 0, 0)


def test_with_a_success_marker_required_a_folder_is_read_once_it_holds_one(tmp_path: Path) -> None:
    project = configure(tmp_path, landing="{path: landing, require_success_marker: true}")
    land(project, "orders/2026-11-21/part-0000.jsonl", records("orders", range(1, 6)))
    land(project, "orders/top.jsonl", records("orders", range(6, 9)))
    summary = run_json(project)
    assert summary["rows"]["received"] == 0
    assert [(f["file"], f["reason"]) for f in summary["landing"]["not_ready"]] == [
        (
            "orders/2026-11-21/part-0000.jsonl",
            "waits for _SUCCESS in orders/2026-11-21/ (landing.require_success_marker)",
        ),
        ("orders/top.jsonl", "waits for _SUCCESS in orders/ (landing.require_success_marker)"),
    ]

    (project / "landing" / "orders" / "2026-11-21" / "_SUCCESS").touch()
    summary = run_json(project)
    assert rows_of(summary) == (5, 5, 0, 0, 0, 0)
    assert [f["file"] for f in summary["landing"]["not_ready"]] == ["orders/top.jsonl"]
    assert query(project, "SELECT DISTINCT _pipefix_batch FROM orders")[0][0].startswith(
        "orders/2026-11-21/part-0000.jsonl@"
    )
    # A marked folder is complete: its files are read at once, however fresh.
    land(project, "orders/2026-11-22/part-0000.jsonl", records("orders", range(9, 12)), fresh=True)
    (project / "landing" / "orders" / "2026-11-22" / "_SUCCESS").touch()
    (project / "landing" / "orders" / "_SUCCESS").touch()
    summary = run_json(project)
    assert rows_of(summary) == (11, 11, 0, 0, 0, 0)
    assert summary["landing"]["not_ready"] == []


def test_a_warehouse_from_before_sizes_were_recorded_still_loads_only_new_lines(tmp_path: Path) -> None:
    """Batches recorded before `size_bytes` existed: where the loaded bytes end is found by their
    hash at a line end."""
    project = configure(tmp_path)
    land(project, "orders/b.jsonl", records("orders", range(1, 4)))
    run_json(project)
    with Pipeline.open(project / "pipefix.yaml") as pipeline:
        pipeline.engine.execute("UPDATE pipefix.batches SET size_bytes = NULL")
    land(project, "orders/b.jsonl", records("orders", range(4, 6)), append=True)
    assert rows_of(run_json(project)) == (5, 5, 0, 0, 0, 0)
    lines = query(project, "SELECT order_id, _pipefix_line FROM orders WHERE order_id > 3 ORDER BY 1")
    assert lines == [(4, 4), (5, 5)]
