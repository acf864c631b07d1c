"""The three jobs a decider does; the rules and an LLM each fill all three."""

from __future__ import annotations

from typing import Protocol

from pipefix.domain.actions import Plan
from pipefix.domain.constraints import Constraint, ConstraintChange
from pipefix.domain.records import Revision, StepRecord
from pipefix.planners.view import PlanningView


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
