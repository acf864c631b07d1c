"""What is worth telling a person, derived from a step's record: drift found, the goal revised,
fixes applied / failed / rolled back, a fix waiting for approval, the budget exhausted, an
action refused by a rule, rows waiting on a repair pipefix cannot make, the pipeline healthy
again. Pure: delivery lives in notify/."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from pipefix.domain.actions import Tool
from pipefix.domain.records import StepRecord


class EventKind(StrEnum):
    DRIFT_DETECTED = "drift_detected"
    GOAL_REVISED = "goal_revised"
    FIX_APPLIED = "fix_applied"
    FIX_FAILED = "fix_failed"
    FIX_ROLLED_BACK = "fix_rolled_back"
    APPROVAL_WAITING = "approval_waiting"
    BUDGET_EXHAUSTED = "budget_exhausted"
    ACTION_REFUSED = "action_refused"
    REPAIR_NEEDED = "repair_needed"
    HEALTHY_AGAIN = "healthy_again"


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @classmethod
    def named(cls, name: str) -> Severity:
        return cls[name.upper()]


@dataclass(frozen=True)
class AlertEvent:
    kind: EventKind
    severity: Severity
    step: int
    title: str
    table: str | None = None
    evidence: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()  # what a person can run, e.g. `pipefix approve 3`
    key: str = field(default="", compare=False)  # the same key is never alerted twice

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"{self.kind}:{self.step}:{self.table or '-'}:{self.title}")


_DECISION = re.compile(r"pipefix approve (\d+)")


def step_events(record: StepRecord, previous: StepRecord | None) -> tuple[AlertEvent, ...]:
    """The events of one step, in the order a person should read them."""
    step = record.step
    events: list[AlertEvent] = []
    for table in record.metrics.tables:
        if table.drift:
            events.append(
                AlertEvent(
                    EventKind.DRIFT_DETECTED,
                    Severity.WARNING,
                    step,
                    f"schema drift on {table.table}",
                    table.table,
                    evidence=(*table.drift, f"{table.quarantine_schema_open} rows held until it is repaired"),
                    # Drift stays visible until repaired: alert once per kind of drift and contract.
                    key=f"drift:{table.table}:v{table.contract_version}:{'|'.join(sorted(table.drift))}",
                )
            )
    if record.revision is not None:
        revision = record.revision
        events.append(
            AlertEvent(
                EventKind.GOAL_REVISED,
                Severity.WARNING,
                step,
                f"goal revised v{revision.from_goal.version} → v{revision.to_goal.version}: "
                f"{revision.to_goal.description}",
                evidence=(revision.reason,),
            )
        )
    for result in record.results:
        action = result.action
        if not action.is_fix:
            continue
        if not result.ok:
            kind, severity, verb = EventKind.FIX_FAILED, Severity.CRITICAL, "failed"
        elif action.tool is Tool.ROLLBACK:
            kind, severity, verb = EventKind.FIX_ROLLED_BACK, Severity.WARNING, "rolled back"
        else:
            kind, severity, verb = EventKind.FIX_APPLIED, Severity.INFO, "applied"
        events.append(AlertEvent(kind, severity, step, f"{action} {verb}", action.target, (result.detail,)))
    budget_before = previous is not None and any(_is_budget(r.reason) for r in previous.refused)
    for refusal in record.refused:
        action = refusal.action
        decision = _DECISION.search(refusal.reason)
        if refusal.constraint == "policy" and decision:
            number = decision.group(1)
            events.append(
                AlertEvent(
                    EventKind.APPROVAL_WAITING,
                    Severity.WARNING,
                    step,
                    f"{action} is waiting for approval",
                    action.target,
                    (refusal.reason,),
                    (f"pipefix approve {number}", f"pipefix reject {number}"),
                    key=f"approval:{number}",
                )
            )
        elif _is_budget(refusal.reason):
            if not budget_before and not any(e.kind is EventKind.BUDGET_EXHAUSTED for e in events):
                events.append(
                    AlertEvent(
                        EventKind.BUDGET_EXHAUSTED,
                        Severity.CRITICAL,
                        step,
                        refusal.reason,
                        None,
                        (str(action),),
                    )
                )
        elif refusal.constraint != "policy":
            events.append(
                AlertEvent(
                    EventKind.ACTION_REFUSED,
                    Severity.CRITICAL if refusal.constraint == "safety" else Severity.WARNING,
                    step,
                    f"{action} refused by {refusal.constraint}",
                    action.target,
                    (refusal.reason,),
                )
            )
    for waiting in record.waiting:
        held = " and ".join(
            f"{n} held for their {what}"
            for n, what in ((waiting.held_for_shape, "shape"), (waiting.held_for_value, "values"))
            if n
        )
        events.append(
            AlertEvent(
                EventKind.REPAIR_NEEDED,
                Severity.WARNING,
                step,
                f"{waiting.table}: rows wait for a repair pipefix cannot make ({held})",
                waiting.table,
                (waiting.reason, waiting.needs),
                (f"pipefix quarantine {waiting.table}", f"pipefix replay {waiting.table}"),
                # Said once per open decision, however many steps the rows wait.
                key=f"repair_needed:{waiting.decision_id}",
            )
        )
    if previous is not None and not previous.evaluation.all_met and record.evaluation.all_met:
        events.append(AlertEvent(EventKind.HEALTHY_AGAIN, Severity.INFO, step, "pipeline healthy again"))
    return tuple(events)


def _is_budget(reason: str) -> bool:
    return reason.startswith("fix budget exhausted")
