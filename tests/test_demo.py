"""The reference scenario end to end, on a real DuckDB file: drift at step 8, repair, no loss."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines import store
from pipefix.scenario.demo import DemoOptions, DemoRun, run_demo
from pipefix.scenario.tables import SOURCE_TABLES
from tests.demo_checks import (
    PrintedDemo,
    batch_lines,
    destructive_statements,
    rows_add_up,
    summary_of,
)


@pytest.fixture(scope="module")
def demo(default_demo: PrintedDemo) -> DemoRun:
    """The 25-step demo as `pipefix demo` runs it, shared with test_readme.py (tests/conftest.py)."""
    return default_demo.run


@pytest.fixture(scope="module")
def summary(demo: DemoRun) -> dict[str, Any]:
    return summary_of(demo)


def test_the_demo_recovers_within_five_steps_of_the_drift(summary: dict[str, Any]) -> None:
    assert summary["steps"] == 25
    assert summary["drift_step"] == 8
    assert summary["recovered_step"] is not None
    assert summary["recovered_step"] <= 8 + 5
    assert summary["final"]["health"] >= 0.95
    assert summary["final"]["error_rate"] < 0.02


def test_no_row_is_lost_or_loaded_twice(summary: dict[str, Any], demo: DemoRun) -> None:
    rows = summary["rows"]
    assert rows["lost"] == 0
    assert rows["duplicated"] == 0
    assert rows["received"] == sum(batch_lines(demo.landing).values())
    assert rows_add_up(rows)
    assert rows["duplicates"] == 0  # the demo's producer never re-sends a file
    assert rows["replayed"] > 0


def test_every_line_of_every_batch_file_is_in_its_table_or_held(demo: DemoRun) -> None:
    engine = demo.pipeline.engine
    expected = batch_lines(demo.landing)
    placed: dict[str, int] = {}
    for table in SOURCE_TABLES:
        rows = engine.query(
            f"SELECT _pipefix_batch, count(*) FROM {table} GROUP BY 1 UNION ALL "
            f"SELECT batch_id, count(*) FROM {store.SCHEMA}.quarantine "
            "WHERE table_name = ? AND replayed_step IS NULL GROUP BY 1",
            (table,),
        )
        for batch, count in rows:
            name = batch.split("@")[0]  # batch ids are "<table>/<file>@<content hash>"
            placed[name] = placed.get(name, 0) + int(count)
    assert placed == expected


def test_every_drifted_row_is_loaded_after_the_repair(demo: DemoRun) -> None:
    engine = demo.pipeline.engine
    held_kinds = engine.query(
        f"SELECT DISTINCT kind FROM {store.SCHEMA}.quarantine WHERE replayed_step IS NULL"
    )
    assert held_kinds == [("value",)]  # only genuinely bad values stay held
    replayed = engine.query(
        f"SELECT table_name, count(*) FROM {store.SCHEMA}.quarantine "
        "WHERE kind = 'schema' OR replayed_step IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    assert [t for t, _ in replayed] == ["events", "orders"]


def test_exactly_one_goal_revision_names_the_drifted_tables(summary: dict[str, Any], demo: DemoRun) -> None:
    assert len(summary["revisions"]) == 1
    revision = summary["revisions"][0]
    assert revision["step"] == 8
    assert (revision["from_version"], revision["to_version"]) == (1, 2)
    assert summary["goal"]["version"] == 2
    assert "orders" in summary["goal"]["description"]
    assert "events" in summary["goal"]["description"]
    assert "v2.0" in summary["goal"]["description"]
    assert "contract_version.orders >= 2" in summary["goal"]["criteria"]
    assert [v for v, *_ in store.goals(demo.pipeline.engine)] == [1, 2]


def test_health_and_error_rate_at_the_drift_are_measured_from_rows(demo: DemoRun) -> None:
    record = next(r for r in demo.records if r.step == 8)
    received, held = demo.pipeline.engine.query(
        f"SELECT sum(received), sum(quarantined) FROM {store.SCHEMA}.batches WHERE step = 8"
    )[0]
    assert record.metrics.received == received
    assert record.metrics.error_rate == round(held / received, 4)
    checks = [ok for table in record.metrics.tables for ok in table.checks.values()]
    assert record.metrics.health == round(sum(checks) / len(checks), 4)
    assert record.metrics.health < 0.95
    assert record.evaluation.score <= -0.3
    assert set(record.metrics.drifted_tables) == {"orders", "events"}


def test_money_and_timestamps_are_exact_after_the_repair(demo: DemoRun) -> None:
    engine = demo.pipeline.engine
    sent = Decimal(0)
    sent_ms: dict[int, int] = {}
    for path in sorted(demo.landing.glob("orders/batch-*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line, parse_float=Decimal)
            if "price" in row and row["price"] >= 0:
                sent += row["price"]
    for path in sorted(demo.landing.glob("events/batch-002*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            sent_ms[row["event_id"]] = row["timestamp"]
    stored = engine.query("SELECT sum(price) FROM orders WHERE price IS NOT NULL")[0][0]
    assert stored == sent
    stored_ms = dict(
        engine.query(
            "SELECT event_id, epoch_ms(timestamp) FROM events WHERE _pipefix_batch LIKE 'events/batch-002%'"
        )
    )
    assert stored_ms == {k: v for k, v in sent_ms.items() if k in stored_ms}
    assert len(stored_ms) >= len(sent_ms) * 0.95


def test_contracts_moved_to_v2_and_kept_the_v1_columns(demo: DemoRun) -> None:
    contracts = store.active_contracts(demo.pipeline.engine)
    assert contracts["orders"].version == 2
    assert contracts["events"].version == 2
    assert {c.version for t, c in contracts.items() if t not in ("orders", "events")} == {1}
    columns = {r[0] for r in demo.pipeline.engine.query("SELECT column_name FROM (DESCRIBE orders)")}
    assert {"price_usd", "price", "currency_code"} <= columns


def test_constraints_evolved_from_observed_violations_and_were_enforced(summary: dict[str, Any]) -> None:
    evolutions = summary["constraints"]["evolutions"]
    added = {e["constraint"] for e in evolutions if e["change"] == "add"}
    assert "shadow_validation[events,orders]" in added
    assert all(e["step"] % 3 == 0 for e in evolutions)
    migrations = [f for f in summary["fixes"] if f["action"] == "schema_migration"]
    assert migrations
    assert all("shadow trial passed" in f["detail"] for f in migrations)
    assert len(summary["fixes"]) <= 15


def test_nothing_destructive_ran(demo: DemoRun) -> None:
    assert destructive_statements(demo.pipeline.engine.statement_log) == []


def test_analytics_is_derived_every_step(demo: DemoRun) -> None:
    rows = demo.pipeline.engine.query("SELECT step, count(*) FROM analytics GROUP BY 1 ORDER BY 1")
    assert [step for step, _ in rows] == list(range(1, 26))
    orders_at_drift = demo.pipeline.engine.query(
        "SELECT value FROM analytics WHERE step = 8 AND metric = 'orders'"
    )[0][0]
    assert orders_at_drift == 0  # measured: no order loaded while its batch was held


def test_a_spent_budget_blocks_fixes_but_monitoring_goes_on(tmp_path: Path) -> None:
    run = run_demo(DemoOptions(db=tmp_path / "w.duckdb", steps=11, max_fixes=0))
    summary = summary_of(run)
    assert summary["steps"] == 11
    assert summary["fixes"] == []
    assert summary["budget"]["used"] == 0
    assert summary["budget"]["refused"] > 0
    assert summary["budget"]["exhausted_at_step"] == 9
    assert summary["recovered_step"] is None
    # The reviser is consulted once per drift episode, however long the episode lasts.
    assert len(summary["revisions"]) == 1
    # Held, not lost: the drifted rows wait in quarantine for a fix.
    assert summary["rows"]["lost"] == 0
    assert summary["rows"]["quarantined"] > 4 * 1000
    refusals = [r for record in run.records for r in record.refused]
    assert all("fix budget exhausted (0/0 used)" in r.reason for r in refusals)
