"""Each kind of event, derived from hand-built step records (no database)."""

from __future__ import annotations

from dataclasses import replace

from pipefix.domain.actions import Action, ActionResult, FixType, Tool
from pipefix.domain.alerts import EventKind, Severity, step_events
from pipefix.domain.constraints import Refusal
from pipefix.domain.goals import baseline_goal
from pipefix.domain.records import Revision
from tests.planners.helpers import metrics, record, table

MIGRATE = Action(Tool.APPLY_FIX, "orders", FixType.SCHEMA_MIGRATION)
COMMANDS = "pipefix approve 7 or pipefix reject 7"
REPLAY = Action(Tool.APPLY_FIX, "orders", FixType.RETRY_FAILED)


def kinds(events: tuple[object, ...]) -> list[str]:
    return [str(e.kind) for e in events]  # type: ignore[attr-defined]


def test_drift_is_alerted_once_per_kind_of_drift_and_contract() -> None:
    drifted = record(8, metrics(table("orders", drift=("removed: price_usd",), schema_open=24), step=8))
    (event,) = step_events(drifted, None)
    assert event.kind is EventKind.DRIFT_DETECTED
    assert event.table == "orders"
    assert event.evidence == ("removed: price_usd", "24 rows held until it is repaired")
    again = record(9, metrics(table("orders", drift=("removed: price_usd",), schema_open=30), step=9))
    assert step_events(again, drifted)[0].key == event.key  # the dispatcher sends it once
    repaired = record(9, metrics(table("orders", drift=("removed: price_usd",), version=2), step=9))
    assert step_events(repaired, drifted)[0].key != event.key


def test_fixes_applied_failed_and_rolled_back() -> None:
    rollback = Action(Tool.ROLLBACK, "orders", version=1)
    step = record(
        9,
        metrics(table("orders"), step=9),
        (
            ActionResult(MIGRATE, True, "contract v2"),
            ActionResult(REPLAY, False, "post-check failed"),
            ActionResult(rollback, True, "restored v1"),
            ActionResult(Action(Tool.RUN_DIAGNOSTIC, "orders"), True, "not a fix: no alert"),
        ),
    )
    events = step_events(step, None)
    assert kinds(events) == ["fix_applied", "fix_failed", "fix_rolled_back"]
    assert [e.severity for e in events] == [Severity.INFO, Severity.CRITICAL, Severity.WARNING]
    assert events[1].evidence == ("post-check failed",)


def test_approval_budget_and_safety_refusals() -> None:
    drop = Action(Tool.APPLY_FIX, "orders", "drop_table")
    refused = (
        Refusal(
            MIGRATE,
            "policy",
            "waiting for approval (policy add_column): pipefix approve 7 or pipefix reject 7",
        ),
        Refusal(REPLAY, "budget", "fix budget exhausted (15/15 used)"),
        Refusal(MIGRATE, "budget", "fix budget exhausted (15/15 used)"),
        Refusal(drop, "safety", "destructive fix type drop_table"),
        Refusal(REPLAY, "policy", "rejected by a person (decision 3); rows stay quarantined"),
    )
    step = replace(record(5, metrics(table("orders"), step=5)), refused=refused)
    events = step_events(step, None)
    assert kinds(events) == ["approval_waiting", "budget_exhausted", "action_refused"]
    approval, budget, safety = events
    assert approval.commands == ("pipefix approve 7", "pipefix reject 7")
    assert approval.key == "approval:7"  # the same decision, refused every step, alerts once
    assert budget.severity is Severity.CRITICAL
    assert safety.severity is Severity.CRITICAL
    assert safety.title == "apply_fix(drop_table, orders) refused by safety"
    # Still exhausted at the next step: not alerted again.
    later = replace(record(6, metrics(table("orders"), step=6)), refused=refused[1:2])
    assert kinds(step_events(later, step)) == []


def test_goal_revision_and_healthy_again() -> None:
    unhealthy = record(8, metrics(table("orders", quarantined=50), step=8))
    assert not unhealthy.evaluation.all_met
    before = baseline_goal()
    after = replace(before, version=2, description="Adapt orders to schema v2.0")
    revised = replace(unhealthy, revision=Revision(8, "score -1.00 at or below -0.3", before, after, {}))
    events = step_events(revised, None)
    assert kinds(events) == ["goal_revised"]
    assert events[0].title == "goal revised v1 → v2: Adapt orders to schema v2.0"
    healthy = record(10, metrics(table("orders"), step=10))
    assert healthy.evaluation.all_met
    assert kinds(step_events(healthy, unhealthy)) == ["healthy_again"]
    assert kinds(step_events(healthy, healthy)) == []
