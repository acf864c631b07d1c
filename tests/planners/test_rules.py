"""RulesPlanner and RulesReviser on hand-built planning views."""

from __future__ import annotations

import pytest

from pipefix.domain.actions import Action, FixType, Tool
from pipefix.domain.goals import Criterion, Goal, baseline_goal, evaluate
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.planners.rules import RulesPlanner, RulesReviser, tables_needing_repair
from tests.planners.helpers import added, diagnosis, epoch, fix, metrics, record, result, table, view

PLANNER = RulesPlanner()
REVISER = RulesReviser()
DRIFT = ("column_added:currency_code",)  # the labels the loader records: kind:column
EPOCH_DRIFT = ("type_changed:created_at",)
LOOK = Action(Tool.CHECK_HEALTH, "orders")  # nothing lossless to do: rows stay held for a person

MIGRATE = fix("orders", FixType.SCHEMA_MIGRATION)
ADAPT = fix("orders", FixType.ADD_ADAPTER)
RETRY = fix("orders", FixType.RETRY_FAILED)


@pytest.mark.parametrize(
    ("step", "component"), [(1, "orders"), (2, "customers"), (3, "events"), (4, "orders")]
)
def test_a_healthy_pipeline_gets_a_health_check_rotating_over_tables(step: int, component: str) -> None:
    healthy = metrics(table("orders"), table("customers"), table("events"), step=step)
    plan = PLANNER.plan(view(healthy, step=step))
    assert plan.actions == (Action(Tool.CHECK_HEALTH, component),)


def test_without_tables_the_health_check_targets_the_pipeline() -> None:
    assert PLANNER.plan(view(metrics())).actions == (Action(Tool.CHECK_HEALTH, "pipeline"),)


def test_tables_needing_repair_are_drifted_or_hold_rows_by_shape() -> None:
    current = metrics(table("orders", drift=DRIFT), table("customers", schema_open=3), table("events"))
    assert tables_needing_repair(view(current)) == ("orders", "customers")


def test_drifted_tables_without_a_diagnosis_are_diagnosed_first() -> None:
    current = metrics(table("orders", drift=DRIFT), table("customers", schema_open=3), table("events"))
    plan = PLANNER.plan(view(current))
    assert plan.actions == (Action(Tool.RUN_DIAGNOSTIC, "orders"), Action(Tool.RUN_DIAGNOSTIC, "customers"))


@pytest.mark.parametrize(("version", "column"), [(1, "currency_code"), (2, "coupon")])
def test_a_stale_diagnosis_or_one_that_misses_new_drift_is_renewed(version: int, column: str) -> None:
    current = metrics(table("orders", drift=DRIFT, schema_open=10, version=2))
    stale = {"orders": diagnosis("orders", added("orders", column), version=version)}
    plan = PLANNER.plan(view(current, diagnoses=stale))
    assert plan.actions == (Action(Tool.RUN_DIAGNOSTIC, "orders"),)


def test_rows_held_with_no_lossless_repair_are_left_for_a_person_not_retried() -> None:
    current = metrics(table("orders", schema_open=10))
    nothing = {"orders": diagnosis("orders")}
    plan = PLANNER.plan(view(current, diagnoses=nothing))
    assert plan.actions == (Action(Tool.CHECK_HEALTH, "orders"),)
    assert "no lossless repair" in plan.reasoning


def test_a_diagnosed_table_is_migrated_adapted_then_replayed() -> None:
    current = metrics(table("orders", drift=DRIFT, schema_open=10), table("customers", drift=EPOCH_DRIFT))
    diagnoses = {
        "orders": diagnosis("orders", added("orders"), epoch("orders")),
        "customers": diagnosis("customers", epoch("customers")),
    }
    plan = PLANNER.plan(view(current, diagnoses=diagnoses))
    assert plan.actions == (
        MIGRATE,
        ADAPT,
        RETRY,
        fix("customers", FixType.ADD_ADAPTER),
        fix("customers", FixType.RETRY_FAILED),
    )
    assert "orders.currency_code added (varchar, 10 rows)" in plan.hypotheses


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        (Drift(DriftKind.REMOVED, "orders", "status", rows=10), (MIGRATE, RETRY)),
        (Drift(DriftKind.RETYPED, "orders", "qty", "integer", "bigint", 10), (MIGRATE, RETRY)),
        (Drift(DriftKind.RETYPED, "orders", "order_id", "bigint", "varchar", 10), (LOOK,)),
        (Drift(DriftKind.RETYPED, "orders", "created_at", "timestamp", "bigint", 10), (LOOK,)),
    ],
)
def test_only_lossless_changes_are_migrated(drift: Drift, expected: tuple[Action, ...]) -> None:
    current = metrics(table("orders", drift=(f"{drift.kind}:{drift.column}",), schema_open=10))
    plan = PLANNER.plan(view(current, diagnoses={"orders": diagnosis("orders", drift)}))
    assert plan.actions == expected


