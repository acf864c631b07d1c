"""Never green while rows wait: rows held for their shape, or too many held for their values,
make the pipeline unhealthy — `check` exits 1, the run's summary says which table waits and why,
a decision stays open and an alert goes out once — until the rows load. DuckDB and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.domain.alerts import EventKind, step_events
from pipefix.engines import store
from tests.conftest import settled

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """
warehouse: {warehouse}
tables:
  orders:
    key: order_id
    columns:
      order_id: {{type: bigint, nullable: false}}
      amount:   {{type: "decimal(12,2)", nullable: false, min: 0}}
      status:   {{type: varchar, nullable: false, values: [new, paid]}}
policies:
  add_column: {add_column}
"""


def clock(step: int) -> datetime:
    return NOW


def write_config(project: Path, add_column: str) -> None:
    warehouse = (project / "warehouse.txt").read_text()
    (project / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse, add_column=add_column))


def batch(project: Path, name: str, rows: list[dict[str, Any]]) -> None:
    folder = project / "landing" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(folder / name)


def orders(first: int, count: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"order_id": i, "amount": 5.25, "status": "new", **extra} for i in range(first, first + count)]


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = "duckdb:///warehouse.duckdb"
    if request.param == "postgres":
        warehouse = request.getfixturevalue("pg_url")
    (tmp_path / "warehouse.txt").write_text(warehouse)
    write_config(tmp_path, "block")
    return tmp_path


def run(project: Path, steps: int) -> dict[str, Any]:
    with Pipeline.open(project / "pipefix.yaml", clock=clock) as pipeline:
        return pipeline.run(steps)


def check(project: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["check", "--json", "--config", str(project / "pipefix.yaml")])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def test_rows_held_for_their_shape_keep_the_pipeline_unhealthy_until_they_load(project: Path) -> None:
    batch(project, "a.jsonl", orders(1, 40))
    batch(project, "b.jsonl", orders(100, 25, coupon="X"))  # a column added; policy: block
    summary = run(project, 3)

    assert summary["rows"]["quarantined"] == 25
    assert summary["rows"]["lost"] == 0
    assert summary["healthy"] is False
    assert summary["recovered_step"] is None
    held = summary["held"]
    assert held["for_shape"] == 25
    assert held["tables_waiting"] == ["orders"]
    assert held["tables"]["orders"] == {
        "for_shape": 25,
        "for_value": 0,
        "unreadable": 0,
        "received": 65,
        "share": round(25 / 65, 4),
        "waits": True,
    }
    # Nothing pipefix may do releases them (the policy blocks the migration): a person is told.
    [waiting] = summary["waiting"]
    assert waiting["table"] == "orders"
    assert "held back: blocked by policy add_column: block" in waiting["reason"]

    code, report = check(project)
    assert code == 1
    assert report["healthy"] is False
    assert report["rows_held_for_shape"] == 25
    assert report["tables"]["orders"]["held"] == {"for_shape": 25, "for_value": 0}
    assert report["tables"]["orders"]["checks"]["held_rows"] is False

    # Steps without a new batch read no better: the held rows are still counted.
    summary = run(project, 1)
    assert summary["healthy"] is False
    assert summary["final"]["error_rate"] == 0.0

    history = CliRunner().invoke(main, ["history", "--config", str(project / "pipefix.yaml")]).output
    assert f"decision {waiting['decision']}" in history
    assert "rows wait on orders" in history
    # Nothing was proposed, so there is nothing to approve: said plainly, exit 2.
    approve = CliRunner().invoke(
        main, ["approve", str(waiting["decision"]), "--config", str(project / "pipefix.yaml")]
    )
    assert approve.exit_code == 2
    assert "not a fix to approve" in approve.output

    # The person lifts the block: the migration runs, the rows load, the decision closes.
    write_config(project, "auto")
    summary = run(project, 2)
    assert summary["rows"]["quarantined"] == 0
    assert summary["rows"]["replayed"] == 25
    assert summary["healthy"] is True
    assert summary["waiting"] == []
    assert summary["held"]["tables_waiting"] == []
    code, report = check(project)
    assert code == 0, report
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        statuses = {d["id"]: d["status"] for d in pipeline.decisions()}
    assert statuses[waiting["decision"]] == "resolved"


def test_a_held_share_at_the_error_rate_is_unhealthy_even_in_a_quiet_step(project: Path) -> None:
    write_config(project, "auto")
    # 5 of 45 rows carry a status the contract does not allow (too few to be a new allowed
    # value): held for their values.
    batch(project, "a.jsonl", orders(1, 40) + orders(100, 5, status="lost"))
    summary = run(project, 1)
    assert summary["held"]["tables"]["orders"]["for_value"] == 5
    assert summary["held"]["tables"]["orders"]["for_shape"] == 0
    summary = run(project, 2)  # nothing new arrives
    assert summary["final"]["error_rate"] == 0.0
    assert summary["healthy"] is False
    [waiting] = summary["waiting"]
    assert "5 rows held for their values (11.1% of the 45 rows received)" in waiting["reason"]
    assert "status" in waiting["reason"]
    code, report = check(project)
    assert code == 1
    assert report["max_held_share"] == 0.1111
    assert report["tables"]["orders"]["held"] == {"for_shape": 0, "for_value": 5}

    # More good rows dilute the share below the goal's error rate (2%): healthy again.
    batch(project, "b.jsonl", orders(1000, 500))
    summary = run(project, 1)
    assert summary["held"]["tables"]["orders"]["share"] < 0.02
    assert summary["healthy"] is True
    assert check(project)[0] == 0


def test_repair_needed_is_alerted_once_per_decision(project: Path) -> None:
    batch(project, "a.jsonl", orders(1, 10))
    batch(project, "b.jsonl", orders(100, 5, coupon="X"))
    run(project, 4)
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        records = store.all_steps(pipeline.engine)
    keys = [
        event.key
        for previous, record in zip((None, *records), records, strict=False)
        for event in step_events(record, previous)
        if event.kind is EventKind.REPAIR_NEEDED
    ]
    assert keys, "a table whose rows wait with no repair must raise repair_needed"
    assert len(set(keys)) == 1  # the same decision: one alert, however many steps it waits
    waits = [w for r in records for w in r.waiting]
    assert all(w.table == "orders" and w.held_for_shape == 5 for w in waits)
