"""What a model may answer: pure validation of plans, goal revisions and constraint changes.

Nothing here touches a database or a model: each test hands llm_schemas an answer and checks that
it becomes the typed object the rules would return, or is refused with a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipefix.domain.actions import DESTRUCTIVE_FIX_TYPES, Action, FixType, Plan, Tool
from pipefix.domain.constraints import Constraint, ConstraintKind, apply_changes, initial_constraints
from pipefix.domain.goals import Criterion, Goal, baseline_goal
from pipefix.planners.llm_schemas import (
    ActionAnswer,
    EvolutionAnswer,
    InvalidAnswer,
    PlanAnswer,
    RevisionAnswer,
    parse,
    to_action,
    to_changes,
    to_goal,
    to_plan,
)
from tests.planners.helpers import metrics, table

TABLES = ("users", "orders", "events", "analytics")
VERSIONS = {"users": 1, "orders": 2, "events": 1, "analytics": 1}
METRICS = metrics(*(table(name, version=VERSIONS[name]) for name in TABLES)).as_signals()
BASE = initial_constraints(10)


def action(**fields: Any) -> ActionAnswer:
    return ActionAnswer.model_validate(fields)


def to_action_of(**fields: Any) -> Action:
    return to_action(action(**fields), TABLES, VERSIONS)


def plan_json(*actions: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"reasoning": "why", "confidence": 0.8, "actions": list(actions), **extra})


def revision(*criteria: dict[str, Any], **fields: Any) -> RevisionAnswer:
    body: dict[str, Any] = {"revise": True, "description": "Adapt orders to v2", "reason": "drift"}
    return RevisionAnswer.model_validate({**body, "criteria": list(criteria), **fields})


def goal_from(text: str) -> Goal | None:
    answer = parse("revision", text)
    assert isinstance(answer, RevisionAnswer)
    return to_goal(answer, baseline_goal(), TABLES, METRICS)


def change(change_: str, kind: str, *tables: str, **fields: Any) -> dict[str, Any]:
    return {"change": change_, "kind": kind, "tables": list(tables), "reason": "observed", **fields}


def evolution(*changes: dict[str, Any]) -> EvolutionAnswer:
    return EvolutionAnswer.model_validate({"changes": list(changes)})


def shadow(*tables: str) -> Constraint:
    return Constraint(
        ConstraintKind.SHADOW_VALIDATION, "shadow", frozenset(tables), origin="evolved at step 3"
    )


def cooldown(*tables: str, until: int = 9) -> Constraint:
    return Constraint(
        ConstraintKind.COOLDOWN, "cool", frozenset(tables), limit=until, origin="evolved at step 6"
    )


# --- to_action: the allowlist of typed actions ---------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tool": "check_health", "target": "orders"}, Action(Tool.CHECK_HEALTH, "orders")),
        ({"tool": "check_health", "target": "pipeline"}, Action(Tool.CHECK_HEALTH, "pipeline")),
        ({"tool": "run_diagnostic", "target": "events"}, Action(Tool.RUN_DIAGNOSTIC, "events")),
        (
            {"tool": "apply_fix", "target": "orders", "fix_type": "schema_migration"},
            Action(Tool.APPLY_FIX, "orders", FixType.SCHEMA_MIGRATION),
        ),
        (
            {"tool": "apply_fix", "target": "events", "fix_type": "add_adapter"},
            Action(Tool.APPLY_FIX, "events", FixType.ADD_ADAPTER),
        ),
        (
            {"tool": "apply_fix", "target": "orders", "fix_type": "retry_failed"},
            Action(Tool.APPLY_FIX, "orders", FixType.RETRY_FAILED),
        ),
        (
            {"tool": "apply_fix", "target": "pipeline", "fix_type": "increase_throughput"},
            Action(Tool.APPLY_FIX, "pipeline", FixType.INCREASE_THROUGHPUT),
        ),
        ({"tool": "rollback", "target": "orders", "version": 1}, Action(Tool.ROLLBACK, "orders", version=1)),
    ],
)
def test_a_valid_action_becomes_the_same_typed_action_the_rules_return(
    fields: dict[str, Any], expected: Action
) -> None:
    assert to_action_of(**fields) == expected


@pytest.mark.parametrize("tool", ["execute_sql", "drop_table", "shell", "CHECK_HEALTH", "check health", ""])
def test_an_unknown_tool_is_refused(tool: str) -> None:
    with pytest.raises(InvalidAnswer, match="unknown tool") as refused:
        to_action_of(tool=tool, target="orders")
    assert "check_health, run_diagnostic, apply_fix, rollback" in str(refused.value)


@pytest.mark.parametrize(
    "fix_type", [*sorted(DESTRUCTIVE_FIX_TYPES), "DROP_TABLE", "Truncate_Table", "DELETE_ROWS", "drop_COLUMN"]
)
def test_a_destructive_fix_type_is_refused_whatever_its_case(fix_type: str) -> None:
    with pytest.raises(InvalidAnswer, match="is destructive and never allowed"):
        to_action_of(tool="apply_fix", target="orders", fix_type=fix_type)


def test_the_four_destructive_fix_types_are_the_ones_named() -> None:
    assert {"drop_table", "truncate_table", "delete_rows", "drop_column"} <= DESTRUCTIVE_FIX_TYPES


@pytest.mark.parametrize(
    "fix_type", [None, "", "vacuum", "alter_table", "schema_migration;", " retry_failed"]
)
def test_an_unknown_or_missing_fix_type_is_refused(fix_type: str | None) -> None:
    with pytest.raises(InvalidAnswer, match="unknown fix type"):
        to_action_of(tool="apply_fix", target="orders", fix_type=fix_type)


@pytest.mark.parametrize("tool", ["check_health", "run_diagnostic"])
def test_a_read_only_tool_takes_no_fix_type(tool: str) -> None:
    with pytest.raises(InvalidAnswer, match=r"takes no fix_type|destructive"):
        to_action_of(tool=tool, target="orders", fix_type="drop_table")


def test_a_rollback_naming_a_destructive_fix_type_is_refused() -> None:
    with pytest.raises(InvalidAnswer):
        to_action_of(tool="rollback", target="orders", version=1, fix_type="drop_table")


SMUGGLED = [
    "orders; DROP TABLE users",
    "orders;",
    'orders" --',
    "orders' OR '1'='1",
    '"orders"',
    "orders --",
    "or ders",
    " orders",
    "orders ",
    "orders\t",
    "main.orders",
    "orders()",
    "оrders",  # Cyrillic о
    "ordеrs",  # Cyrillic е
    "ｏrders",  # fullwidth o
    "ordérs",
    "orders\u200b",  # zero-width space
    "orders\x00",
    "1orders",
    "",
]


@pytest.mark.parametrize("target", SMUGGLED)
@pytest.mark.parametrize(
    "fields",
    [
        {"tool": "check_health"},
        {"tool": "run_diagnostic"},
        {"tool": "apply_fix", "fix_type": "schema_migration"},
        {"tool": "apply_fix", "fix_type": "increase_throughput"},
        {"tool": "rollback", "version": 1},
    ],
    ids=["check_health", "run_diagnostic", "schema_migration", "increase_throughput", "rollback"],
)
def test_a_target_that_is_not_a_plain_identifier_is_refused(fields: dict[str, Any], target: str) -> None:
    with pytest.raises(InvalidAnswer, match="is not a table name"):
        to_action_of(target=target, **fields)


@pytest.mark.parametrize("target", ["orders\n", "pipeline\n"])
def test_a_trailing_newline_does_not_make_a_known_name(target: str) -> None:
    with pytest.raises(InvalidAnswer):
        to_action_of(tool="check_health", target=target)


@pytest.mark.parametrize(
    "fields",
    [
        {"tool": "check_health", "target": "customers"},
        {"tool": "check_health", "target": "Orders"},
        {"tool": "run_diagnostic", "target": "pipeline"},
        {"tool": "apply_fix", "target": "pipeline", "fix_type": "schema_migration"},
        {"tool": "apply_fix", "target": "customers", "fix_type": "retry_failed"},
        {"tool": "rollback", "target": "pipeline", "version": 1},
        {"tool": "rollback", "target": "customers", "version": 1},
    ],
)
def test_a_target_that_is_not_an_existing_table_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidAnswer, match="no table") as refused:
        to_action_of(**fields)
    assert "tables are analytics, events, orders, users" in str(refused.value)


@pytest.mark.parametrize(
    ("target", "version"),
    [("orders", 2), ("orders", 3), ("orders", 0), ("orders", -1), ("orders", None), ("events", 1)],
)
def test_a_rollback_must_name_an_earlier_version(target: str, version: int | None) -> None:
    with pytest.raises(InvalidAnswer, match="needs an earlier contract version") as refused:
        to_action_of(tool="rollback", target=target, version=version)
    assert f"at v{VERSIONS[target]}" in str(refused.value)


def test_to_plan_keeps_the_models_reasoning_and_every_action() -> None:
    answer = PlanAnswer.model_validate_json(
        json.dumps(
            {
                "hypotheses": ["orders moved to v2"],
                "reasoning": "diagnose, then migrate",
                "expected_outcome": "orders loads again",
                "confidence": 0.7,
                "actions": [
                    {"tool": "run_diagnostic", "target": "orders"},
                    {"tool": "apply_fix", "target": "orders", "fix_type": "schema_migration"},
                ],
            }
        )
    )
    assert to_plan(answer, TABLES, VERSIONS) == Plan(
        actions=(
            Action(Tool.RUN_DIAGNOSTIC, "orders"),
            Action(Tool.APPLY_FIX, "orders", FixType.SCHEMA_MIGRATION),
        ),
        reasoning="diagnose, then migrate",
        hypotheses=("orders moved to v2",),
        expected_outcome="orders loads again",
        confidence=0.7,
    )


def test_one_bad_action_refuses_the_whole_plan() -> None:
    answer = PlanAnswer.model_validate_json(
        plan_json(
            {"tool": "check_health", "target": "orders"},
            {"tool": "apply_fix", "target": "users", "fix_type": "drop_table"},
        )
    )
    with pytest.raises(InvalidAnswer, match="'drop_table' is destructive"):
        to_plan(answer, TABLES, VERSIONS)


# --- parse: JSON against the named schema ---------------------------------------------------------

VALID_PLAN = plan_json({"tool": "check_health", "target": "orders"})


@pytest.mark.parametrize(
    "text",
    [
        f"```json\n{VALID_PLAN}\n```",
        f"```\n{VALID_PLAN}\n```",
        f"  ```json{VALID_PLAN}```  \n",
        f"\n{VALID_PLAN}\n",
    ],
)
def test_parse_strips_json_fences_and_whitespace(text: str) -> None:
    assert parse("plan", text) == parse("plan", VALID_PLAN)


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        ("plan", VALID_PLAN),
        ("revision", '{"revise": false}'),
        ("constraint_evolution", '{"changes": []}'),
    ],
)
def test_parse_accepts_a_minimal_answer_of_each_schema(schema: str, text: str) -> None:
    parse(schema, text)


@pytest.mark.parametrize("text", ["", "   \n", "```json\n```", "```\n\n```"])
def test_an_empty_answer_is_refused(text: str) -> None:
    with pytest.raises(InvalidAnswer, match=r"^empty answer$"):
        parse("plan", text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "Invalid JSON"),
        ("Sure! Here is the plan: " + VALID_PLAN, "Invalid JSON"),
        (VALID_PLAN + " I hope this helps", "trailing characters"),
        (VALID_PLAN + VALID_PLAN, "trailing characters"),
        ("[" + VALID_PLAN + "]", "(answer)"),
        (json.dumps({"reasoning": "why", "confidence": 0.8}), "actions: Field required"),
        (plan_json(), "actions: List should have at least 1 item"),
        (
            plan_json({"tool": "check_health", "target": "orders"}, sql="DROP TABLE users"),
            "sql: Extra inputs",
        ),
        (
            plan_json({"tool": "check_health", "target": "orders", "sql": "DROP TABLE users"}),
            "actions.0.sql: Extra inputs",
        ),
        (plan_json({"tool": "check_health"}), "actions.0.target: Field required"),
        (plan_json({"tool": "check_health", "target": "orders"}, confidence=1.5), "confidence"),
        (plan_json({"tool": "check_health", "target": "orders"}, reasoning=""), "reasoning"),
        (plan_json(*[{"tool": "check_health", "target": "orders"}] * 13), "actions"),
        (plan_json({"tool": "check_health", "target": 5}), "actions.0.target"),
    ],
)
def test_a_malformed_or_wrongly_shaped_plan_is_refused_with_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InvalidAnswer, match="not a valid plan answer") as refused:
        parse("plan", text)
    assert reason in str(refused.value)


def test_an_answer_to_another_schema_is_refused() -> None:
    with pytest.raises(InvalidAnswer, match="not a valid plan answer"):
        parse("plan", '{"revise": true, "description": "x", "criteria": []}')
    with pytest.raises(InvalidAnswer, match="not a valid revision answer"):
        parse("revision", VALID_PLAN)


# --- to_goal: a revision over metrics pipefix measures ------------------------------------------


def test_a_revision_becomes_the_next_goal_version() -> None:
    current = baseline_goal()
    goal = to_goal(
        revision(
            {"metric": "contract_version.orders", "op": ">=", "threshold": 2},
            {"metric": "health", "op": ">=", "threshold": 0.95, "scale": 0.05},
            description="  Adapt orders to v2  ",
            focus_tables=["orders"],
        ),
        current,
        TABLES,
        METRICS,
    )
    assert goal is not None
    assert goal.version == current.version + 1
    assert goal.description == "Adapt orders to v2"
    assert goal.criteria == (
        Criterion("contract_version.orders", ">=", 2),
        Criterion("health", ">=", 0.95, 0.05),
    )
    assert goal.focus_tables == ("orders",)


def test_revise_false_keeps_the_goal() -> None:
    assert to_goal(RevisionAnswer(revise=False), baseline_goal(), TABLES, METRICS) is None


@pytest.mark.parametrize(
    "metric", ["latency", "Health", "health; DROP TABLE users", "contract_version.customers", ""]
)
def test_a_criterion_over_an_unknown_metric_is_refused(metric: str) -> None:
    answer = revision(
        {"metric": "health", "op": ">=", "threshold": 0.9}, {"metric": metric, "op": "<", "threshold": 1}
    )
    with pytest.raises(InvalidAnswer, match="unknown metric") as refused:
        to_goal(answer, baseline_goal(), TABLES, METRICS)
    assert "health" in str(refused.value).split("pipefix measures")[1]


@pytest.mark.parametrize("fields", [{}, {"description": ""}, {"description": "   "}])
def test_a_revision_needs_criteria_and_a_description(fields: dict[str, Any]) -> None:
    criteria = () if not fields else ({"metric": "health", "op": ">=", "threshold": 0.9},)
    with pytest.raises(InvalidAnswer, match="needs a description and at least one criterion"):
        to_goal(revision(*criteria, **fields), baseline_goal(), TABLES, METRICS)


@pytest.mark.parametrize("focus", ["customers", "orders; DROP TABLE users"])
def test_a_revision_focused_on_a_table_that_does_not_exist_is_refused(focus: str) -> None:
    answer = revision({"metric": "health", "op": ">=", "threshold": 0.9}, focus_tables=[focus])
    with pytest.raises(InvalidAnswer):
        to_goal(answer, baseline_goal(), TABLES, METRICS)


@pytest.mark.parametrize(
    "criterion",
    [
        '{"metric": "health", "op": "!=", "threshold": 1}',
        '{"metric": "health", "op": ">=", "threshold": 1, "scale": 0}',
        '{"metric": "health", "op": ">=", "threshold": "high"}',
        '{"metric": "health", "op": ">=", "threshold": 1, "sql": "1=1"}',
    ],
)
def test_a_malformed_criterion_is_refused_at_parse(criterion: str) -> None:
    with pytest.raises(InvalidAnswer, match="not a valid revision answer"):
        parse("revision", f'{{"revise": true, "description": "x", "criteria": [{criterion}]}}')


@pytest.mark.parametrize("threshold", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_threshold_is_refused(threshold: str) -> None:
    text = (
        '{"revise": true, "description": "x", "criteria": '
        f'[{{"metric": "health", "op": ">=", "threshold": {threshold}}}]}}'
    )
    with pytest.raises(InvalidAnswer):
        goal_from(text)


# --- to_changes: evolving constraints -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["budget", "safety"])
@pytest.mark.parametrize("change_", ["add", "modify", "remove"])
def test_budget_and_safety_constraints_cannot_evolve(kind: str, change_: str) -> None:
    with pytest.raises(InvalidAnswer, match=f"{kind} constraints are fixed"):
        to_changes(evolution(change(change_, kind)), 6, BASE, TABLES)


@pytest.mark.parametrize("kind", ["no_drops", "SHADOW_VALIDATION", ""])
def test_an_unknown_constraint_kind_is_refused(kind: str) -> None:
    with pytest.raises(InvalidAnswer, match="unknown constraint kind"):
        to_changes(evolution(change("add", kind, "orders")), 6, BASE, TABLES)


@pytest.mark.parametrize("name", ["customers", "orders; DROP TABLE users", "оrders"])
def test_a_constraint_over_a_table_that_does_not_exist_is_refused(name: str) -> None:
    with pytest.raises(InvalidAnswer):
        to_changes(evolution(change("add", "shadow_validation", "orders", name)), 6, BASE, TABLES)


def test_an_added_constraint_is_typed_and_names_its_origin() -> None:
    changes = to_changes(
        evolution(
            change("add", "shadow_validation", "orders", "events", description="validate on a copy"),
            change("add", "replay_after_change", "orders"),
            change("add", "cooldown", "events", until_step=11),
        ),
        6,
        BASE,
        TABLES,
    )
    assert [(c.step, c.change, c.reason) for c in changes] == [(6, "add", "observed")] * 3
    assert [c.constraint for c in changes] == [
        Constraint(
            ConstraintKind.SHADOW_VALIDATION,
            "validate on a copy",
            frozenset({"orders", "events"}),
            origin="evolved at step 6",
        ),
        Constraint(
            ConstraintKind.REPLAY_AFTER_CHANGE,
            "replay after change",
            frozenset({"orders"}),
            origin="evolved at step 6",
        ),
        Constraint(ConstraintKind.COOLDOWN, "cooldown", frozenset({"events"}), 11, "evolved at step 6"),
    ]


@pytest.mark.parametrize(
    ("active", "added"),
    [
        ((shadow("orders"),), change("add", "shadow_validation", "orders")),
        ((shadow("orders", "events"),), change("add", "shadow_validation", "orders")),
        ((shadow("orders", "events"),), change("add", "shadow_validation", "events", "orders")),
        ((shadow("orders"),), change("add", "shadow_validation")),
        ((cooldown("orders"),), change("add", "cooldown", "orders", until_step=20)),
    ],
    ids=["same", "narrower", "same-reordered", "no-scope", "cooldown-same-scope"],
)
def test_an_add_never_duplicates_an_existing_constraint(
    active: tuple[Constraint, ...], added: dict[str, Any]
) -> None:
    assert to_changes(evolution(added), 9, (*BASE, *active), TABLES) == ()


def test_a_cooldown_on_another_table_is_not_a_duplicate() -> None:
    changes = to_changes(
        evolution(change("add", "cooldown", "events")), 9, (*BASE, cooldown("orders")), TABLES
    )
    assert [c.constraint.tables for c in changes] == [frozenset({"events"})]
    assert changes[0].constraint.limit == 9 + 3


def test_an_add_already_held_by_a_later_constraint_of_its_kind_is_not_a_duplicate() -> None:
    active = (*BASE, shadow("orders"), shadow("orders", "events"))
    assert (
        to_changes(evolution(change("add", "shadow_validation", "orders", "events")), 9, active, TABLES) == ()
    )


def test_the_same_add_twice_in_one_answer_adds_one_constraint() -> None:
    added = change("add", "shadow_validation", "orders")
    changes = to_changes(evolution(added, added), 9, BASE, TABLES)
    evolved = apply_changes(BASE, changes)
    assert len([c for c in evolved if c.kind is ConstraintKind.SHADOW_VALIDATION]) == 1


@pytest.mark.parametrize("change_", ["modify", "remove"])
@pytest.mark.parametrize(
    ("kind", "active"),
    [
        ("shadow_validation", ()),
        ("replay_after_change", (shadow("orders"),)),
        ("cooldown", ()),
        ("cooldown", (cooldown("events"),)),
    ],
)
def test_modify_and_remove_need_an_existing_constraint(
    change_: str, kind: str, active: tuple[Constraint, ...]
) -> None:
    with pytest.raises(InvalidAnswer, match=f"no active {kind} constraint to {change_}"):
        to_changes(evolution(change(change_, kind, "orders")), 9, (*BASE, *active), TABLES)


def test_modify_rescopes_and_remove_names_the_existing_constraint() -> None:
    existing = shadow("orders")
    modified = to_changes(
        evolution(change("modify", "shadow_validation", "orders", "events")), 9, (*BASE, existing), TABLES
    )
    assert [(c.change, c.constraint) for c in modified] == [
        (
            "modify",
            Constraint(
                existing.kind, existing.description, frozenset({"orders", "events"}), 0, existing.origin
            ),
        )
    ]
    removed = to_changes(evolution(change("remove", "shadow_validation")), 9, (*BASE, existing), TABLES)
    assert [(c.change, c.constraint) for c in removed] == [("remove", existing)]
    assert apply_changes((*BASE, existing), removed) == BASE


def test_a_refused_change_refuses_the_whole_answer() -> None:
    with pytest.raises(InvalidAnswer, match="safety constraints are fixed"):
        to_changes(
            evolution(change("add", "shadow_validation", "orders"), change("remove", "safety")),
            9,
            BASE,
            TABLES,
        )
