"""A batch file re-sent under a new name with bytes already loaded: recorded as a duplicate of the
first batch (its lines counted, none loaded), shown by `run`, `run --json` and `history` — on
DuckDB and on a real PostgreSQL. The same file seen again under its own name stays silent."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from tests.conftest import settled

CONFIG = """
warehouse: {warehouse}
landing: landing
tables:
  orders:
    key: order_id
    columns:
      order_id:   {{type: bigint, nullable: false}}
      status:     {{type: varchar, values: [new, paid]}}
      created_at: {{type: timestamp}}
"""


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = request.getfixturevalue("pg_url") if request.param == "postgres" else "duckdb:///w.duckdb"
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    return tmp_path


def write_orders(path: Path, ids: range) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"order_id": i, "status": "new", "created_at": "2026-11-20T12:00:00Z"} for i in ids]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(path)


def cli(project: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(project / "pipefix.yaml")])
    assert result.exit_code in (0, 1), result.output
    return result.output


def run_json(project: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(cli(project, "run", "--json"))
    return summary


def test_a_file_resent_under_a_new_name_is_recorded_and_counted_never_loaded(project: Path) -> None:
    orders = project / "landing" / "orders"
    write_orders(orders / "a.jsonl", range(1, 21))
    assert run_json(project)["rows"]["received"] == 20

    shutil.copy(orders / "a.jsonl", orders / "b.jsonl")  # the producer sends the same bytes again
    settled(orders / "b.jsonl")
    output = cli(project, "run", "--no-color")
    assert "duplicates: orders/b.jsonl (20 lines) already loaded as orders/a.jsonl" in output  # the step
    assert "| duplicates 20 |" in output  # the summary's rows add up: 40 = 20 + 0 + 20
    assert "duplicates: orders/b.jsonl (20 lines) already loaded as orders/a.jsonl; recorded" in output

    summary = run_json(project)
    rows = summary["rows"]
    assert rows | {"replayed": 0} == {
        "received": 40,
        "loaded": 20,
        "quarantined": 0,
        "duplicates": 20,
        "replayed": 0,
        "lost": 0,
        "duplicated": 0,
    }
    assert rows["received"] == rows["loaded"] + rows["quarantined"] + rows["duplicates"]
    [resent] = summary["duplicates"]
    assert (resent["step"], resent["table"], resent["file"], resent["lines"], resent["first"]) == (
        2,
        "orders",
        "orders/b.jsonl",
        20,
        "orders/a.jsonl",
    )
    assert resent["duplicate_of"].startswith("orders/a.jsonl@")

    history = cli(project, "history")
    assert (
        "duplicate  orders/b.jsonl re-sent: its 20 lines are already loaded as orders/a.jsonl; "
        "recorded, nothing loaded twice" in history
    )

    # Seen again under their own names (even touched): silent, counted once.
    for name in ("a.jsonl", "b.jsonl"):
        os.utime(orders / name, (1e9, 1e9))
    output = cli(project, "run", "--no-color")
    assert "duplicates: orders/" not in output.split("Summary")[0]
    summary = run_json(project)
    assert summary["rows"]["received"] == 40
    assert len(summary["duplicates"]) == 1
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        assert pipeline.engine.query("SELECT count(*), count(DISTINCT order_id) FROM orders") == [(20, 20)]
        assert pipeline.engine.query("SELECT count(*) FROM pipefix.quarantine") == [(0,)]


def test_resent_lines_leave_the_step_health_alone(project: Path) -> None:
    """A step that only received a re-sent file received no new rows: error rate and volume are
    judged on the rows judged, not on lines already loaded."""
    orders = project / "landing" / "orders"
    write_orders(orders / "a.jsonl", range(1, 31))
    run_json(project)
    shutil.copy(orders / "a.jsonl", orders / "a-again.jsonl")
    settled(orders / "a-again.jsonl")
    with Pipeline.open(project / "pipefix.yaml") as pipeline:
        records: list[Any] = []
        pipeline.run(1, on_step=records.append)
    [record] = records
    table = record.metrics.table("orders")
    assert (table.received, table.loaded, table.quarantined) == (0, 0, 0)
    assert [(r.file, r.lines, r.first) for r in table.resent] == [
        ("orders/a-again.jsonl", 30, "orders/a.jsonl")
    ]
    assert record.metrics.error_rate == 0.0
    assert table.checks["volume"]
