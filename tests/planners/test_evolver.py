"""RulesEvolver turns observed violations into constraints; apply_changes makes them active."""

from __future__ import annotations

from pipefix.domain.actions import Action, FixType, Plan, Tool
from pipefix.domain.constraints import (
    Constraint,
    ConstraintKind,
    PlanContext,
    apply_changes,
    filter_plan,
    initial_constraints,
    requires_shadow,
)
from pipefix.domain.records import StepRecord
from pipefix.planners.rules import RulesEvolver
from tests.planners.helpers import fix, metrics, record, result, table

EVOLVER = RulesEvolver()
BASE = initial_constraints(10)
MIGRATE = fix("orders", FixType.SCHEMA_MIGRATION)


def checks(schema: bool = True, rejected_rows: bool = True) -> dict[str, bool]:
    return {"schema": schema, "rejected_rows": rejected_rows}


def window(*records: StepRecord) -> tuple[StepRecord, ...]:
    return records


def of_kind(constraints: tuple[Constraint, ...], kind: ConstraintKind) -> list[Constraint]:
    return [c for c in constraints if c.kind is kind]


def test_a_healthy_window_changes_nothing() -> None:
    healthy = window(record(4, metrics(table("orders"))), record(5, metrics(table("orders"))))
    assert EVOLVER.evolve(6, healthy, BASE) == ()


def test_a_failed_schema_check_adds_shadow_validation() -> None:
    seen = window(record(5, metrics(table("orders", checks=checks(schema=False)), table("customers"))))
    changes = EVOLVER.evolve(6, seen, BASE)
    assert [(c.change, c.constraint.kind) for c in changes] == [("add", ConstraintKind.SHADOW_VALIDATION)]
    shadow = changes[0].constraint
    assert shadow.tables == frozenset({"orders"})
    assert shadow.origin == "evolved at step 6"
    assert changes[0].step == 6
    assert "orders" in changes[0].reason
    active = apply_changes(BASE, changes)
    assert active[: len(BASE)] == BASE
    assert requires_shadow(MIGRATE, active)
    assert not requires_shadow(fix("customers", FixType.SCHEMA_MIGRATION), active)


def test_rows_held_back_add_replay_after_change_which_filter_plan_then_enforces() -> None:
    seen = window(record(5, metrics(table("orders", checks=checks(rejected_rows=False)))))
    changes = EVOLVER.evolve(6, seen, BASE)
    assert [(c.change, c.constraint.kind, c.constraint.tables) for c in changes] == [
        ("add", ConstraintKind.REPLAY_AFTER_CHANGE, frozenset({"orders"}))
    ]
    active = apply_changes(BASE, changes)
    filtered = filter_plan(Plan((MIGRATE,), "r"), active, PlanContext(6, 0, frozenset({"orders"})))
    assert filtered.plan.actions == (MIGRATE, fix("orders", FixType.RETRY_FAILED))


def test_the_same_violation_on_a_new_table_widens_the_scope() -> None:
    shadow = Constraint(
        ConstraintKind.SHADOW_VALIDATION, "shadow", frozenset({"orders"}), origin="evolved at step 3"
    )
    active = (*BASE, shadow)
    seen = window(
        record(
            5,
            metrics(
                table("orders", checks=checks(schema=False)), table("customers", checks=checks(schema=False))
            ),
        )
    )
    changes = EVOLVER.evolve(6, seen, active)
    assert [(c.change, c.constraint.kind) for c in changes] == [("modify", ConstraintKind.SHADOW_VALIDATION)]
    assert changes[0].constraint.tables == frozenset({"orders", "customers"})
    assert changes[0].constraint.origin == "evolved at step 3"
    assert "customers" in changes[0].reason
    assert "orders" not in changes[0].reason
    after = apply_changes(active, changes)
    assert len(after) == len(active)
    (widened,) = of_kind(after, ConstraintKind.SHADOW_VALIDATION)
    assert widened.tables == frozenset({"orders", "customers"})


