"""JSON round-trips of the domain's dataclasses: from_json(T, to_json(x)) == x."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.domain.actions import Action, ActionResult, FixType, Plan, Tool
from pipefix.domain.constraints import Constraint, ConstraintChange, ConstraintKind, Refusal
from pipefix.domain.goals import Criterion, CriterionResult, Evaluation, Goal
from pipefix.domain.records import Revision, StepMetrics, StepRecord, TableHealth
from pipefix.domain.serde import from_json, from_plain, to_json, to_plain
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.tools.run_diagnostic import Diagnosis
from tests.tiers import examples

TYPES = ("bigint", "integer", "double", "varchar", "boolean", "timestamp", "date", "json", "decimal(12,2)")

names = st.text(min_size=1, max_size=12)
floats = st.floats(allow_nan=False, allow_infinity=False)
counts = st.integers(0, 10**9)
small_tuple = st.lists(names, max_size=3).map(tuple)

columns_st = st.builds(
    ColumnSpec,
    name=names,
    type=st.sampled_from(TYPES),
    nullable=st.booleans(),
    min=st.one_of(st.none(), floats),
    max=st.one_of(st.none(), floats),
    values=st.one_of(st.none(), small_tuple),
)
contracts_st = st.builds(
    Contract,
    table=names,
    version=st.integers(1, 100),
    columns=st.lists(columns_st, max_size=5).map(tuple),
    key=st.one_of(st.none(), names),
    freshness_column=st.one_of(st.none(), names),
    freshness_seconds=st.one_of(st.none(), counts),
)
criteria_st = st.builds(
    Criterion,
    metric=names,
    op=st.sampled_from([">=", "<=", "<", ">", "=="]),
    threshold=floats,
    scale=floats,
)
goals_st = st.builds(
    Goal,
    description=st.text(max_size=40),
    version=st.integers(1, 100),
    criteria=st.lists(criteria_st, max_size=4).map(tuple),
    focus_tables=small_tuple,
)
actions_st = st.builds(
    Action,
    tool=st.sampled_from(Tool),
    target=names,
    fix_type=st.one_of(st.none(), st.sampled_from(FixType), names),
    version=st.one_of(st.none(), st.integers(1, 100)),
)
plans_st = st.builds(
    Plan,
    actions=st.lists(actions_st, max_size=4).map(tuple),
    reasoning=st.text(max_size=40),
    hypotheses=small_tuple,
    expected_outcome=st.text(max_size=20),
    confidence=st.floats(0, 1),
)
json_values = st.one_of(
    st.none(), st.booleans(), counts, floats, st.text(max_size=10), st.lists(names, max_size=3)
)
results_st = st.builds(
    ActionResult,
    action=actions_st,
    ok=st.booleans(),
    detail=st.text(max_size=20),
    rows_affected=counts,
    evidence=st.dictionaries(names, json_values, max_size=3),
)
constraints_st = st.builds(
    Constraint,
    kind=st.sampled_from(ConstraintKind),
    description=st.text(max_size=20),
    tables=st.frozensets(names, max_size=3),
    limit=st.integers(0, 100),
    origin=st.text(max_size=20),
)
tables_st = st.builds(
    TableHealth,
    table=names,
    checks=st.dictionaries(names, st.booleans(), max_size=4),
    received=counts,
    loaded=counts,
    quarantined=counts,
    quarantine_open=counts,
    quarantine_schema_open=counts,
    contract_version=st.integers(1, 100),
    original_columns_kept=st.booleans(),
    drift=small_tuple,
)
metrics_st = st.builds(
    StepMetrics,
    step=st.integers(1, 1000),
    health=floats,
    error_rate=floats,
    throughput=floats,
    throughput_ratio=floats,
    schema_conformance=floats,
    received=counts,
    loaded=counts,
    quarantined=counts,
    tables=st.lists(tables_st, max_size=3).map(tuple),
)
evaluations_st = st.builds(
    Evaluation,
    score=st.floats(-1, 1),
    results=st.lists(
        st.builds(
            CriterionResult,
            criterion=criteria_st,
            value=st.one_of(st.none(), floats),
            met=st.booleans(),
            score=st.floats(-1, 1),
        ),
        max_size=3,
    ).map(tuple),
)
revisions_st = st.builds(
    Revision,
    step=st.integers(1, 1000),
    reason=st.text(max_size=20),
    from_goal=goals_st,
    to_goal=goals_st,
    evidence=st.dictionaries(names, st.lists(st.text(max_size=10), max_size=3), max_size=3),
)
records_st = st.builds(
    StepRecord,
    step=st.integers(1, 1000),
    metrics=metrics_st,
    evaluation=evaluations_st,
    goal_version=st.integers(1, 100),
    revision=st.one_of(st.none(), revisions_st),
    plan=st.one_of(st.none(), plans_st),
    refused=st.lists(
        st.builds(Refusal, action=actions_st, constraint=names, reason=st.text(max_size=20)), max_size=2
    ).map(tuple),
    amendments=small_tuple,
    results=st.lists(results_st, max_size=3).map(tuple),
    constraint_changes=st.lists(
        st.builds(
            ConstraintChange,
            step=st.integers(1, 1000),
            change=st.sampled_from(["add", "modify", "remove"]),
            constraint=constraints_st,
            reason=st.text(max_size=20),
        ),
        max_size=2,
    ).map(tuple),
)


@settings(max_examples=examples(200), deadline=None)
@given(contract=contracts_st)
def test_contract_round_trips(contract: Contract) -> None:
    assert from_json(Contract, to_json(contract)) == contract


@settings(max_examples=examples(200), deadline=None)
@given(goal=goals_st)
def test_goal_round_trips(goal: Goal) -> None:
    assert from_json(Goal, to_json(goal)) == goal


@settings(max_examples=examples(200), deadline=None)
@given(value=plans_st)
def test_plan_round_trips(value: Plan) -> None:
    assert from_json(Plan, to_json(value)) == value


@settings(max_examples=examples(200), deadline=None)
@given(constraint=constraints_st)
def test_constraint_round_trips(constraint: Constraint) -> None:
    back = from_json(Constraint, to_json(constraint))
    assert back == constraint
    assert back.kind is constraint.kind
    assert isinstance(back.tables, frozenset)


@settings(max_examples=examples(100), deadline=None)
@given(record=records_st)
def test_step_record_round_trips(record: StepRecord) -> None:
    assert from_json(StepRecord, to_json(record)) == record
    assert from_plain(StepRecord, to_plain(record)) == record


def test_enums_are_restored_as_enums_not_bare_strings() -> None:
    action = Action(Tool.ROLLBACK, "orders", version=2)
    back = from_json(Action, to_json(action))
    assert back.tool is Tool.ROLLBACK
    assert str(back) == "rollback(orders, v2)"


def test_to_json_is_plain_sorted_json() -> None:
    text = to_json(Criterion("health", ">=", 0.95, scale=0.05))
    assert json.loads(text) == {"metric": "health", "op": ">=", "threshold": 0.95, "scale": 0.05}
    assert text == json.dumps(json.loads(text), sort_keys=True)


def test_a_diagnosis_with_drifts_survives_to_plain_and_back() -> None:
    diagnosis = Diagnosis(
        table="orders",
        contract_version=1,
        open_rows=12,
        schema_rows=10,
        drifts=(
            Drift(DriftKind.ADDED, "orders", "currency_code", observed="varchar", rows=10),
            Drift(DriftKind.RETYPED, "orders", "created_at", "timestamp", "bigint", 10, "epoch_ms"),
        ),
        top_reasons=(("unexpected column(s): currency_code", 10),),
        first_bad_batch="orders/b3.jsonl",
        samples=('{"order_id": 1}',),
    )
    back = from_plain(Diagnosis, to_plain(diagnosis))
    assert back == diagnosis
    assert back.drifts[1].kind is DriftKind.RETYPED
