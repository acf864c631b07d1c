"""What the agent saw, decided and did at each step: the audit log and the run's memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipefix.domain.actions import ActionResult, Plan
from pipefix.domain.constraints import Constraint, ConstraintChange, Refusal
from pipefix.domain.goals import Evaluation, Goal


@dataclass(frozen=True)
class TableHealth:
    table: str
    checks: dict[str, bool]
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    quarantine_open: int = 0
    quarantine_schema_open: int = 0  # rows held back by shape, not by bad values
    contract_version: int = 1
    original_columns_kept: bool = True  # backward compatibility: v1 readers still work
    drift: tuple[str, ...] = ()

    @property
    def passed(self) -> int:
        return sum(self.checks.values())

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(name for name, ok in self.checks.items() if not ok)


@dataclass(frozen=True)
class StepMetrics:
    step: int
    health: float
    error_rate: float
    throughput: float
    throughput_ratio: float
    schema_conformance: float
    received: int
    loaded: int
    quarantined: int
    tables: tuple[TableHealth, ...]

    def table(self, name: str) -> TableHealth | None:
        return next((t for t in self.tables if t.table == name), None)

    def as_signals(self) -> dict[str, float]:
        """Flat metric names the goal's criteria refer to."""
        signals = {
            "health": self.health,
            "error_rate": self.error_rate,
            "throughput_ratio": self.throughput_ratio,
            "schema_conformance": self.schema_conformance,
        }
        for table in self.tables:
            signals[f"quarantine_open.{table.table}"] = float(table.quarantine_open)
            signals[f"drifted_rows_open.{table.table}"] = float(table.quarantine_schema_open)
            signals[f"contract_version.{table.table}"] = float(table.contract_version)
            signals[f"schema.{table.table}"] = float(table.checks.get("schema", True))
            signals[f"original_columns_kept.{table.table}"] = float(table.original_columns_kept)
        return signals

    @property
    def drifted_tables(self) -> tuple[str, ...]:
        return tuple(t.table for t in self.tables if t.drift)


@dataclass(frozen=True)
class Revision:
    step: int
    reason: str
    from_goal: Goal
    to_goal: Goal
    evidence: dict[str, list[str]]


@dataclass(frozen=True)
class StepRecord:
    step: int
    metrics: StepMetrics
    evaluation: Evaluation
    goal_version: int
    revision: Revision | None = None
    plan: Plan | None = None
    refused: tuple[Refusal, ...] = ()
    amendments: tuple[str, ...] = ()
    results: tuple[ActionResult, ...] = field(default_factory=tuple)
    constraint_changes: tuple[ConstraintChange, ...] = ()


@dataclass(frozen=True)
class StepJournal:
    """Everything a step decided before acting. Kept until the step completes, so that a step
    re-run after a crash acts on the same decision instead of deciding again on a warehouse
    its first attempt had already partly changed."""

    step: int
    metrics: StepMetrics
    evaluation: Evaluation
    goal: Goal
    revision: Revision | None
    changes: tuple[ConstraintChange, ...]
    constraints: tuple[Constraint, ...]
    episode_open: bool
    plan: Plan
    refused: tuple[Refusal, ...] = ()
    amendments: tuple[str, ...] = ()
