"""The loop perceive -> evaluate -> revise -> [evolve] -> plan -> filter -> act -> transition,
as a LangGraph StateGraph. Nodes are thin: each calls into tools/ and planners/."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from pipefix.agent.deps import AgentDeps
from pipefix.domain.actions import ActionResult, FixType, Plan
from pipefix.domain.constraints import (
    Constraint,
    ConstraintChange,
    ConstraintKind,
    FilterResult,
    PlanContext,
    apply_changes,
    filter_plan,
)
from pipefix.domain.goals import Evaluation, Goal, evaluate
from pipefix.domain.records import (
    ROWS_WAITING_NEW_TABLES,
    FileNote,
    Revision,
    StepJournal,
    StepMetrics,
    StepRecord,
    Waiting,
)
from pipefix.domain.serde import to_json
from pipefix.engines import store
from pipefix.planners.view import PlanningView
from pipefix.tools import ingest, new_tables
from pipefix.tools.approvals import policy_gates
from pipefix.tools.check_health import measure
from pipefix.tools.registry import as_recorded, execute_once
from pipefix.tools.run_diagnostic import latest_diagnoses
from pipefix.tools.waiting import record_waits


class AgentState(TypedDict, total=False):
    step: int
    max_steps: int
    goal: Goal
    constraints: tuple[Constraint, ...]
    fixes_used: int
    episode_open: bool
    history: tuple[StepRecord, ...]
    metrics: StepMetrics
    evaluation: Evaluation
    revision: Revision | None
    changes: tuple[ConstraintChange, ...]
    plan: Plan | None
    filtered: FilterResult | None
    results: tuple[ActionResult, ...]
    waiting: tuple[Waiting, ...]
    files: tuple[FileNote, ...]
    stop_reason: str
    journaled: bool


def build_graph(deps: AgentDeps, checkpointer: Any = None) -> Any:
    """The compiled loop; with a checkpointer, LangGraph saves the state after every node."""
    ctx = deps.pipeline

    # What the view reads from the warehouse and the landing folder, once per step: revise and
    # plan both build a view, and nothing between them changes a diagnosis or a file.
    read: dict[int, tuple[dict[str, Any], int]] = {}

    def view(state: AgentState) -> PlanningView:
        step = state["step"]
        if step not in read:
            read.clear()
            read[step] = (
                latest_diagnoses(ctx, ctx.tables),
                sum(len(ingest.pending_files(ctx, deps.landing, t)) for t in ctx.source_tables),
            )
        diagnoses, backlog = read[step]
        return PlanningView(
            step=step,
            goal=state["goal"],
            evaluation=state["evaluation"],
            metrics=state["metrics"],
            constraints=state["constraints"],
            fixes_used=state["fixes_used"],
            diagnoses=diagnoses,
            history=state["history"],
            backlog_files=backlog,
        )

    def perceive(state: AgentState) -> dict[str, Any]:
        step = state["step"]
        journal = store.load_journal(ctx.engine, step)
        if journal is not None:
            # Re-run after a crash: act on what this step already decided.
            return {
                "metrics": journal.metrics,
                "evaluation": journal.evaluation,
                "goal": journal.goal,
                "revision": journal.revision,
                "changes": journal.changes,
                "constraints": journal.constraints,
                "episode_open": journal.episode_open,
                "plan": journal.plan,
                "filtered": FilterResult(journal.plan, journal.refused, journal.amendments),
                "results": (),
                "waiting": (),
                "files": (),
                "journaled": True,
            }
        deps.before_step(step)
        ingested = ingest.ingest(ctx, deps.landing, step)
        # Folders of tables no contract names: drift of the pipeline, each with a proposal.
        added = new_tables.propose(ctx, deps.landing, ingested.reported, step)
        return {
            "files": ingested.notes(),
            "journaled": False,
            "metrics": replace(measure(ctx, step), new_tables=added),
            "revision": None,
            "changes": (),
            "plan": None,
            "filtered": None,
            "results": (),
            "waiting": (),
        }

    def evaluate_node(state: AgentState) -> dict[str, Any]:
        return {"evaluation": evaluate(state["goal"], state["metrics"].as_signals())}

    def revise(state: AgentState) -> dict[str, Any]:
        # A new table's records wait for a person (approve, reject, pipefix.yaml), not for the
        # agent: an episode opened or kept open only by them does not keep a drift from revising.
        unmet = [r for r in state["evaluation"].unmet if r.criterion.metric != ROWS_WAITING_NEW_TABLES]
        new_tables = {t.table for t in state["metrics"].new_tables}
        if state["episode_open"]:
            if not unmet:
                return {"episode_open": False}
            focus = set(state["goal"].focus_tables)
            if not focus or not focus <= new_tables:  # opened for a drift: it ends when repaired
                return {}
        revision = deps.reviser.revise(view(state), deps.revise_threshold)
        if revision is None:
            return {}
        with ctx.engine.transaction():
            _save_goal(deps, revision.to_goal, state["step"], revision.reason, revision.evidence)
        # The step keeps the evaluation that triggered the revision; the new goal is judged
        # from the next step on.
        return {"goal": revision.to_goal, "revision": revision, "episode_open": True}

    def evolve(state: AgentState) -> dict[str, Any]:
        window = (*state["history"][-(deps.evolve_every - 1) :], _record(state))
        changes = deps.evolver.evolve(state["step"], window, state["constraints"])
        for change in changes:
            store.audit(
                ctx.engine,
                state["step"],
                f"constraint_{change.change}",
                {
                    "constraint": change.constraint.name,
                    "description": change.constraint.description,
                    "reason": change.reason,
                },
            )
        return {"changes": changes, "constraints": apply_changes(state["constraints"], changes)}

    def plan(state: AgentState) -> dict[str, Any]:
        return {"plan": deps.planner.plan(view(state))}

    def filter_node(state: AgentState) -> dict[str, Any]:
        plan_ = state["plan"]
        assert plan_ is not None
        gates = policy_gates(ctx, deps.policies, deps.auto_approve, plan_.actions, state["step"])
        proposed = {t.table for t in state["metrics"].new_tables}
        context = PlanContext(state["step"], state["fixes_used"], frozenset(ctx.tables) | proposed, gates)
        filtered = filter_plan(plan_, state["constraints"], context)
        store.save_journal(
            ctx.engine,
            StepJournal(
                state["step"],
                state["metrics"],
                state["evaluation"],
                state["goal"],
                state.get("revision"),
                state.get("changes", ()),
                state["constraints"],
                state["episode_open"],
                filtered.plan,
                filtered.refused,
                filtered.amendments,
            ),
        )
        for refusal in filtered.refused:
            store.audit(
                ctx.engine,
                state["step"],
                "refused",
                {
                    "action": str(refusal.action),
                    "constraint": refusal.constraint,
                    "reason": refusal.reason,
                },
            )
        return {"filtered": filtered}

    def act(state: AgentState) -> dict[str, Any]:
        filtered = state["filtered"]
        assert filtered is not None
        results = []
        fixes = state["fixes_used"]
        for index, action in enumerate(filtered.plan.actions):
            result = execute_once(ctx, action, state["step"], index, state["metrics"], state["constraints"])
            results.append(result)
            fixes += int(action.is_fix)
            if action.is_fix and not result.ok:
                break  # later actions of the plan assumed this one worked
        # A table added this step loads its files now, each exactly once (the loader's ledger).
        added = tuple(r.action.target for r in results if r.ok and r.action.fix_type == FixType.ADD_TABLE)
        if added:
            ingest.load_tables(ctx, deps.landing, state["step"], added)
        with ctx.engine.transaction():
            waiting = record_waits(ctx, state["step"], state["metrics"], filtered.plan, filtered.refused)
        # A change a later replay judged failed (and undid) reads failed, as the ledger says.
        recorded = as_recorded(ctx, state["step"], results)
        return {"results": recorded, "fixes_used": fixes, "waiting": waiting}

    def transition(state: AgentState) -> dict[str, Any]:
        record = _record(state)
        with ctx.engine.transaction():
            store.save_step(ctx.engine, record.step, to_json(record))
            store.save_agent_state(
                ctx.engine, state["constraints"], state["episode_open"], state["fixes_used"]
            )
        deps.on_step(record)
        deps.after_step(record, state["history"][-1] if state["history"] else None)
        # The planner and the evolver look a few steps back, no further.
        update: dict[str, Any] = {"history": (*state["history"][-5:], record), "step": state["step"] + 1}
        if state["step"] >= state["max_steps"]:
            update["stop_reason"] = f"completed {state['max_steps']} steps"
        return update

    def after_perceive(state: AgentState) -> str:
        return "act" if state.get("journaled") else "evaluate"

    def after_revise(state: AgentState) -> str:
        return "evolve" if state["step"] % deps.evolve_every == 0 else "plan"

    def after_transition(state: AgentState) -> str:
        return END if state.get("stop_reason") else "perceive"

    graph = StateGraph(AgentState)
    graph.add_node("perceive", perceive)
    graph.add_node("evaluate", evaluate_node)
    graph.add_node("revise", revise)
    graph.add_node("evolve", evolve)
    graph.add_node("plan", plan)
    graph.add_node("filter", filter_node)
    graph.add_node("act", act)
    graph.add_node("transition", transition)
    graph.add_edge(START, "perceive")
    graph.add_conditional_edges("perceive", after_perceive, ["evaluate", "act"])
    graph.add_edge("evaluate", "revise")
    graph.add_conditional_edges("revise", after_revise, ["evolve", "plan"])
    graph.add_edge("evolve", "plan")
    graph.add_edge("plan", "filter")
    graph.add_edge("filter", "act")
    graph.add_edge("act", "transition")
    graph.add_conditional_edges("transition", after_transition, ["perceive", END])
    return graph.compile(checkpointer=checkpointer)


def _record(state: AgentState) -> StepRecord:
    filtered = state.get("filtered")
    revision = state.get("revision")
    return StepRecord(
        step=state["step"],
        metrics=state["metrics"],
        evaluation=state["evaluation"],
        goal_version=state["goal"].version,
        revision=revision,
        plan=filtered.plan if filtered else state.get("plan"),
        refused=filtered.refused if filtered else (),
        amendments=filtered.amendments if filtered else (),
        results=state.get("results", ()),
        constraint_changes=state.get("changes", ()),
        waiting=state.get("waiting", ()),
        files=state.get("files", ()),
    )


def _save_goal(deps: AgentDeps, goal: Goal, step: int, reason: str, evidence: dict[str, list[str]]) -> None:
    store.save_goal(
        deps.pipeline.engine,
        goal.version,
        step,
        goal.description,
        to_json(goal),
        reason,
        to_json(evidence),
    )


def initial_state(deps: AgentDeps, goal: Goal, constraints: tuple[Constraint, ...], steps: int) -> AgentState:
    """A new pipeline's first run: record the initial goal and constraints."""
    _save_goal(deps, goal, 0, "initial goal", {})
    for constraint in constraints:
        store.audit(
            deps.pipeline.engine,
            0,
            "constraint_initial",
            {"constraint": constraint.name, "description": constraint.description},
        )
    return AgentState(
        step=1,
        max_steps=steps,
        goal=goal,
        constraints=constraints,
        fixes_used=0,
        episode_open=False,
        history=(),
    )