def test_a_fix_that_failed_in_the_last_two_steps_is_not_repeated() -> None:
    current = metrics(table("orders", drift=DRIFT, schema_open=10), step=5)
    earlier = metrics(table("orders", drift=DRIFT, schema_open=10))
    history = (record(3, earlier), record(4, earlier, (result(MIGRATE, ok=False),)))
    diagnoses = {"orders": diagnosis("orders", added("orders"), epoch("orders"))}
    plan = PLANNER.plan(view(current, step=5, diagnoses=diagnoses, history=history))
    assert plan.actions == (ADAPT, RETRY)


def test_a_fix_that_failed_longer_ago_or_succeeded_is_tried_again() -> None:
    current = metrics(table("orders", drift=DRIFT, schema_open=10), step=6)
    earlier = metrics(table("orders", drift=DRIFT, schema_open=10))
    history = (
        record(3, earlier, (result(MIGRATE, ok=False),)),
        record(4, earlier, (result(ADAPT, ok=True),)),
        record(5, earlier),
    )
    diagnoses = {"orders": diagnosis("orders", added("orders"), epoch("orders"))}
    plan = PLANNER.plan(view(current, step=6, diagnoses=diagnoses, history=history))
    assert plan.actions == (MIGRATE, ADAPT, RETRY)


def test_when_every_suggested_fix_failed_recently_the_table_is_looked_at_again() -> None:
    current = metrics(table("orders", drift=DRIFT, schema_open=10), step=5)
    earlier = metrics(table("orders", drift=DRIFT, schema_open=10))
    failures = (result(MIGRATE, ok=False), result(RETRY, ok=False))
    history = (record(3, earlier), record(4, earlier, failures))
    diagnoses = {"orders": diagnosis("orders", added("orders"))}
    plan = PLANNER.plan(view(current, step=5, diagnoses=diagnoses, history=history))
    assert plan.actions == (Action(Tool.RUN_DIAGNOSTIC, "orders"),)


def test_a_table_rejecting_more_rows_after_a_contract_change_is_rolled_back() -> None:
    before = metrics(table("orders", version=1, quarantined=10), table("customers"))
    now = metrics(table("orders", version=2, quarantined=60), table("customers"), step=5)
    history = (record(3, before), record(4, before))
    plan = PLANNER.plan(view(now, step=5, history=history))
    assert plan.actions == (Action(Tool.ROLLBACK, "orders", version=1),)


def test_after_two_changes_in_a_row_only_the_last_one_is_rolled_back() -> None:
    first = metrics(table("orders", version=1, quarantined=10))
    second = metrics(table("orders", version=2, quarantined=10))
    now = metrics(table("orders", version=3, quarantined=60), step=5)
    history = (record(3, first), record(4, second))
    plan = PLANNER.plan(view(now, step=5, history=history))
    assert plan.actions == (Action(Tool.ROLLBACK, "orders", version=2),)


def test_the_rollback_comes_before_any_repair() -> None:
    before = metrics(table("orders", version=2, quarantined=0))
    now = metrics(table("orders", version=3, quarantined=30, drift=DRIFT, schema_open=30), step=5)
    history = (record(3, before), record(4, before))
    diagnoses = {"orders": diagnosis("orders", added("orders"), version=3)}
    plan = PLANNER.plan(view(now, step=5, history=history, diagnoses=diagnoses))
    assert plan.actions == (Action(Tool.ROLLBACK, "orders", version=2),)


@pytest.mark.parametrize(
    ("version", "quarantined", "history_len"),
    [(2, 10, 2), (2, 5, 2), (1, 60, 2), (2, 60, 0)],
)
def test_no_rollback_without_a_change_followed_by_more_rejections(
    version: int, quarantined: int, history_len: int
) -> None:
    before = metrics(table("orders", version=1, quarantined=10))
    now = metrics(table("orders", version=version, quarantined=quarantined), step=5)
    history = tuple(record(s, before) for s in range(5 - history_len, 5))
    plan = PLANNER.plan(view(now, step=5, history=history))
    assert plan.actions == (Action(Tool.CHECK_HEALTH, "orders"),)


