"""What a planner sees: a read-only view of the pipeline, built by the agent each step.

Planners are pure functions of this view, so the rules planner and an LLM planner get the same
facts, and tests can hand them any situation without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipefix.domain.actions import ActionResult
from pipefix.domain.constraints import Constraint
from pipefix.domain.goals import Evaluation, Goal
from pipefix.domain.records import StepMetrics, StepRecord
from pipefix.tools.run_diagnostic import Diagnosis


@dataclass(frozen=True)
class PlanningView:
    step: int
    goal: Goal
    evaluation: Evaluation
    metrics: StepMetrics
    constraints: tuple[Constraint, ...]
    fixes_used: int
    diagnoses: dict[str, Diagnosis] = field(default_factory=dict)
    history: tuple[StepRecord, ...] = ()
    backlog_files: int = 0

    def recent_results(self, steps: int = 3) -> tuple[ActionResult, ...]:
        results: list[ActionResult] = []
        for record in self.history[-steps:]:
            results.extend(record.results)
        return tuple(results)