def resumed_state(
    deps: AgentDeps, steps: int, max_fixes: int, *, after_crash: bool = False
) -> AgentState | None:
    """Where an earlier run of this pipeline stopped: its goal, evolved constraints, episode and
    recent steps. None for a pipeline that never ran."""
    engine = deps.pipeline.engine
    history = store.recent_steps(engine, 5)
    # The goal in force when the last step completed: a goal saved by an interrupted step is
    # that step's to make again (saving it twice keeps one).
    goal = store.latest_goal(engine, history[-1].step if history else 0)
    saved = store.load_agent_state(engine)
    if goal is None or saved is None:
        return None
    constraints, episode_open = saved
    # The budget is per run, and the config may have changed it since.
    constraints = tuple(
        replace(c, limit=max_fixes) if c.kind is ConstraintKind.BUDGET else c for c in constraints
    )
    first = history[-1].step + 1 if history else 1
    return AgentState(
        step=first,
        max_steps=first + steps - 1,
        goal=goal,
        constraints=constraints,
        # A new run has a fresh budget; a run resumed after a crash goes on with its own.
        fixes_used=store.fixes_used(engine) if after_crash else 0,
        episode_open=episode_open,
        history=history,
    )


def recursion_limit(steps: int) -> int:
    return steps * 9 + 10