def test_low_throughput_with_a_backlog_raises_capacity() -> None:
    slow = metrics(table("orders"), throughput_ratio=0.6)
    plan = PLANNER.plan(view(slow, backlog=4))
    assert plan.actions == (fix("pipeline", FixType.INCREASE_THROUGHPUT),)


@pytest.mark.parametrize(("ratio", "backlog"), [(0.6, 0), (0.9, 4), (1.0, 4)])
def test_no_throughput_fix_without_both_a_slowdown_and_a_backlog(ratio: float, backlog: int) -> None:
    plan = PLANNER.plan(view(metrics(table("orders"), throughput_ratio=ratio), backlog=backlog))
    assert plan.actions == (Action(Tool.CHECK_HEALTH, "orders"),)


def test_repairs_come_before_throughput() -> None:
    slow = metrics(table("orders", drift=DRIFT), throughput_ratio=0.5)
    assert PLANNER.plan(view(slow, backlog=4)).actions == (Action(Tool.RUN_DIAGNOSTIC, "orders"),)


def test_the_reviser_keeps_the_goal_above_the_threshold() -> None:
    current = metrics(table("orders", drift=DRIFT, schema_open=10), table("customers"))
    assert REVISER.revise(view(current, score=-0.29), threshold=-0.3) is None


@pytest.mark.parametrize("score", [-0.3, -0.8])
def test_the_reviser_refocuses_the_goal_on_drifted_tables(score: float) -> None:
    current = metrics(table("orders", drift=DRIFT, schema_open=10, version=2), table("customers"), step=7)
    goal = baseline_goal()
    revision = REVISER.revise(view(current, step=7, score=score, goal=goal), threshold=-0.3)
    assert revision is not None
    assert (revision.step, revision.from_goal) == (7, goal)
    new = revision.to_goal
    assert new.version == goal.version + 1
    assert new.focus_tables == ("orders",)
    assert "orders" in new.description
    assert "v3.0" in new.description
    rules = [(c.metric, c.op, c.threshold) for c in new.criteria]
    assert rules[: len(goal.criteria)] == [(c.metric, c.op, c.threshold) for c in goal.criteria]
    assert ("contract_version.orders", ">=", 3) in rules
    assert ("drifted_rows_open.orders", "<=", 0) in rules
    assert ("original_columns_kept.orders", ">=", 1) in rules
    assert not any("customers" in metric for metric, _, _ in rules)
    assert revision.evidence["drift"] == [f"orders: {DRIFT[0]}"]
    assert f"{score:.2f}" in revision.reason


def test_a_revised_goal_is_met_once_the_table_is_repaired() -> None:
    drifted = metrics(table("orders", drift=DRIFT, schema_open=10))
    revision = REVISER.revise(view(drifted, score=-1.0), threshold=-0.3)
    assert revision is not None
    repaired = metrics(table("orders", version=2))
    assert evaluate(revision.to_goal, repaired.as_signals()).all_met
    assert not evaluate(revision.to_goal, drifted.as_signals()).all_met


def test_revising_a_revised_goal_does_not_stack_table_criteria() -> None:
    goal = Goal("old", 2, (*baseline_goal().criteria, Criterion("contract_version.events", ">=", 2)))
    current = metrics(table("orders", drift=DRIFT, schema_open=10), table("events"))
    revision = REVISER.revise(view(current, goal=goal, score=-0.5), threshold=-0.3)
    assert revision is not None
    metric_names = [c.metric for c in revision.to_goal.criteria]
    assert "contract_version.events" not in metric_names
    assert len(metric_names) == len(set(metric_names))
    assert revision.to_goal.version == 3


def test_without_drift_the_revision_restores_health_from_failing_checks() -> None:
    failing = table("orders", checks={"schema": True, "freshness": False})
    revision = REVISER.revise(view(metrics(failing), score=-0.5), threshold=-0.3)
    assert revision is not None
    assert revision.to_goal.focus_tables == ()
    assert revision.to_goal.criteria == baseline_goal().criteria
    assert "orders.freshness" in revision.to_goal.description
    assert revision.evidence["failing_checks"] == ["orders.freshness"]
    assert revision.evidence["drift"] == []
