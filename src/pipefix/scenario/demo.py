"""Assemble and run the "Data Pipeline Fixer" demo on a DuckDB file."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipefix.domain.constraints import Constraint, initial_constraints
from pipefix.domain.goals import Goal, baseline_goal
from pipefix.domain.records import StepRecord
from pipefix.engines import store
from pipefix.engines.base import EngineError
from pipefix.engines.connect import open_demo_warehouse
from pipefix.engines.derived import DerivedMetric
from pipefix.engines.store import ensure_schema, latest_contract_version
from pipefix.errors import PipefixError
from pipefix.planners.models import ModelUnavailable
from pipefix.planners.select import Deciders, choose
from pipefix.scenario.producer import Producer
from pipefix.scenario.tables import (
    DERIVED_TABLE,
    SOURCE_TABLES,
    STEP_SECONDS,
    logical_now,
    v1_contracts,
)
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext

ANALYTICS = (
    DerivedMetric("orders", "orders", "count"),
    DerivedMetric("units_sold", "orders", "sum", "quantity"),
    DerivedMetric("events", "events", "count"),
    DerivedMetric("active_users", "events", "count_distinct", "user_id"),
)


class DemoError(PipefixError):
    """A demo that cannot start, with a message for the user."""


@dataclass
class DemoOptions:
    db: Path | None = None
    warehouse: str | None = None  # spark://local[N] or sc://host:port; None: DuckDB in --db
    steps: int = 25
    seed: int = 7
    drift_step: int = 8
    max_fixes: int = 15
    revise_threshold: float = -0.3
    health_target: float = 0.95
    error_target: float = 0.02
    model: str | None = None  # None: nobody chose, the rules plan (a provider key is only mentioned)
    fallback: bool = False  # may the offline planner take a step the model could not?
    llm_timeout: float = 60.0
    resume: bool = False  # continue a demo killed part-way, from its last completed step


@dataclass
class DemoRun:
    db_path: Path
    landing: Path
    options: DemoOptions
    pipeline: PipelineContext
    goal: Goal
    constraints: tuple[Constraint, ...]
    deciders: Deciders
    records: list[StepRecord] = field(default_factory=list)
    final_state: dict[str, Any] = field(default_factory=dict)


def prepare(options: DemoOptions) -> DemoRun:
    """Open the warehouse, create the 8 tables at contract v1.0, and set goal and constraints."""
    if options.db is None:
        db_path = Path(tempfile.mkdtemp(prefix="pipefix-demo-")) / "pipeline.duckdb"
    else:
        db_path = options.db.expanduser().resolve()
        if not db_path.parent.is_dir():
            raise DemoError(f"folder {db_path.parent} does not exist")
    try:
        engine = open_demo_warehouse(options.warehouse, db_path)
    except EngineError as error:
        raise DemoError(str(error)) from error
    ensure_schema(engine)
    if latest_contract_version(engine, "orders") > 0 and not options.resume:
        engine.close()
        raise DemoError(
            f"{db_path} already holds a pipefix demo; pass --resume to continue it, another --db path, "
            "or remove the file"
        )
    landing = db_path.parent / f"{db_path.stem}-landing"
    if not options.resume and landing.is_dir() and any(landing.iterdir()):
        engine.close()
        raise DemoError(
            f"{landing} already holds batch files from an earlier demo; remove it or pick another --db"
        )
    ctx = PipelineContext(
        engine=engine,
        source_tables=SOURCE_TABLES,
        clock=logical_now,
        step_seconds=STEP_SECONDS,
        derived={DERIVED_TABLE: ANALYTICS},
        max_rejected_rate=options.error_target,
    )
    ingest.setup(ctx, v1_contracts())
    try:
        deciders = choose(
            options.model,
            fallback=options.fallback,
            timeout=options.llm_timeout,
            audit=lambda step, kind, payload: store.audit(engine, step, kind, payload),
            tables=(*SOURCE_TABLES, DERIVED_TABLE),
        )
    except ModelUnavailable as error:
        engine.close()
        raise DemoError(str(error)) from error
    return DemoRun(
        db_path=db_path,
        landing=landing,
        options=options,
        pipeline=ctx,
        goal=baseline_goal(options.health_target, options.error_target),
        constraints=initial_constraints(options.max_fixes),
        deciders=deciders,
    )


def execute(run: DemoRun, on_step: Callable[[StepRecord], None] | None = None) -> DemoRun:
    """Run the agent for the configured steps; the producer writes each step's batches first."""
    # LangGraph is imported here, not at module import: `pipefix --help` stays fast.
    from pipefix.agent.deps import AgentDeps
    from pipefix.agent.graph import AgentState, initial_state, resumed_state
    from pipefix.agent.runner import run_agent

    options = run.options
    producer = Producer(run.landing, seed=options.seed, drift_step=options.drift_step)

    def record(step_record: StepRecord) -> None:
        run.records.append(step_record)
        if on_step is not None:
            on_step(step_record)

    deps = AgentDeps(
        pipeline=run.pipeline,
        landing=run.landing,
        planner=run.deciders.planner,
        reviser=run.deciders.reviser,
        evolver=run.deciders.evolver,
        before_step=producer.write_step,
        on_step=record,
        revise_threshold=options.revise_threshold,
    )

    def start() -> AgentState | None:
        done = store.recent_steps(run.pipeline.engine, 1)
        remaining = options.steps - (done[-1].step if done else 0)
        if remaining <= 0:
            return None
        if options.resume and (state := resumed_state(deps, remaining, options.max_fixes, after_crash=True)):
            return state
        return initial_state(deps, run.goal, run.constraints, options.steps)

    final = run_agent(deps, start, resume=options.resume)
    if final is None:  # every step was done already (a run killed after its last step resumes)
        engine = run.pipeline.engine
        saved = store.load_agent_state(engine)
        final = {
            "stop_reason": f"completed {options.steps} steps",
            "goal": store.latest_goal(engine) or run.goal,
            "constraints": saved[0] if saved else run.constraints,
        }
    run.final_state = final
    run.records = store.all_steps(run.pipeline.engine)  # the whole run, not only this process's part
    return run


def run_demo(options: DemoOptions, on_step: Callable[[StepRecord], None] | None = None) -> DemoRun:
    return execute(prepare(options), on_step)
