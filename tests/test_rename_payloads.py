"""Renames on real payloads: v1 -> v2 scenarios built from API responses kept in open-source
projects' test data (tests/data/payloads/renames/scenarios.yaml; origins in the payloads README),
each run through the agent on DuckDB and PostgreSQL and held to its expected outcome: the verdict
on the (removed, added) pair, the adapter, the values stored under each name, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipefix.api import Pipeline
from pipefix.tools.run_diagnostic import latest_diagnosis
from tests.test_drift_kinds import clock, query, run, state, write_batch

RENAMES = Path(__file__).parent / "data" / "payloads" / "renames"
SCENARIOS: dict[str, dict[str, Any]] = yaml.safe_load((RENAMES / "scenarios.yaml").read_text())


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return "duckdb:///warehouse.duckdb"


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_real_payload_scenario_ends_as_expected(tmp_path: Path, warehouse: str, name: str) -> None:
    scenario = SCENARIOS[name]
    config = tmp_path / "pipefix.yaml"
    settings = {
        "warehouse": warehouse,
        "landing": "landing",
        "tables": scenario["tables"],
        "budget": {"max_fixes": 15},
        "goal": {"health": 0.95, "error_rate": 0.02},
    }
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    sent = 0
    for step, files in enumerate(scenario["steps"], 1):
        for file in files:
            batch = records(RENAMES / file)
            write_batch(config, Path(file).stem.split("-")[0], f"{step:03d}-{Path(file).name}", batch)
            sent += len(batch)
        run(config)
    run(config)
    summary = run(config)  # diagnosed at the last step above, repaired here
    rows = summary["rows"]
    assert (rows["received"], rows["loaded"], rows["lost"], rows["duplicated"]) == (sent, sent, 0, 0)

    expect = scenario["expect"]
    table = expect["table"]
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        diagnosis = latest_diagnosis(pipeline.context, table)
    assert diagnosis is not None
    (evidence,) = [e for e in diagnosis.renames if [e.old, e.new] == expect["pair"]]
    assert evidence.verdict == expect["verdict"], evidence.summary()
    if "why" in expect:
        assert evidence.why == expect["why"]
    if "reference" in expect:
        assert (evidence.reference, evidence.reference_share) == (expect["reference"], 1.0)
    assert state(config, table)[1] == expect["transforms"]
    columns = ", ".join(f'count("{c}")' for c in expect["stored"])
    assert query(config, f"SELECT {columns} FROM {table}") == [tuple(expect["stored"].values())]