def test_a_violation_already_covered_adds_nothing() -> None:
    shadow = Constraint(ConstraintKind.SHADOW_VALIDATION, "shadow", frozenset({"orders", "customers"}))
    seen = window(record(5, metrics(table("orders", checks=checks(schema=False)))))
    assert EVOLVER.evolve(6, seen, (*BASE, shadow)) == ()


def test_a_failed_fix_adds_a_cooldown_on_its_table() -> None:
    seen = window(record(5, metrics(table("orders")), (result(MIGRATE, ok=False),)))
    changes = EVOLVER.evolve(6, seen, BASE)
    assert [(c.change, c.constraint.kind) for c in changes] == [("add", ConstraintKind.COOLDOWN)]
    cooldown = changes[0].constraint
    assert (cooldown.tables, cooldown.limit) == (frozenset({"orders"}), 9)
    active = apply_changes(BASE, changes)
    known = frozenset({"orders", "customers"})
    other = fix("customers", FixType.RETRY_FAILED)
    blocked = filter_plan(Plan((MIGRATE, other), "r"), active, PlanContext(9, 0, known))
    assert blocked.plan.actions == (other,)
    assert filter_plan(Plan((MIGRATE,), "r"), active, PlanContext(10, 0, known)).plan.actions == (MIGRATE,)


def test_failed_checks_and_successful_fixes_add_no_cooldown() -> None:
    results = (result(Action(Tool.RUN_DIAGNOSTIC, "orders"), ok=False), result(MIGRATE, ok=True))
    seen = window(record(5, metrics(table("orders")), results))
    assert EVOLVER.evolve(6, seen, BASE) == ()


def test_a_table_already_cooling_down_gets_no_second_cooldown() -> None:
    cooldown = Constraint(ConstraintKind.COOLDOWN, "wait", frozenset({"orders"}), limit=8)
    seen = window(record(5, metrics(table("orders")), (result(MIGRATE, ok=False),)))
    assert EVOLVER.evolve(6, seen, (*BASE, cooldown)) == ()


def test_a_cooldown_is_removed_once_its_limit_step_has_passed() -> None:
    cooldown = Constraint(ConstraintKind.COOLDOWN, "wait", frozenset({"orders"}), limit=8)
    active = (*BASE, cooldown)
    quiet = window(record(8, metrics(table("orders"))))
    assert EVOLVER.evolve(8, quiet, active) == ()  # the limit step itself still cools down
    changes = EVOLVER.evolve(9, quiet, active)
    assert [(c.change, c.constraint) for c in changes] == [("remove", cooldown)]
    assert apply_changes(active, changes) == BASE


def test_apply_changes_removes_only_the_named_constraint() -> None:
    first = Constraint(ConstraintKind.COOLDOWN, "wait", frozenset({"orders"}), limit=4)
    second = Constraint(ConstraintKind.COOLDOWN, "wait", frozenset({"customers"}), limit=12)
    changes = EVOLVER.evolve(9, window(record(8, metrics(table("orders")))), (*BASE, first, second))
    assert apply_changes((*BASE, first, second), changes) == (*BASE, second)


def test_a_new_failure_after_an_expired_cooldown_cools_the_table_down_again() -> None:
    expired = Constraint(ConstraintKind.COOLDOWN, "wait", frozenset({"orders"}), limit=6)
    active = (*BASE, expired)
    # evolve runs every 3 steps: at step 9 the cooldown of step 6 has elapsed and a fix failed at 8
    seen = window(
        record(7, metrics(table("orders"))), record(8, metrics(table("orders")), (result(MIGRATE, ok=False),))
    )
    after = apply_changes(active, EVOLVER.evolve(9, seen, active))
    assert [c.limit for c in of_kind(after, ConstraintKind.COOLDOWN)] == [12]
