"""The loop's LangGraph checkpoints: exact round-trips of the agent state, refusal of anything
but pipefix's own types, and a run cut short that `resume` continues from its last checkpoint
(a SQLite file beside DuckDB; the warehouse's `pipefix` schema on PostgreSQL)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipefix.agent.checkpoint_serde import CheckpointError, StateSerializer
from pipefix.api import Pipeline
from pipefix.domain.records import StepRecord
from pipefix.engines import store
from pipefix.engines.checkpoints import checkpoint_file
from pipefix.scenario.demo import DemoOptions, run_demo
from tests.test_drift_kinds import AMOUNT, clock, iso, make_project, write_batch


@pytest.fixture(params=["duckdb", "postgres"])
def new_warehouse(request: pytest.FixtureRequest) -> Callable[[], str]:
    if request.param == "postgres":
        create: Callable[[], str] = request.getfixturevalue("pg_database")
        return create
    return lambda: "duckdb:///warehouse.duckdb"


def test_a_demo_state_round_trips_exactly(tmp_path: Path) -> None:
    run = run_demo(DemoOptions(db=tmp_path / "demo.duckdb", steps=9, drift_step=8))
    serde = StateSerializer()
    state = {key: value for key, value in run.final_state.items() if key != "stop_reason"}
    assert any(record.revision for record in state["history"])  # the drift step's revision is in it
    loaded = serde.loads_typed(serde.dumps_typed(state))
    assert loaded == state
    assert isinstance(loaded["constraints"], tuple)
    assert hash(loaded["constraints"]) == hash(state["constraints"])  # frozen dataclasses, tuples kept
    assert checkpoint_file(tmp_path / "demo.duckdb").is_file()


@pytest.mark.parametrize(
    "name", ["os:system", "builtins:eval", "pipefix.engines.duckdb:DuckDBEngine", "pipefix.domain:nothing"]
)
def test_a_checkpoint_naming_anything_but_a_pipefix_value_type_is_refused(name: str) -> None:
    payload = json.dumps({"$pipefix": name, "value": {"path": ":memory:"}}).encode()
    with pytest.raises(CheckpointError):
        StateSerializer().loads_typed(("pipefix-json", payload))


class Interrupted(RuntimeError):
    pass


def rows(config: Path) -> dict[str, Any]:
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        engine = pipeline.engine
        return {
            "items": sorted(tuple(r) for r in engine.query("SELECT id, amount FROM items")),
            "steps": [r.step for r in store.all_steps(engine)],
            "goals": engine.query("SELECT version, step FROM pipefix.goals ORDER BY version"),
            "quarantine": engine.query("SELECT count(*) FROM pipefix.quarantine")[0][0],
        }


def thread_of(config: Path) -> str:
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        return store.get_setting(pipeline.engine, "agent.thread", "")


def project_with_batches(tmp_path: Path, warehouse: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = make_project(tmp_path, warehouse, "items", amount=AMOUNT)
    batch = [{"id": i, "amount": f"{i}.25", "created_at": iso(i)} for i in range(1, 41)]
    batch.append({"id": 99, "amount": "1.255", "created_at": iso(1)})  # held: not a decimal(12,2)
    write_batch(config, "items", "b1.jsonl", batch)
    return config


def test_a_run_cut_short_resumes_from_its_checkpoint(
    tmp_path: Path, new_warehouse: Callable[[], str]
) -> None:
    reference = project_with_batches(tmp_path / "reference", new_warehouse())
    with Pipeline.open(reference, clock=clock) as pipeline:
        pipeline.run(4)
    expected = rows(reference)

    config = project_with_batches(tmp_path / "cut", new_warehouse())
    seen: list[int] = []

    def die_after_step_2(record: StepRecord) -> None:
        seen.append(record.step)
        if record.step == 2:
            raise Interrupted("the process died here")

    with Pipeline.open(config, clock=clock) as pipeline, pytest.raises(Interrupted):
        pipeline.run(4, on_step=die_after_step_2)
    thread = thread_of(config)
    assert thread.startswith("run-")

    resumed: list[int] = []
    with Pipeline.open(config, clock=clock) as pipeline:
        summary = pipeline.run(4, resume=True, on_step=lambda record: resumed.append(record.step))
    # The killed run's own thread went on from the transition of step 2: no step ran twice,
    # and the run stopped at its own end (4), not 4 steps later.
    assert thread_of(config) == thread
    assert seen == [1, 2]
    assert resumed == [2, 3, 4]
    assert rows(config) == expected
    assert summary["rows"]["lost"] == 0


def test_checkpoints_live_beside_duckdb_and_in_the_postgres_schema(tmp_path: Path, pg_url: str) -> None:
    duck = project_with_batches(tmp_path / "duck", "duckdb:///warehouse.duckdb")
    with Pipeline.open(duck, clock=clock) as pipeline:
        pipeline.run(2)
    with sqlite3.connect(tmp_path / "duck" / "warehouse.checkpoints.sqlite") as sqlite:
        threads = sqlite.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
    assert threads == [(thread_of(duck),)]

    postgres = project_with_batches(tmp_path / "pg", pg_url)
    with Pipeline.open(postgres, clock=clock) as pipeline:
        pipeline.run(2)
        first = store.get_setting(pipeline.engine, "agent.thread", "")
        pipeline.run(1)  # a new run: the finished run's checkpoints are let go
        second = store.get_setting(pipeline.engine, "agent.thread", "")
        stored = pipeline.engine.query("SELECT DISTINCT thread_id FROM pipefix.checkpoints")
    assert first != second
    assert stored == [(second,)]
