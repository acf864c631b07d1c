"""pipefix in-process: what `pipefix run`, `check` and `history` do, for an orchestrator task.

from pipefix import Pipeline

with Pipeline.open("pipefix.yaml") as pipeline:
    summary = pipeline.run(steps=1)
    assert summary["rows"]["lost"] == 0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pipefix import control
from pipefix.config import LoadedConfig, load_config
from pipefix.domain.constraints import initial_constraints
from pipefix.domain.goals import Evaluation, Goal, baseline_goal, evaluate
from pipefix.domain.records import StepMetrics, StepRecord
from pipefix.engines import added_tables, judge, landing_files, store
from pipefix.engines.base import Engine
from pipefix.engines.connect import open_warehouse
from pipefix.engines.conversions import variant_figures, variant_note
from pipefix.errors import NotFoundError, PipefixError
from pipefix.report.summary import build_summary, model_summary, with_landing
from pipefix.tools import adopt, ingest, landing_survey, new_tables
from pipefix.tools.check_health import measure
from pipefix.tools.context import PipelineContext
from pipefix.tools.contract_edit import EditOutcome, reconcile
from pipefix.tools.ingest import Unready
from pipefix.tools.throughput import capacity

# Throughput is reported per nominal minute per step: a run's steps have no fixed wall-clock length.
STEP_SECONDS = 60


class PipelineNotReady(PipefixError):
    """The warehouse holds no pipefix state yet (a `check` before any `run`)."""


def _added(engine: Engine, configured: Iterable[str]) -> tuple[str, ...]:
    """Tables added from a folder in landing/ (tools/new_tables.py) that pipefix.yaml does not list."""
    if not store.has_schema(engine):
        return ()
    return tuple(t for t in added_tables.added(engine) if t not in set(configured))


def wall_clock(step: int) -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CheckResult:
    healthy: bool
    step: int
    metrics: StepMetrics
    evaluation: Evaluation
    # What a person must know to read the figures: e.g. tables judged before pipefix ran, and
    # the columns that keep `pipefix run` from adopting them.
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "step": self.step,
            "notes": list(self.notes),
            "health": self.metrics.health,
            "error_rate": self.metrics.error_rate,
            "rows_held_for_shape": self.metrics.held_for_shape,
            "max_held_share": self.metrics.max_held_share,
            "score": self.evaluation.score,
            "criteria": [
                {"criterion": str(r.criterion), "value": r.value, "met": r.met}
                for r in self.evaluation.results
            ],
            "tables": {
                t.table: {
                    "checks": t.checks,
                    "contract_version": t.contract_version,
                    "quarantine_open": t.quarantine_open,
                    "held": {"for_shape": t.held_for_shape, "for_value": t.held_for_value},
                    "received": t.received_total,
                    "held_share": round(t.held_share, 4),
                }
                for t in self.metrics.tables
            },
        }


class Pipeline:
    """A configured pipeline: its warehouse, landing folder, contracts and agent state."""

    def __init__(
        self,
        config: LoadedConfig,
        engine: Engine,
        *,
        read_only: bool = False,
        clock: Callable[[int], datetime] = wall_clock,
    ) -> None:
        self.config = config
        self.engine = engine
        self.read_only = read_only
        self.context = PipelineContext(
            engine=engine,
            # The tables pipefix.yaml lists, and those added since from a new folder in landing/.
            source_tables=(*config.config.tables, *_added(engine, config.config.tables)),
            clock=clock,
            step_seconds=STEP_SECONDS,
            max_rejected_rate=config.config.goal.error_rate,
            landing_rules=config.landing_rules(),
            csv_options=config.csv_options(),
        )
        self._contract_edits: tuple[EditOutcome, ...] | None = None
        # What a person must hear before a run: a warehouse that cannot get its unique key on
        # batch_id because overlapping runs recorded a batch twice before (nothing is removed).
        self.warnings: tuple[str, ...] = ()
        if not read_only:
            ingest.setup(self.context, config.contracts(), config.adapters())
            key_problem = store.ensure_batch_key(engine)
            self.warnings = (key_problem,) if key_problem else ()

    @classmethod
    def open(
        cls,
        config: str | Path = "pipefix.yaml",
        *,
        read_only: bool = False,
        clock: Callable[[int], datetime] = wall_clock,
        wait: float = 0.0,
    ) -> Pipeline:
        """Load and validate the config (ConfigError on a bad file), open its warehouse
        (EngineError when unreachable) and, unless read-only, create what is missing.

        Opened to write, the pipeline is held until it is closed: one run at a time, enforced by
        the warehouse (engines/run_lock.py). While another process holds it, wait up to `wait`
        seconds, then PipelineBusy names the holder (process, host, since)."""
        loaded = load_config(Path(config))
        target = loaded.warehouse()
        engine = open_warehouse(target.kind, target.url, target.path, read_only=read_only, wait=wait)
        try:
            return cls(loaded, engine, read_only=read_only, clock=clock)
        except BaseException:
            engine.close()
            raise

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.engine.close()

    def interrupt(self) -> None:
        """Stop what runs, from a signal handler or another thread: the statement running is
        cancelled and rolled back with its transaction, and nothing runs after it (`run` raises
        Interrupted). What committed stays, so the next `run` continues where this one stopped."""
        judge.interrupt(self.engine)  # first: local and instant; a PostgreSQL cancel is a round trip
        self.engine.interrupt()

    def last_step(self) -> int:
        """The last step completed in this warehouse (0 before the first)."""
        if not self.engine_has_state():
            return 0
        steps = store.recent_steps(self.engine, 1)
        return steps[-1].step if steps else 0

    @property
    def goal_config(self) -> Goal:
        goal = self.config.config.goal
        return baseline_goal(goal.health, goal.error_rate, throughput=False)

    def run(
        self,
        steps: int = 1,
        *,
        approve: bool = False,
        model: str | None = None,
        fallback: bool = False,
        llm_timeout: float = 60.0,
        resume: bool = False,
        on_step: Callable[[StepRecord], None] | None = None,
        wait_for_files: bool = True,
        on_wait: Callable[[float, list[Unready]], None] | None = None,
    ) -> dict[str, Any]:
        """Run `steps` agent steps; each first loads every batch file not loaded before.
        Continues where the last run stopped. Returns the pipeline's cumulative summary.
        `approve=True` approves every fix that a policy `approve` holds back in this run.
        `model`: "offline" (rules), "file:PATH", "PROVIDER:NAME", or None for the config's `model:`,
        else the rules (an API key in the environment never picks a model; the mode line mentions
        it); raises ModelUnavailable unless `fallback` lets the rules plan.
        `wait_for_files`: when every batch file waiting to be read is still settling (modified
        less than `landing.settle` ago), wait once for them (at most that long; `on_wait` hears
        how long and which files) rather than run a step that reads nothing."""
        from pipefix.agent.deps import AgentDeps
        from pipefix.agent.graph import initial_state, resumed_state
        from pipefix.agent.runner import run_agent
        from pipefix.planners.select import choose

        if self.read_only:
            raise PipelineNotReady("this pipeline was opened read-only")
        self.apply_contract_edits()
        max_fixes = self.config.config.budget.max_fixes
        self.deciders = choose(
            model if model is not None else self.config.model_spec(),
            fallback=fallback,
            timeout=llm_timeout,
            audit=lambda step, kind, payload: store.audit(self.engine, step, kind, payload),
            tables=self.context.tables,
        )
        deps = AgentDeps(
            pipeline=self.context,
            landing=self.config.landing_dir(),
            planner=self.deciders.planner,
            reviser=self.deciders.reviser,
            evolver=self.deciders.evolver,
            on_step=on_step or (lambda record: None),
            policies=self.config.config.policies.model_dump(),
            auto_approve=approve,
        )
        if self.config.config.alerts:
            from pipefix.notify.dispatch import Alerter

            alerter = Alerter(self.engine, self.config.config.alerts, self.config.folder.name)
            deps.after_step = alerter.after_step
        if wait_for_files:
            self._wait_for_settling(on_wait)
        # Every run continues from the last completed step (a step cut short is finished from
        # its journal); `resume` continues a run that was killed from its last LangGraph
        # checkpoint, with its own step count and fix budget.
        final = run_agent(
            deps,
            lambda: (
                resumed_state(deps, steps, max_fixes, after_crash=resume)
                or initial_state(deps, self.goal_config, initial_constraints(max_fixes), steps)
            ),
            resume=resume,
        )
        assert final is not None
        summary = self.summary(final["stop_reason"])
        summary["model"] = model_summary(self.deciders.session)
        return summary

    def _wait_for_settling(self, on_wait: Callable[[float, list[Unready]], None] | None) -> None:
        seconds, files = ingest.settle_wait(self.context, self.config.landing_dir())
        if seconds > 0:
            if on_wait is not None:
                on_wait(seconds, files)
            time.sleep(seconds + 0.1)  # past the quiet time, whatever the mtime's precision

    def not_ready(self) -> list[Unready]:
        """Batch files not read yet: still being written, waiting for their folder's _SUCCESS, or
        ready but queued behind the step's capacity."""
        landing = self.config.landing_dir()
        found = [(table, ingest.scan(self.context, landing, table)) for table in self.context.source_tables]
        limit = capacity(self.context)
        return [u for table, scan in found for u in (*scan.unready, *ingest.queued(table, scan.ready, limit))]

    def apply_contract_edits(self) -> tuple[EditOutcome, ...]:
        """Take up the edits of the contracts in pipefix.yaml since it was last applied (once per
        opened pipeline; `run` does it first): a widening edit becomes a new contract version and
        the table's held rows are replayed; one that would narrow or drop is refused with the file,
        line and reason, and the active contract stays. Returns what became of each edited table."""
        if self.read_only:
            raise PipelineNotReady("this pipeline was opened read-only")
        if self._contract_edits is None:
            last = store.recent_steps(self.engine, 1)
            step = last[-1].step + 1 if last else 1
            self._contract_edits = reconcile(self.context, self.config.contracts(), self.config.where, step)
        return self._contract_edits

    def summary(self, stop_reason: str = "") -> dict[str, Any]:
        """The same summary object as `pipefix demo --json`, over the pipeline's whole life."""
        state = store.load_agent_state(self.engine)
        goal = store.latest_goal(self.engine) or self.goal_config
        constraints = state[0] if state else initial_constraints(self.config.config.budget.max_fixes)
        goal_config = self.config.config.goal
        summary = build_summary(
            self.context,
            store.all_steps(self.engine),
            goal,
            constraints,
            stop_reason,
            health_target=goal_config.health,
            error_target=goal_config.error_rate,
        )
        summary["warehouse"] = self.config.redacted_warehouse()
        summary["contract_edits"] = [edit.as_dict() for edit in self._contract_edits or ()]
        if self.engine_has_state():
            summary["landing"]["not_ready"] = [u.as_dict() for u in self.not_ready()]
            reported = landing_survey.survey(self.context, self.config.landing_dir())
            with_landing(summary, reported, len(landing_survey.read_files(self.context)))
            policies = self.config.config.policies.model_dump()
            summary["new_tables"] = new_tables.status(
                self.context, reported, policies, list(self.config.config.tables)
            )
        return summary

    def check(self, *, full: bool = False) -> CheckResult:
        """Health now, from the warehouse, without loading or repairing anything. Reads only the
        rows loaded since the last run saved its figures; `full=True` rescans every table.
        Before pipefix ever ran here, the tables another tool loaded are judged against their
        contracts (read-only, nothing is created)."""
        if not self.engine_has_state():
            existing = adopt.measure_existing(self.context, self.config.contracts())
            if existing is not None:
                judged = evaluate(self.goal_config, existing.metrics.as_signals())
                return CheckResult(judged.all_met, 0, existing.metrics, judged, existing.notes)
            raise PipelineNotReady(
                f"{self.config.redacted_warehouse()} holds no pipefix pipeline yet: run `pipefix run` first"
            )
        steps = store.recent_steps(self.engine, 1)
        step = steps[-1].step if steps else 0
        metrics = measure(self.context, step, read_only=True, full=full)
        evaluation = evaluate(self.goal_config, metrics.as_signals())
        # A table with a variant loads what no conversion can type: healthy, but a person should know.
        notes = tuple(variant_note(f) for f in variant_figures(self.engine, self.context.source_tables))
        return CheckResult(evaluation.all_met, step, metrics, evaluation, notes)

    def engine_has_state(self) -> bool:
        return store.has_schema(self.engine)

    def decide(self, decision_id: int, approve: bool) -> str:
        """Settle a fix waiting for a person; the next run applies an approved one."""
        status = "approved" if approve else "rejected"
        waiting = next((d for d in self.decisions() if d["id"] == decision_id), None)
        if waiting is not None and waiting["fix_type"] == "repair_needed":
            # Nothing to approve: no repair was proposed. It closes when the rows load.
            raise PipelineNotReady(
                f"decision {decision_id} is rows waiting on {waiting['table']}, not a fix to approve: "
                f"{waiting['drift']}. Change the contract in pipefix.yaml or fix the producer; "
                "it closes by itself once the rows load"
            )
        try:
            table, fix_type, before = store.decide(self.engine, decision_id, status, "pipefix cli")
        except NotFoundError as error:
            raise PipelineNotReady(str(error)) from error
        if before == "superseded":  # what it showed is no longer what would be applied
            store.decide(self.engine, decision_id, before, "pipefix: superseded by a newer proposal")
            newer = store.find_decision(self.engine, table, fix_type, 0)
            raise PipelineNotReady(
                f"decision {decision_id} ({fix_type} on {table}) was superseded: its proposal changed "
                f"since it was shown; decide on decision {newer[0] if newer else 'the next run opens'}"
            )
        if before != "pending":
            return f"decision {decision_id} ({fix_type} on {table}) was already {before}; now {status}"
        return f"decision {decision_id}: {fix_type} on {table} {status}; the next `pipefix run` applies it"

    def decisions(self) -> list[dict[str, Any]]:
        return store.decisions(self.engine) if self.engine_has_state() else []

    def history(self) -> list[dict[str, Any]]:
        """The audit trail: goal versions, fixes and refusals, constraint changes, with evidence."""
        if not self.engine_has_state():
            return []
        entries = store.history(self.engine) + landing_files.history_entries(self.engine)
        return sorted(entries, key=lambda e: int(e["step"]))

    # --- the user in control: control.py; `pipefix quarantine | replay | rollback | adapters` ---

    def require_state(self, *, writes: bool = False) -> None:
        """PipelineNotReady unless a run has left state to act on (and, to write, not read-only)."""
        if writes and self.read_only:
            raise PipelineNotReady("this pipeline was opened read-only")
        if not self.engine_has_state() or not store.recent_steps(self.engine, 1):
            raise PipelineNotReady(
                f"{self.config.redacted_warehouse()} holds no pipefix pipeline yet: run `pipefix run` first"
            )

    def quarantine(self, table: str | None = None, *, samples: int = 3) -> control.HeldView:
        """Rows still held, grouped by table, kind (schema, value, malformed) and reason, with up to
        `samples` rows each (raw text, batch, line). Read-only."""
        self.require_state(writes=False)
        return control.held(self.context, table, samples)

    def replay(self, table: str, *, by: str = "") -> control.ReplayResult:
        """Judge the table's held rows again against its contract and adapter now; load those that
        fit. Audited as a person's action (`by`); raises control.ActionRefused if rows would be lost."""
        self.require_state(writes=True)
        return control.replay(self.context, table, by or control.who("pipefix api"))

    def rollback(self, table: str, to: int, *, by: str = "") -> control.RollbackResult:
        """Roll the table's contract (and adapter) back to an earlier version `to`; columns that hold
        values stay, every row stays. control.UnknownTarget when `to` is not an earlier version."""
        self.require_state(writes=True)
        return control.rollback(self.context, table, to, by or control.who("pipefix api"))

    def adapters(self, table: str | None = None) -> list[control.ActiveTransform]:
        """The transforms of the active adapters (of one table, if given). Read-only."""
        self.require_state(writes=False)
        return control.adapters(self.context, table)

    def remove_adapter(self, table: str, column: str, *, by: str = "") -> control.AdapterRemoval:
        """Take `column`'s transform out of the table's adapter; rows loaded through it stay loaded."""
        self.require_state(writes=True)
        return control.remove_adapter(self.context, table, column, by or control.who("pipefix api"))
