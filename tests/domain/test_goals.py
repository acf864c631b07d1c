"""Criteria, the evaluator's score in [-1, 1], the baseline goal and goal revision."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.domain.goals import Comparator, Criterion, Goal, baseline_goal, evaluate
from tests.tiers import examples

OPS: tuple[Comparator, ...] = (">=", "<=", "<", ">", "==")


@pytest.mark.parametrize(
    ("op", "value", "threshold"),
    [
        (">=", 0.95, 0.95),
        (">=", 1.0, 0.95),
        ("<=", 0.0, 0.0),
        ("<", 0.01, 0.02),
        (">", 3.0, 2.0),
        ("==", 1, 1),
    ],
)
def test_a_met_criterion_scores_plus_one(op: Comparator, value: float, threshold: float) -> None:
    criterion = Criterion("m", op, threshold)
    assert criterion.is_met(value)
    assert criterion.score(value) == 1.0


@pytest.mark.parametrize("op", OPS)
def test_an_unmeasured_metric_is_a_failed_criterion(op: Comparator) -> None:
    assert Criterion("m", op, 0.0).score(None) == -1.0


def test_an_unmet_criterion_scores_minus_gap_over_scale() -> None:
    criterion = Criterion("health", ">=", 0.95, scale=0.05)
    assert not criterion.is_met(0.93)
    assert criterion.score(0.93) == pytest.approx(-0.02 / 0.05)
    assert criterion.score(0.90) == pytest.approx(-1.0)


def test_the_penalty_grows_with_the_gap_and_is_floored_at_minus_one() -> None:
    criterion = Criterion("error_rate", "<", 0.02, scale=0.05)
    small, large, huge = criterion.score(0.03), criterion.score(0.05), criterion.score(5.0)
    assert -1.0 < large < small < 0.0
    assert huge == -1.0


def test_a_larger_scale_softens_the_same_gap() -> None:
    strict = Criterion("throughput_ratio", ">=", 0.9, scale=0.1)
    lenient = Criterion("throughput_ratio", ">=", 0.9, scale=1.0)
    assert strict.score(0.85) == pytest.approx(-0.5)
    assert lenient.score(0.85) == pytest.approx(-0.05)


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_a_non_positive_scale_makes_any_miss_a_full_failure(scale: float) -> None:
    criterion = Criterion("health", ">=", 0.95, scale=scale)
    assert criterion.score(0.9499) == -1.0
    assert criterion.score(0.95) == 1.0


def test_str_reads_like_the_criterion() -> None:
    assert str(Criterion("health", ">=", 0.95)) == "health >= 0.95"
    assert str(Criterion("drifted_rows_open.orders", "<=", 0)) == "drifted_rows_open.orders <= 0"


def test_evaluate_is_the_mean_of_the_criterion_scores() -> None:
    goal = Goal(
        "two criteria",
        1,
        (Criterion("health", ">=", 0.95, scale=0.05), Criterion("error_rate", "<", 0.02, scale=0.04)),
    )
    evaluation = evaluate(goal, {"health": 0.99, "error_rate": 0.04})
    # health is met (+1); error_rate misses by 0.02 over a 0.04 scale (-0.5): mean 0.25
    assert evaluation.score == pytest.approx(0.25)
    assert [r.met for r in evaluation.results] == [True, False]
    assert [r.value for r in evaluation.results] == [0.99, 0.04]
    assert not evaluation.all_met
    assert [r.criterion.metric for r in evaluation.unmet] == ["error_rate"]


def test_a_missing_metric_counts_as_unmet_with_minus_one() -> None:
    goal = Goal("g", 1, (Criterion("health", ">=", 0.5), Criterion("contract_version.orders", ">=", 2)))
    evaluation = evaluate(goal, {"health": 1.0})
    missing = evaluation.results[1]
    assert (missing.value, missing.met, missing.score) == (None, False, -1.0)
    assert evaluation.score == pytest.approx(0.0)


def test_a_goal_without_criteria_scores_zero() -> None:
    assert evaluate(Goal("nothing", 1, ()), {"health": 1.0}).score == 0.0


def test_baseline_goal_criteria() -> None:
    goal = baseline_goal(health=0.9, error_rate=0.05)
    assert goal.version == 1
    assert goal.focus_tables == ()
    assert [(c.metric, c.op, c.threshold) for c in goal.criteria] == [
        ("health", ">=", 0.9),
        ("error_rate", "<", 0.05),
        ("throughput_ratio", ">=", 0.9),
        ("schema_conformance", ">=", 1.0),
        ("rows_held_for_shape", "<=", 0),
        ("max_held_share", "<", 0.05),
    ]
    assert all(c.scale > 0 for c in goal.criteria)


def test_baseline_goal_is_met_by_a_healthy_pipeline_and_not_by_a_drifted_one() -> None:
    goal = baseline_goal()
    held_none = {"rows_held_for_shape": 0.0, "max_held_share": 0.0}
    healthy = {
        "health": 1.0,
        "error_rate": 0.0,
        "throughput_ratio": 1.0,
        "schema_conformance": 1.0,
    } | held_none
    drifted = {
        "health": 0.7,
        "error_rate": 0.3,
        "throughput_ratio": 1.0,
        "schema_conformance": 0.5,
        "rows_held_for_shape": 300.0,
        "max_held_share": 0.3,
    }
    assert evaluate(goal, healthy).score == 1.0
    assert evaluate(goal, healthy).all_met
    low = evaluate(goal, drifted)
    assert low.score < 0
    assert {r.criterion.metric for r in low.unmet} == {
        "health",
        "error_rate",
        "schema_conformance",
        "rows_held_for_shape",
        "max_held_share",
    }


def test_revised_bumps_the_version_and_replaces_the_content() -> None:
    goal = baseline_goal()
    criteria = (Criterion("contract_version.orders", ">=", 2),)
    revised = goal.revised("adapt orders", criteria, ("orders",))
    assert revised.version == goal.version + 1
    assert (revised.description, revised.criteria, revised.focus_tables) == (
        "adapt orders",
        criteria,
        ("orders",),
    )
    assert goal.version == 1  # the original goal is untouched
    assert revised.revised("again", (), ()).version == goal.version + 2


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
criteria_st = st.builds(
    Criterion,
    metric=st.sampled_from(["a", "b", "c", "d"]),
    op=st.sampled_from(OPS),
    threshold=finite,
    scale=st.floats(min_value=-1.0, max_value=1e3, allow_nan=False),
)
metrics_st = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), finite)


@settings(max_examples=examples(200), deadline=None)
@given(criterion=criteria_st, value=st.one_of(st.none(), st.floats()))
def test_a_criterion_score_is_within_minus_one_and_one(criterion: Criterion, value: float | None) -> None:
    score = criterion.score(value)
    assert -1.0 <= score <= 1.0
    assert (score == 1.0) == (value is not None and criterion.is_met(value))


@settings(max_examples=examples(200), deadline=None)
@given(criteria=st.lists(criteria_st, min_size=1, max_size=8), metrics=metrics_st)
def test_the_score_is_bounded_and_one_exactly_when_all_met(
    criteria: list[Criterion], metrics: dict[str, float]
) -> None:
    evaluation = evaluate(Goal("g", 1, tuple(criteria)), metrics)
    assert -1.0 <= evaluation.score <= 1.0
    assert len(evaluation.results) == len(criteria)
    assert (evaluation.score == 1.0) == evaluation.all_met
    everything_met = all(c.metric in metrics and c.is_met(metrics[c.metric]) for c in criteria)
    assert evaluation.all_met == everything_met
