"""The agent's typed dependencies: everything a node needs, passed in, never global."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipefix.domain.records import StepRecord
from pipefix.planners.protocols import Evolver, Planner, Reviser
from pipefix.tools.context import PipelineContext


@dataclass
class AgentDeps:
    pipeline: PipelineContext
    landing: Path
    planner: Planner
    reviser: Reviser
    evolver: Evolver
    before_step: Callable[[int], object] = lambda step: None  # the demo's producer writes here
    on_step: Callable[[StepRecord], None] = lambda record: None  # live output
    # Alerts: called with the step's record and the one before it, after the step is saved.
    after_step: Callable[[StepRecord, StepRecord | None], object] = lambda record, previous: None
    revise_threshold: float = -0.3
    evolve_every: int = 3
    policies: dict[str, str] = field(default_factory=dict)  # policy key -> auto | approve | block
    auto_approve: bool = False  # `pipefix run --approve`: fixes waiting for a person are approved
