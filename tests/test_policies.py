"""Policies: a person decides which kinds of change pipefix may apply on its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from tests.conftest import settled

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """
warehouse: duckdb:///warehouse.duckdb
tables:
  orders:
    key: order_id
    columns:
      order_id: {{type: bigint, nullable: false}}
      amount:   {{type: "decimal(12,2)", nullable: false, min: 0}}
policies:
  add_column: {mode}
"""


def clock(step: int) -> datetime:
    return NOW


def batch(project: Path, name: str, first: int, coupon: bool) -> None:
    folder = project / "landing" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"order_id": i, "amount": 5.25, **({"coupon": "X"} if coupon else {})}
        for i in range(first, first + 20)
    ]
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(folder / name)


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(mode=request.param))
    batch(tmp_path, "a.jsonl", 1, coupon=False)
    batch(tmp_path, "b.jsonl", 100, coupon=True)  # a column added without warning
    return tmp_path


def run(project: Path, steps: int, approve: bool = False) -> dict[str, Any]:
    with Pipeline.open(project / "pipefix.yaml", clock=clock) as pipeline:
        return pipeline.run(steps, approve=approve)


def cli(project: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(project / "pipefix.yaml")])
    assert result.exit_code in (0, 1), result.output
    return result.output


@pytest.mark.parametrize("project", ["approve"], indirect=True)
def test_approve_waits_for_a_person_then_applies(project: Path) -> None:
    summary = run(project, 3)
    assert summary["fixes"] == []
    assert summary["rows"] == {
        "received": 40,
        "loaded": 20,
        "quarantined": 20,
        "replayed": 0,
        "duplicates": 0,
        "lost": 0,
        "duplicated": 0,
    }
    history = cli(project, "history")
    assert "waiting for approval (policy add_column): pipefix approve 1 or pipefix reject 1" in history
    assert "waiting for a person: decision 1: schema_migration on orders" in history
    assert "decision 1: schema_migration on orders approved" in cli(project, "approve", "1")
    summary = run(project, 1)
    assert summary["rows"]["quarantined"] == 0
    assert summary["rows"]["replayed"] == 20
    with Pipeline.open(project / "pipefix.yaml", read_only=True, clock=clock) as pipeline:
        assert pipeline.engine.query("SELECT count(coupon) FROM orders") == [(20,)]
        # The v1 shape stays readable for consumers that have not moved on.
        assert pipeline.engine.query("SELECT count(*) FROM orders_v1") == [(40,)]


@pytest.mark.parametrize("project", ["approve"], indirect=True)
def test_a_rejected_fix_is_never_applied(project: Path) -> None:
    run(project, 2)
    assert "rejected" in cli(project, "reject", "1")
    summary = run(project, 2)
    assert summary["fixes"] == []
    assert summary["rows"]["quarantined"] == 20
    assert "rejected by a person (decision 1)" in cli(project, "history")


@pytest.mark.parametrize("project", ["approve"], indirect=True)
def test_run_with_approve_applies_at_once(project: Path) -> None:
    summary = run(project, 3, approve=True)
    assert summary["rows"]["quarantined"] == 0
    with Pipeline.open(project / "pipefix.yaml", read_only=True, clock=clock) as pipeline:
        assert pipeline.decisions()[0]["status"] == "approved"
        assert pipeline.decisions()[0]["decided_by"] == "pipefix run --approve"


@pytest.mark.parametrize("project", ["block"], indirect=True)
def test_block_never_applies_and_says_so(project: Path) -> None:
    summary = run(project, 4)
    assert summary["fixes"] == []
    assert summary["rows"]["quarantined"] == 20
    assert summary["rows"]["lost"] == 0
    assert "blocked by policy add_column: block; rows stay quarantined" in cli(project, "history")
    result = CliRunner().invoke(main, ["approve", "7", "--config", str(project / "pipefix.yaml")])
    assert (result.exit_code, "no decision 7" in result.output) == (2, True)


@pytest.mark.parametrize("project", ["auto"], indirect=True)
def test_auto_applies_without_asking(project: Path) -> None:
    summary = run(project, 2)
    assert summary["rows"]["quarantined"] == 0
    assert [f["action"] for f in summary["fixes"]] == ["schema_migration", "retry_failed"]
