"""filter_plan: budget, safety and cooldown refusals, replay amendments; requires_shadow."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.domain.actions import DESTRUCTIVE_FIX_TYPES, Action, FixType, Plan, Tool
from pipefix.domain.constraints import (
    Constraint,
    ConstraintKind,
    PlanContext,
    budget,
    filter_plan,
    initial_constraints,
    requires_shadow,
    safety,
)
from tests.tiers import examples

KNOWN = frozenset({"orders", "customers"})


def context(step: int = 5, fixes_used: int = 0) -> PlanContext:
    return PlanContext(step=step, fixes_used=fixes_used, known_tables=KNOWN)


def fix(target: str, fix_type: str | None) -> Action:
    return Action(Tool.APPLY_FIX, target, fix_type)


def plan(*actions: Action) -> Plan:
    return Plan(actions=actions, reasoning="test")


def scoped(kind: ConstraintKind, *tables: str, limit: int = 0) -> Constraint:
    return Constraint(kind, f"{kind} on {tables}", frozenset(tables), limit=limit)


MIGRATE = fix("orders", FixType.SCHEMA_MIGRATION)
ADAPT = fix("orders", FixType.ADD_ADAPTER)
RETRY = fix("orders", FixType.RETRY_FAILED)


def test_initial_constraints_are_a_budget_and_safety() -> None:
    constraints = initial_constraints(4)
    assert [c.kind for c in constraints] == [ConstraintKind.BUDGET, ConstraintKind.SAFETY]
    assert constraints[0].limit == 4


def test_fixes_beyond_the_budget_are_refused() -> None:
    actions = (MIGRATE, ADAPT, RETRY)
    result = filter_plan(plan(*actions), [budget(2)], context())
    assert result.plan.actions == (MIGRATE, ADAPT)
    assert [r.action for r in result.refused] == [RETRY]
    assert result.refused[0].constraint == "budget"
    assert "exhausted" in result.refused[0].reason
    assert "2/2" in result.refused[0].reason


def test_fixes_already_used_count_against_the_budget() -> None:
    result = filter_plan(plan(MIGRATE, ADAPT), [budget(3)], context(fixes_used=2))
    assert result.plan.actions == (MIGRATE,)
    assert [r.action for r in result.refused] == [ADAPT]


def test_a_spent_budget_refuses_every_fix_including_rollbacks() -> None:
    rollback = Action(Tool.ROLLBACK, "orders", version=1)
    result = filter_plan(plan(rollback, MIGRATE), [budget(3)], context(fixes_used=3))
    assert result.plan.actions == ()
    assert [r.action for r in result.refused] == [rollback, MIGRATE]


def test_checks_and_diagnostics_do_not_need_budget() -> None:
    actions = (Action(Tool.CHECK_HEALTH, "orders"), Action(Tool.RUN_DIAGNOSTIC, "customers"))
    result = filter_plan(plan(*actions), [budget(0)], context())
    assert result.plan.actions == actions
    assert result.refused == ()


def test_a_refused_fix_does_not_use_up_budget() -> None:
    actions = (fix("orders", "drop_table"), MIGRATE, ADAPT)
    result = filter_plan(plan(*actions), [safety(), budget(2)], context())
    assert result.plan.actions == (MIGRATE, ADAPT)
    assert [r.action.fix_type for r in result.refused] == ["drop_table"]


@pytest.mark.parametrize("fix_type", sorted(DESTRUCTIVE_FIX_TYPES))
def test_destructive_fix_types_are_refused_by_safety(fix_type: str) -> None:
    result = filter_plan(plan(fix("orders", fix_type), RETRY), [safety()], context())
    assert result.plan.actions == (RETRY,)
    (refusal,) = result.refused
    assert refusal.constraint == "safety"
    assert refusal.reason == f"{fix_type} is destructive"


@pytest.mark.parametrize("fix_type", ["vacuum", "DROP TABLE orders", None])
def test_unknown_fix_types_are_refused(fix_type: str | None) -> None:
    result = filter_plan(plan(fix("orders", fix_type)), [safety()], context())
    assert result.plan.actions == ()
    assert result.refused[0].reason == f"unknown fix type {fix_type!r}"


def test_unknown_targets_are_refused_but_the_pipeline_is_known() -> None:
    ghost = Action(Tool.CHECK_HEALTH, "ghost")
    throughput = fix("pipeline", FixType.INCREASE_THROUGHPUT)
    result = filter_plan(plan(ghost, throughput), [safety()], context())
    assert result.plan.actions == (throughput,)
    assert result.refused[0].action == ghost
    assert result.refused[0].reason == "unknown target 'ghost'"


def test_safety_is_not_checked_without_a_safety_constraint() -> None:
    result = filter_plan(plan(fix("orders", "drop_table")), [budget(5)], context())
    assert len(result.plan.actions) == 1


@pytest.mark.parametrize("step", [5, 6])
def test_cooldown_refuses_fixes_on_its_tables_until_its_limit_step(step: int) -> None:
    cooldown = scoped(ConstraintKind.COOLDOWN, "orders", limit=6)
    other = fix("customers", FixType.RETRY_FAILED)
    look = Action(Tool.RUN_DIAGNOSTIC, "orders")
    rollback = Action(Tool.ROLLBACK, "orders", version=1)
    result = filter_plan(plan(MIGRATE, other, look, rollback), [cooldown], context(step=step))
    assert result.plan.actions == (other, look, rollback)
    (refusal,) = result.refused
    assert refusal.action == MIGRATE
    assert refusal.constraint == "cooldown[orders]"
    assert "until step 6" in refusal.reason


def test_cooldown_lets_fixes_through_after_its_limit_step() -> None:
    cooldown = scoped(ConstraintKind.COOLDOWN, "orders", limit=6)
    result = filter_plan(plan(MIGRATE), [cooldown], context(step=7))
    assert result.plan.actions == (MIGRATE,)
    assert result.refused == ()


def test_replay_is_appended_after_a_contract_change_on_a_scoped_table() -> None:
    rule = scoped(ConstraintKind.REPLAY_AFTER_CHANGE, "orders")
    result = filter_plan(plan(MIGRATE), [budget(5), rule], context())
    assert result.plan.actions == (MIGRATE, RETRY)
    assert result.amendments == (f"appended {RETRY} (replay_after_change[orders])",)


def test_replay_is_appended_once_for_several_changes_to_one_table() -> None:
    rule = scoped(ConstraintKind.REPLAY_AFTER_CHANGE, "orders")
    result = filter_plan(plan(MIGRATE, ADAPT), [budget(5), rule], context())
    assert result.plan.actions == (MIGRATE, ADAPT, RETRY)
    assert len(result.amendments) == 1


def test_no_replay_is_appended_when_the_plan_already_replays_after_the_change() -> None:
    rule = scoped(ConstraintKind.REPLAY_AFTER_CHANGE, "orders")
    result = filter_plan(plan(MIGRATE, RETRY), [budget(5), rule], context())
    assert result.plan.actions == (MIGRATE, RETRY)
    assert result.amendments == ()


def test_a_replay_before_the_change_does_not_count() -> None:
    rule = scoped(ConstraintKind.REPLAY_AFTER_CHANGE, "orders")
    result = filter_plan(plan(RETRY, ADAPT), [budget(5), rule], context())
    assert result.plan.actions == (RETRY, ADAPT, RETRY)


@pytest.mark.parametrize(
    "action",
    [fix("customers", FixType.SCHEMA_MIGRATION), RETRY, fix("pipeline", FixType.INCREASE_THROUGHPUT)],
)
def test_no_replay_for_unscoped_tables_or_other_fixes(action: Action) -> None:
    rule = scoped(ConstraintKind.REPLAY_AFTER_CHANGE, "orders")
    result = filter_plan(plan(action), [budget(5), rule], context())
    assert result.plan.actions == (action,)
    assert result.amendments == ()


def test_no_replay_is_appended_past_the_budget() -> None:
    rule = scoped(ConstraintKind.REPLAY_AFTER_CHANGE, "orders")
    result = filter_plan(plan(MIGRATE), [budget(3), rule], context(fixes_used=2))
    assert result.plan.actions == (MIGRATE,)
    assert result.amendments == (f"could not append {RETRY}: fix budget exhausted",)


def test_no_replay_for_a_change_that_was_refused() -> None:
    rule = scoped(ConstraintKind.REPLAY_AFTER_CHANGE, "orders")
    cooldown = scoped(ConstraintKind.COOLDOWN, "orders", limit=9)
    result = filter_plan(plan(MIGRATE), [budget(5), cooldown, rule], context())
    assert result.plan.actions == ()
    assert result.amendments == ()


def test_requires_shadow_only_for_contract_changes_on_scoped_tables() -> None:
    shadow = [budget(5), scoped(ConstraintKind.SHADOW_VALIDATION, "orders")]
    assert requires_shadow(MIGRATE, shadow)
    assert requires_shadow(ADAPT, shadow)
    assert not requires_shadow(RETRY, shadow)
    assert not requires_shadow(fix("customers", FixType.SCHEMA_MIGRATION), shadow)
    assert not requires_shadow(MIGRATE, [budget(5), scoped(ConstraintKind.REPLAY_AFTER_CHANGE, "orders")])


TARGETS = (*sorted(KNOWN), "pipeline", "ghost", "")
FIX_TYPES: tuple[str | None, ...] = (*FixType, *sorted(DESTRUCTIVE_FIX_TYPES), "vacuum", None)
actions_st = st.builds(
    Action,
    tool=st.sampled_from(Tool),
    target=st.sampled_from(TARGETS),
    fix_type=st.sampled_from(FIX_TYPES),
    version=st.one_of(st.none(), st.integers(1, 5)),
)
extras_st = st.lists(
    st.builds(
        scoped,
        st.sampled_from(
            [ConstraintKind.REPLAY_AFTER_CHANGE, ConstraintKind.SHADOW_VALIDATION, ConstraintKind.COOLDOWN]
        ),
        st.sampled_from(sorted(KNOWN)),
        limit=st.integers(0, 10),
    ),
    max_size=3,
)


@settings(max_examples=examples(200), deadline=None)
@given(
    actions=st.lists(actions_st, max_size=10),
    limit=st.integers(0, 6),
    used=st.integers(0, 8),
    step=st.integers(1, 10),
    extras=extras_st,
    order=st.booleans(),
)
def test_filter_plan_never_exceeds_the_budget_nor_lets_unsafe_actions_through(
    actions: list[Action], limit: int, used: int, step: int, extras: list[Constraint], order: bool
) -> None:
    core = [budget(limit), safety()] if order else [safety(), budget(limit)]
    result = filter_plan(plan(*actions), [*core, *extras], context(step=step, fixes_used=used))
    kept = result.plan.actions
    assert sum(a.is_fix for a in kept) <= max(0, limit - used)
    for action in kept:
        assert action.fix_type not in DESTRUCTIVE_FIX_TYPES
        assert action.target in KNOWN or action.target == "pipeline"
        if action.tool is Tool.APPLY_FIX:
            assert action.fix_type in set(FixType)
    # every action is either kept, in order, or refused; amendments only add replays at the end
    refused = [r.action for r in result.refused]
    passed = len(actions) - len(refused)
    assert _interleaves(actions, list(kept[:passed]), refused)
    assert all(a == Action(Tool.APPLY_FIX, a.target, FixType.RETRY_FAILED) for a in kept[passed:])


def _interleaves(whole: list[Action], left: list[Action], right: list[Action]) -> bool:
    """Whether `whole` is `left` and `right` merged, each keeping its own order."""
    if len(left) + len(right) != len(whole):
        return False
    reachable = {(0, 0)}
    for item in whole:
        reachable = {(i + 1, j) for i, j in reachable if i < len(left) and left[i] == item} | {
            (i, j + 1) for i, j in reachable if j < len(right) and right[j] == item
        }
    return (len(left), len(right)) in reachable
