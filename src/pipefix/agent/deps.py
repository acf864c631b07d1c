"""The agent's typed dependencies: everything a node needs, passed in, never global."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipefix.domain.actions import Plan
from pipefix.domain.constraints import Constraint, ConstraintChange
from pipefix.domain.records import Revision, StepRecord
from pipefix.planners.view import PlanningView
from pipefix.tools.context import PipelineContext


class Planner(Protocol):
    name: str

    def plan(self, view: PlanningView) -> Plan: ...


class Reviser(Protocol):
    name: str

    def revise(self, view: PlanningView, threshold: float) -> Revision | None: ...


class Evolver(Protocol):
    name: str

    def evolve(
        self, step: int, window: tuple[StepRecord, ...], active: tuple[Constraint, ...]
    ) -> tuple[ConstraintChange, ...]: ...


@dataclass
class AgentDeps:
    pipeline: PipelineContext
    landing: Path
    planner: Planner
    reviser: Reviser
    evolver: Evolver
    before_step: Callable[[int], object] = lambda step: None  # the demo's producer writes here
    on_step: Callable[[StepRecord], None] = lambda record: None  # live output
    revise_threshold: float = -0.3
    evolve_every: int = 3
    policies: dict[str, str] = field(default_factory=dict)  # policy key -> auto | approve | block
    auto_approve: bool = False  # `pipefix run --approve`: fixes waiting for a person are approved
