"""Run the loop under a LangGraph checkpointer (engines/checkpoints.py says where it lives).

Each run is one LangGraph thread, named in the warehouse's settings. `resume` continues the
last run's thread from its last checkpoint when that run was cut short; otherwise a new thread
starts from `start()` and the previous thread's checkpoints are deleted (the warehouse, not the
checkpoints, is the pipeline's history). A node re-run after a crash is safe: ingestion is
exactly-once per file, each fix commits with its ledger row, goals and steps are saved once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pipefix.agent.checkpoint_serde import StateSerializer
from pipefix.agent.deps import AgentDeps
from pipefix.agent.graph import AgentState, build_graph, recursion_limit
from pipefix.engines import store
from pipefix.engines.checkpoints import open_saver

THREAD_SETTING = "agent.thread"


def run_agent(
    deps: AgentDeps, start: Callable[[], AgentState | None], *, resume: bool = False
) -> dict[str, Any] | None:
    """The final state of the run, or None when `start()` found nothing left to do."""
    engine = deps.pipeline.engine
    with open_saver(engine, StateSerializer()) as saver:
        graph = build_graph(deps, saver)
        previous = store.get_setting(engine, THREAD_SETTING, "")
        if previous:
            snapshot = graph.get_state(_config(previous))
            if resume and snapshot.next and "step" in snapshot.values:
                return _invoke(graph, None, previous, snapshot.values)
            saver.delete_thread(previous)
        state = start()
        if state is None:
            return None
        thread = f"run-{uuid.uuid4().hex[:12]}"
        store.put_setting(engine, THREAD_SETTING, thread)
        return _invoke(graph, state, thread, state)


def _invoke(graph: Any, state: AgentState | None, thread: str, values: Any) -> dict[str, Any]:
    steps = values["max_steps"] - values["step"] + 1
    config = {**_config(thread), "recursion_limit": recursion_limit(max(steps, 1))}
    # "sync": each checkpoint is on disk before the next node runs, so a kill loses at most
    # the node that was running.
    return dict(graph.invoke(state, config, durability="sync"))


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}
