"""The reference scenario on Spark (`pipefix demo --warehouse spark://local[2]`): the same drift
(moved earlier, for time), the same repair, every number counted in Spark's tables — and no row
lost."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.cli import main
from pipefix.engines import store
from pipefix.engines.spark import SparkEngine
from pipefix.scenario.demo import DemoOptions, DemoRun, run_demo
from pipefix.scenario.tables import SOURCE_TABLES
from tests.demo_checks import batch_lines, destructive_statements, rows_add_up, summary_of

pytestmark = pytest.mark.slow

# The whole story at Spark's pace: three routine steps (the throughput baseline), the producer's
# move to v2.0, the repair, a healthy step after it.
DRIFT, STEPS = 4, 6


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo-spark")
    options = DemoOptions(
        db=folder / "pipeline.duckdb", warehouse="spark://local[2]", steps=STEPS, drift_step=DRIFT
    )
    return run_demo(options)


@pytest.fixture(scope="module")
def summary(demo: DemoRun) -> dict[str, Any]:
    return summary_of(demo)


def test_the_demo_ran_on_spark(demo: DemoRun) -> None:
    engine = demo.pipeline.engine
    assert isinstance(engine, SparkEngine)
    assert engine.active_version("orders").startswith("orders__v")
    assert Path(engine.warehouse_dir, "orders").is_dir()  # Parquet files of the table's versions


def test_the_demo_recovers_from_the_drift(summary: dict[str, Any]) -> None:
    assert summary["steps"] == STEPS
    assert summary["drift_step"] == DRIFT
    assert summary["recovered_step"] is not None
    assert summary["recovered_step"] <= STEPS
    assert summary["final"]["health"] >= 0.95
    assert summary["final"]["error_rate"] < 0.02
    assert len(summary["revisions"]) == 1


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
    placed: dict[str, int] = {}
    for table in SOURCE_TABLES:
        in_spark = engine.query(f"SELECT _pipefix_batch, count(*) FROM {table} GROUP BY 1")
        held = engine.query(
            f"SELECT batch_id, count(*) FROM {store.SCHEMA}.quarantine "
            "WHERE table_name = ? AND replayed_step IS NULL GROUP BY 1",
            (table,),
        )
        for batch, count in [*in_spark, *held]:
            name = batch.split("@")[0]  # batch ids are "<table>/<file>@<content hash>"
            placed[name] = placed.get(name, 0) + int(count)
    assert placed == batch_lines(demo.landing)


def test_money_is_exact_after_the_repair(demo: DemoRun) -> None:
    sent = Decimal(0)
    for path in sorted(demo.landing.glob("orders/batch-*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line, parse_float=Decimal)
            if "price" in row and row["price"] >= 0:
                sent += row["price"]
    assert demo.pipeline.engine.query("SELECT sum(price) FROM orders WHERE price IS NOT NULL")[0][0] == sent


def test_contracts_moved_to_v2_and_kept_the_v1_columns(demo: DemoRun) -> None:
    contracts = store.active_contracts(demo.pipeline.engine)
    assert (contracts["orders"].version, contracts["events"].version) == (2, 2)
    assert {"price_usd", "price", "currency_code"} <= set(demo.pipeline.engine.table_columns("orders"))


def test_nothing_destructive_ran(demo: DemoRun) -> None:
    assert destructive_statements(demo.pipeline.engine.statement_log) == []


def test_analytics_is_derived_every_step(demo: DemoRun) -> None:
    rows = demo.pipeline.engine.query("SELECT step, count(*) FROM analytics GROUP BY 1 ORDER BY 1")
    assert [step for step, _ in rows] == list(range(1, STEPS + 1))


# Last in this module: it closes the demo's warehouse, as the demo command does before a report.
def test_the_report_reads_the_spark_warehouse(demo: DemoRun, summary: dict[str, Any], tmp_path: Path) -> None:
    demo.pipeline.engine.close()
    out = tmp_path / "report.html"
    args = ["report", "--db", str(demo.db_path), "--warehouse", "spark://local[2]", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "spark://local[2]" in page
    assert f"{summary['rows']['received']:,}" in page
    alone = CliRunner().invoke(main, ["report", "--warehouse", "spark://local[2]", "-o", str(out)])
    assert alone.exit_code == 2
    assert "--warehouse needs the --db the demo ran with" in alone.output
