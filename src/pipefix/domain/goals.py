"""Goals with executable criteria, and the evaluator that scores them in [-1, 1]."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

Comparator = Literal[">=", "<=", "<", ">", "=="]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
    ">": operator.gt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Criterion:
    """`metric op threshold`, e.g. `health >= 0.95`.

    `scale` is the gap at which an unmet criterion counts as fully failed (-1); it keeps the score
    proportional to how far a metric is from its target instead of a plain pass/fail vote.
    """

    metric: str
    op: Comparator
    threshold: float
    scale: float = 1.0

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"

    def is_met(self, value: float) -> bool:
        return _COMPARE[self.op](value, self.threshold)

    def score(self, value: float | None) -> float:
        if value is None:
            return -1.0  # a metric nobody could measure is a failed criterion, not a free pass
        if self.is_met(value):
            return 1.0
        gap = abs(value - self.threshold)
        return -min(1.0, gap / self.scale) if self.scale > 0 else -1.0


@dataclass(frozen=True)
class Goal:
    description: str
    version: int
    criteria: tuple[Criterion, ...]
    focus_tables: tuple[str, ...] = ()

    def revised(self, description: str, criteria: tuple[Criterion, ...], focus: tuple[str, ...]) -> Goal:
        return replace(
            self,
            description=description,
            version=self.version + 1,
            criteria=criteria,
            focus_tables=focus,
        )


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    value: float | None
    met: bool
    score: float


@dataclass(frozen=True)
class Evaluation:
    score: float
    results: tuple[CriterionResult, ...] = field(default_factory=tuple)

    @property
    def all_met(self) -> bool:
        return all(r.met for r in self.results)

    @property
    def unmet(self) -> tuple[CriterionResult, ...]:
        return tuple(r for r in self.results if not r.met)


def evaluate(goal: Goal, metrics: Mapping[str, float]) -> Evaluation:
    """Mean over the goal's criteria of +1 (met) or -gap/scale (unmet, floored at -1)."""
    results = []
    for criterion in goal.criteria:
        value = metrics.get(criterion.metric)
        met = value is not None and criterion.is_met(value)
        results.append(CriterionResult(criterion, value, met, criterion.score(value)))
    if not results:
        return Evaluation(score=0.0)
    score = sum(r.score for r in results) / len(results)
    return Evaluation(score=round(score, 4), results=tuple(results))


def baseline_goal(health: float = 0.95, error_rate: float = 0.02, *, throughput: bool = True) -> Goal:
    """The initial goal. `throughput` adds "throughput >= 90% of baseline", which suits a producer
    of steady volume (the demo) and not one whose batches vary in size.

    Rows still held count against it whatever the step brought: no row may wait on a repair, and
    no table may hold `error_rate` or more of all the rows it received."""
    criteria = (
        Criterion("health", ">=", health, scale=0.05),
        Criterion("error_rate", "<", error_rate, scale=0.05),
        *((Criterion("throughput_ratio", ">=", 0.9, scale=0.1),) if throughput else ()),
        Criterion("schema_conformance", ">=", 1.0, scale=0.1),
        Criterion("rows_held_for_shape", "<=", 0, scale=1),
        Criterion("max_held_share", "<", error_rate, scale=0.05),
    )
    holds = ", throughput holds" if throughput else ""
    return Goal(
        description=f"Keep every table healthy: contracts pass, rejected rows stay rare, "
        f"no row waits on a repair{holds}",
        version=1,
        criteria=criteria,
    )
