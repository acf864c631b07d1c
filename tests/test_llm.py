"""The LLM planning path end to end, on a real DuckDB demo, driven by scripted models only.

A scripted model (`--model file:PATH`) answers like a live one, each answer validated before
anything acts. Bad answers are refused with the reason audited and nothing destructive runs; the
retry carries the reason; a step is skipped, or taken by the rules with the fallback; and the mode
line says LIVE only once the model has answered."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import chdir
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult
from pydantic import Field

from examples.make_demo_script import script as demo_script
from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.domain.actions import Action, FixType, Plan, Tool
from pipefix.domain.records import StepRecord
from pipefix.engines import store
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.planners.llm import AnswerRefused, LLMSession
from pipefix.planners.llm_schemas import to_plan
from pipefix.planners.scripted import ScriptedChatModel
from pipefix.planners.select import OFFLINE_MODE
from pipefix.report.summary import build_summary
from pipefix.scenario.demo import DemoError, DemoOptions, DemoRun, execute, prepare, run_demo
from pipefix.scenario.tables import SOURCE_TABLES
from tests.demo_checks import destructive_statements

Answer = dict[str, Any]
Audited = list[tuple[int, str, dict[str, Any]]]


GOOD = {"tool": "run_diagnostic", "target": "users"}
GOOD_ACTION = Action(Tool.RUN_DIAGNOSTIC, "users")


def plan(*actions: Answer, reasoning: str = "scripted plan", **extra: Any) -> Answer:
    body = {"reasoning": reasoning, "confidence": 0.8, "actions": list(actions)}
    return {"schema": "plan", "response": {**body, **extra}}


def good_plan() -> Answer:
    return plan(GOOD, reasoning="the second answer")


def criteria() -> list[Answer]:
    return [
        {"metric": "health", "op": ">=", "threshold": 0.95, "scale": 0.05},
        {"metric": "contract_version.orders", "op": ">=", "threshold": 2},
    ]


def revision(
    description: str = "Adapt orders to v2", reason: str = "orders drifted", **fields: Any
) -> Answer:
    body = {"revise": True, "description": description, "reason": reason, "focus_tables": ["orders"]}
    return {"schema": "revision", "response": {**body, "criteria": criteria(), **fields}}


def write_script(folder: Path, answers: list[Answer]) -> str:
    path = folder / "model-script.json"
    path.write_text(json.dumps(answers, indent=1), encoding="utf-8")
    return f"file:{path}"


def destructive(run: DemoRun) -> list[str]:
    """Statements that dropped, truncated or deleted anything but pipefix's own scratch tables."""
    return destructive_statements(run.pipeline.engine.statement_log)


def audited(run: DemoRun, kind: str) -> Audited:
    return store.audit_trail(run.pipeline.engine, (kind,))


def step(run: DemoRun, number: int) -> StepRecord:
    return next(r for r in run.records if r.step == number)


def planned(record: StepRecord) -> Plan:
    assert record.plan is not None
    return record.plan


def assert_tables_intact(run: DemoRun) -> None:
    for table in SOURCE_TABLES:
        assert run.pipeline.engine.query(f"SELECT count(*) FROM {table}")[0][0] > 0, table
    assert destructive(run) == []


RunDemo = Callable[..., DemoRun]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunDemo]:
    """Run a short demo on a DuckDB file in tmp_path, planned by the given scripted answers."""
    runs: list[DemoRun] = []

    def run(answers: list[Answer], **options: Any) -> DemoRun:
        folder = tmp_path / f"run{len(runs)}"
        folder.mkdir()
        settings: dict[str, Any] = {"steps": 1, **options}
        result = run_demo(
            DemoOptions(db=folder / "w.duckdb", model=write_script(folder, answers), **settings)
        )
        runs.append(result)
        return result

    yield run
    for result in runs:
        result.pipeline.engine.close()


# --- 1. the scripted model repairs the demo -------------------------------------------------------

SCRIPT = demo_script(steps=12)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    folder = tmp_path_factory.mktemp("llm-demo")
    run = run_demo(DemoOptions(db=folder / "w.duckdb", steps=12, model=write_script(folder, SCRIPT)))
    yield run
    run.pipeline.engine.close()


@pytest.fixture(scope="module")
def full_summary(full: DemoRun) -> dict[str, Any]:
    state = full.final_state
    return build_summary(
        full.pipeline, full.records, state["goal"], state["constraints"], state["stop_reason"]
    )


def _scripted(schema: str) -> list[Answer]:
    return [a for a in SCRIPT if a["schema"] == schema]


def test_the_scripted_model_repairs_the_drift_without_losing_a_row(full_summary: dict[str, Any]) -> None:
    assert full_summary["steps"] == 12
    assert full_summary["drift_step"] == 8
    assert full_summary["recovered_step"] is not None
    assert full_summary["recovered_step"] <= 13
    assert full_summary["rows"]["lost"] == 0
    assert full_summary["rows"]["duplicated"] == 0
    assert full_summary["rows"]["replayed"] > 0


def test_every_step_is_planned_by_the_model(full: DemoRun) -> None:
    reasons = [a["response"]["reasoning"] for a in _scripted("plan")]
    assert [planned(r).reasoning for r in full.records] == reasons
    assert planned(step(full, 9)).actions[:2] == (
        Action(Tool.APPLY_FIX, "orders", FixType.SCHEMA_MIGRATION),
        Action(Tool.APPLY_FIX, "orders", FixType.RETRY_FAILED),
    )
    assert all(result.ok for result in step(full, 9).results)


def test_the_one_revision_is_the_models_goal(full: DemoRun, full_summary: dict[str, Any]) -> None:
    (answer,) = _scripted("revision")
    assert len(full_summary["revisions"]) == 1
    assert full_summary["revisions"][0]["step"] == 8
    assert full_summary["revisions"][0]["reason"] == answer["response"]["reason"]
    goal = full.final_state["goal"]
    assert goal.version == 2
    assert goal.description == answer["response"]["description"]
    assert len(goal.criteria) == len(answer["response"]["criteria"])
    assert [v for v, *_ in store.goals(full.pipeline.engine)] == [1, 2]


def test_the_constraint_evolutions_are_the_models(full: DemoRun, full_summary: dict[str, Any]) -> None:
    evolutions = full_summary["constraints"]["evolutions"]
    assert [(e["step"], e["change"], e["constraint"]) for e in evolutions] == [
        (9, "add", "shadow_validation[events,orders]"),
        (9, "add", "replay_after_change[events,orders]"),
    ]
    proposed = [c for a in _scripted("constraint_evolution") for c in a["response"]["changes"]]
    added = audited(full, "constraint_add")
    assert [p["description"] for _, _, p in added] == [c["description"] for c in proposed]
    assert {p["reason"] for _, _, p in added} == {c["reason"] for c in proposed}
    active = {c.name for c in full.final_state["constraints"]}
    assert {"shadow_validation[events,orders]", "replay_after_change[events,orders]"} <= active


def test_the_session_is_live_and_every_call_is_audited_with_tokens_and_latency(full: DemoRun) -> None:
    session = full.deciders.session
    assert session is not None
    assert session.live is True
    assert session.calls == session.answered == len(SCRIPT)
    assert (session.refused, session.fallbacks) == (0, 0)
    calls = audited(full, "llm_call")
    assert len(calls) == len(SCRIPT)
    assert [p["schema"] for _, _, p in calls].count("plan") == 12
    assert [p["schema"] for _, _, p in calls].count("revision") == 1
    assert [p["schema"] for _, _, p in calls].count("constraint_evolution") == 4
    for _, _, payload in calls:
        assert payload["ok"] is True
        assert payload["attempt"] == 1
        assert payload["model"] == session.label
        assert isinstance(payload["latency_ms"], int)
        assert payload["latency_ms"] >= 0
        tokens = payload["tokens"]
        assert set(tokens) == {"input_tokens", "output_tokens", "total_tokens"}
        assert all(isinstance(n, int) and n > 0 for n in tokens.values())
    assert sum(p["tokens"]["total_tokens"] for _, _, p in calls) == session.tokens
    assert audited(full, "llm_refused") == []


def test_the_full_run_says_live_and_ran_nothing_destructive(full: DemoRun) -> None:
    line = full.deciders.mode_line()
    assert line.startswith("LIVE — file:")
    assert f"{len(SCRIPT)} of {len(SCRIPT)} calls answered and accepted (0 refused, 0 taken offline" in line
    assert destructive(full) == []


# --- 2. each bad answer is refused, with the reason, and nothing destructive runs -----------------

BAD_ANSWERS: list[tuple[str, Answer, str, dict[str, Any]]] = [
    (
        "malformed-json",
        {"schema": "plan", "raw": "{not json"},
        "not a valid plan answer: (answer): Invalid JSON",
        {},
    ),
    (
        "missing-actions",
        {"schema": "plan", "response": {"reasoning": "r", "confidence": 0.5}},
        "actions: Field required",
        {},
    ),
    (
        "extra-key",
        plan({"tool": "check_health", "target": "orders"}, sql="DROP TABLE users"),
        "sql: Extra inputs are not permitted",
        {},
    ),
    (
        "extra-key-in-action",
        plan({"tool": "check_health", "target": "orders", "sql": "DELETE FROM users"}),
        "actions.0.sql: Extra inputs are not permitted",
        {},
    ),
    ("unknown-tool", plan({"tool": "execute_sql", "target": "users"}), "unknown tool 'execute_sql'", {}),
    (
        "drop-table",
        plan({"tool": "apply_fix", "target": "users", "fix_type": "drop_table"}),
        "fix type 'drop_table' is destructive and never allowed",
        {},
    ),
    (
        "smuggled-statement",
        plan({"tool": "check_health", "target": "orders; DROP TABLE users"}),
        "'orders; DROP TABLE users' is not a table name",
        {},
    ),
    (
        "smuggled-quote",
        plan({"tool": "apply_fix", "target": 'orders" --', "fix_type": "retry_failed"}),
        "is not a table name",
        {},
    ),
    ("unknown-table", plan({"tool": "run_diagnostic", "target": "customers"}), "no table 'customers'", {}),
    ("empty", {"schema": "plan", "raw": ""}, "empty answer", {}),
    (
        "timeout",
        {**plan({"tool": "apply_fix", "target": "orders", "fix_type": "schema_migration"}), "sleep": 2},
        "no answer within 0.5s",
        {"llm_timeout": 0.5},
    ),
    (
        "provider-error",
        {"schema": "plan", "error": "overloaded"},
        "provider error: RuntimeError: overloaded",
        {},
    ),
]


@pytest.mark.parametrize(
    ("bad", "reason", "options"), [case[1:] for case in BAD_ANSWERS], ids=[case[0] for case in BAD_ANSWERS]
)
def test_a_bad_answer_is_refused_with_its_reason_and_the_retry_is_used(
    demo: RunDemo, bad: Answer, reason: str, options: dict[str, Any]
) -> None:
    run = demo([bad, good_plan()], **options)
    calls = audited(run, "llm_call")
    assert [(s, p["attempt"], p["ok"]) for s, _, p in calls] == [(1, 1, False), (1, 2, True)]
    assert reason in calls[0][2]["refused"]
    assert calls[0][2]["latency_ms"] >= (500 if "llm_timeout" in options else 0)
    assert "tokens" in calls[1][2]
    assert audited(run, "llm_refused") == []
    record = step(run, 1)
    assert planned(record).actions == (GOOD_ACTION,)
    assert planned(record).reasoning == "the second answer"
    assert [r.action for r in record.results] == [GOOD_ACTION]
    assert run.deciders.session is not None
    assert (run.deciders.session.calls, run.deciders.session.refused) == (2, 1)
    assert_tables_intact(run)


class RecordingModel(ScriptedChatModel):
    """A scripted model that keeps every conversation it was asked."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


def test_the_retry_carries_the_reason_and_the_refused_answer(tmp_path: Path) -> None:
    bad = plan({"tool": "apply_fix", "target": "users", "fix_type": "drop_table"})
    spec = write_script(tmp_path, [bad, good_plan()])
    run = prepare(DemoOptions(db=tmp_path / "w.duckdb", steps=1, model=spec))
    try:
        assert run.deciders.session is not None
        model = RecordingModel(script=[bad, good_plan()], source=spec)
        run.deciders.session.model = model
        execute(run)
        first, retry = model.seen
        assert retry[: len(first)] == first
        answer, question = retry[len(first) :]
        assert isinstance(answer, AIMessage)
        assert json.loads(str(answer.content)) == bad["response"]
        assert isinstance(question, HumanMessage)
        assert question.content == (
            "Refused: fix type 'drop_table' is destructive and never allowed. Answer again, schema `plan`."
        )
        assert planned(step(run, 1)).actions == (GOOD_ACTION,)
        assert destructive(run) == []
    finally:
        run.pipeline.engine.close()


TWO_BAD = [
    plan({"tool": "apply_fix", "target": "users", "fix_type": "truncate_table"}),
    plan({"tool": "apply_fix", "target": "orders; DROP TABLE users", "fix_type": "retry_failed"}),
]


def test_two_bad_answers_skip_the_step_without_fallback(demo: RunDemo) -> None:
    run = demo(TWO_BAD)
    record = step(run, 1)
    assert planned(record).actions == ()
    assert planned(record).reasoning.startswith("step skipped: the model's plan was refused (")
    assert "is not a table name" in planned(record).reasoning
    assert record.results == ()
    calls = audited(run, "llm_call")
    assert [p["ok"] for _, _, p in calls] == [False, False]
    assert "'truncate_table' is destructive" in calls[0][2]["refused"]
    (refused,) = audited(run, "llm_refused")
    assert refused[0] == 1
    assert refused[2]["role"] == "planner"
    assert refused[2]["fallback"] is False
    assert "'orders; DROP TABLE users' is not a table name" in refused[2]["reason"]
    assert run.deciders.session is not None
    assert run.deciders.session.fallbacks == 0
    assert_tables_intact(run)


def test_two_bad_answers_are_taken_by_the_rules_with_fallback(demo: RunDemo) -> None:
    run = demo(TWO_BAD, fallback=True)
    record = step(run, 1)
    assert planned(record).reasoning.startswith("offline planner (model refused: ")
    assert planned(record).actions
    assert all(r.ok for r in record.results)
    (refused,) = audited(run, "llm_refused")
    assert refused[2]["fallback"] is True
    assert run.deciders.session is not None
    assert run.deciders.session.fallbacks == 1
    assert "1 taken offline" in run.deciders.mode_line()
    assert_tables_intact(run)


def test_running_out_of_answers_is_refused_and_audited_never_a_silent_cycle(demo: RunDemo) -> None:
    run = demo([good_plan()], steps=2)
    assert [r.step for r in run.records] == [1, 2]
    assert run.final_state["stop_reason"] == "completed 2 steps"
    assert planned(step(run, 1)).actions == (GOOD_ACTION,)
    calls = audited(run, "llm_call")
    assert [(s, p["ok"]) for s, _, p in calls] == [(1, True), (2, False), (2, False)]
    for _, _, payload in calls[1:]:
        assert "has no plan answer left (it had 1)" in payload["refused"]
    (refused,) = audited(run, "llm_refused")
    assert refused[0] == 2
    assert "has no plan answer left" in refused[2]["reason"]
    assert planned(step(run, 2)).actions == ()
    assert planned(step(run, 2)).reasoning.startswith("step skipped")
    assert destructive(run) == []


REFUSED_REVISIONS = [
    revision(criteria=[{"metric": "latency_p99", "op": "<", "threshold": 1}]),
    revision(criteria=[]),
]


def test_a_refused_revision_keeps_the_goal_without_fallback(demo: RunDemo) -> None:
    run = demo([*REFUSED_REVISIONS, good_plan()], drift_step=1)
    record = step(run, 1)
    assert record.revision is None
    assert record.goal_version == 1
    assert [v for v, *_ in store.goals(run.pipeline.engine)] == [1]
    calls = [p for _, _, p in audited(run, "llm_call") if p["schema"] == "revision"]
    assert "unknown metric 'latency_p99'" in calls[0]["refused"]
    (refused,) = audited(run, "llm_refused")
    assert refused[2]["role"] == "reviser"
    assert "needs a description and at least one criterion" in refused[2]["reason"]
    assert planned(record).actions == (GOOD_ACTION,)
    assert destructive(run) == []


def test_a_refused_revision_is_taken_by_the_rules_with_fallback(demo: RunDemo) -> None:
    run = demo([*REFUSED_REVISIONS, good_plan()], drift_step=1, fallback=True)
    revised = step(run, 1).revision
    assert revised is not None
    assert revised.to_goal.version == 2
    assert revised.to_goal.description != "Adapt orders to v2"
    assert {"orders", "events"} <= set(revised.to_goal.focus_tables)
    (refused,) = audited(run, "llm_refused")
    assert (refused[2]["role"], refused[2]["fallback"]) == ("reviser", True)
    assert [v for v, *_ in store.goals(run.pipeline.engine)] == [1, 2]


def test_a_revision_accepted_on_retry_keeps_the_retrys_reason(demo: RunDemo) -> None:
    refused = revision(
        "refused goal", "REFUSED reason", criteria=[{"metric": "latency_p99", "op": "<", "threshold": 1}]
    )
    run = demo([refused, revision("accepted goal", "ACCEPTED reason"), good_plan()], drift_step=1)
    revised = step(run, 1).revision
    assert revised is not None
    assert revised.to_goal.description == "accepted goal"
    assert revised.reason == "ACCEPTED reason"


@pytest.mark.parametrize("fallback", [False, True], ids=["no-fallback", "fallback"])
def test_a_refused_constraint_evolution(demo: RunDemo, fallback: bool) -> None:
    evolutions: list[Answer] = [
        {
            "schema": "constraint_evolution",
            "response": {"changes": [{"change": "remove", "kind": "safety", "reason": "in the way"}]},
        },
        {
            "schema": "constraint_evolution",
            "response": {"changes": [{"change": "modify", "kind": "budget", "reason": "need more fixes"}]},
        },
    ]
    plans = [plan({"tool": "run_diagnostic", "target": "orders"}), good_plan(), good_plan()]
    run = demo([revision(), *plans, *evolutions], drift_step=1, steps=3, fallback=fallback)
    calls = [p for _, _, p in audited(run, "llm_call") if p["schema"] == "constraint_evolution"]
    assert "safety constraints are fixed" in calls[0]["refused"]
    assert "budget constraints are fixed" in calls[1]["refused"]
    (refused,) = audited(run, "llm_refused")
    assert (refused[0], refused[2]["role"], refused[2]["fallback"]) == (3, "evolver", fallback)
    kinds = {c.kind for c in run.final_state["constraints"]}
    assert {"budget", "safety"} <= kinds
    changes = step(run, 3).constraint_changes
    if fallback:
        assert changes
        assert all(c.constraint.origin == "evolved at step 3" for c in changes)
        assert all(c.constraint.kind not in ("budget", "safety") for c in changes)
    else:
        assert changes == ()
        assert len(run.final_state["constraints"]) == 2
    assert destructive(run) == []


# --- 3. the mode line tells the truth -------------------------------------------------------------


def test_before_any_call_the_mode_line_does_not_claim_live(tmp_path: Path) -> None:
    spec = write_script(tmp_path, [good_plan()])
    run = prepare(DemoOptions(db=tmp_path / "w.duckdb", steps=1, model=spec))
    try:
        assert run.deciders.mode_line() == f"model {spec} (LIVE once it answers)"
    finally:
        run.pipeline.engine.close()


@pytest.mark.parametrize(
    ("answers", "options", "error"),
    [
        (
            [{"schema": "plan", "error": "overloaded"}, {"schema": "plan", "error": "overloaded"}],
            {},
            "provider error: RuntimeError: overloaded",
        ),
        (
            [{**good_plan(), "sleep": 2}, {**good_plan(), "sleep": 2}],
            {"llm_timeout": 0.5},
            "no answer within 0.5s",
        ),
    ],
    ids=["errors", "timeouts"],
)
def test_a_model_that_never_answered_is_not_called_live(
    demo: RunDemo, answers: list[Answer], options: dict[str, Any], error: str
) -> None:
    run = demo(answers, **options)
    session = run.deciders.session
    assert session is not None
    assert session.live is False
    assert (session.calls, session.answered, session.refused) == (2, 0, 2)
    line = run.deciders.mode_line()
    assert not line.startswith("LIVE")
    assert line == f"{session.label} never answered ({error})"
    assert planned(step(run, 1)).actions == ()
    assert destructive(run) == []


def test_a_model_that_answered_is_live(demo: RunDemo) -> None:
    run = demo([{"schema": "plan", "error": "overloaded"}, good_plan()])
    line = run.deciders.mode_line()
    assert line.startswith("LIVE — file:")
    assert "1 of 2 calls answered and accepted (1 refused, 0 taken offline" in line


def test_an_unusable_model_without_fallback_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        DemoError, match=r"requests to real models are switched off here \(anthropic:claude-x\)"
    ):
        prepare(DemoOptions(db=tmp_path / "w.duckdb", steps=1, model="anthropic:claude-x"))
    result = CliRunner().invoke(
        main, ["demo", "--db", str(tmp_path / "cli.duckdb"), "--steps", "1", "--model", "anthropic:claude-x"]
    )
    assert result.exit_code != 0
    assert "requests to real models are switched off here (anthropic:claude-x)" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_unusable_model_exits_2_from_the_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["demo", "--db", str(tmp_path / "w.duckdb"), "--steps", "1", "--model", "anthropic:claude-x"]
    )
    assert result.exit_code == 2


def test_an_unusable_model_with_fallback_runs_offline_and_says_why(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "demo",
            "--db",
            str(tmp_path / "w.duckdb"),
            "--steps",
            "1",
            "--no-color",
            "--model",
            "anthropic:claude-x",
            "--fallback",
            "offline",
        ],
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    why = (
        "mode: offline — deterministic rules planner, reviser and constraint evolver (no LLM) — "
        "requests to real models are switched off here (anthropic:claude-x); --fallback offline"
    )
    assert output.count(why) == 2  # the header's mode line and the final one
    assert "mode: LIVE" not in output


# --- 4. only the user picks a model: an API key in the environment never does ------------------------

KEY_HINTS = (
    "ANTHROPIC_API_KEY is set: --model anthropic:claude-sonnet-4-5 would plan with it",
    "OPENAI_API_KEY is set: --model openai:gpt-4o would plan with it",
)


@pytest.fixture
def provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both providers' keys exported, as on a developer's machine (set after conftest removed them)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-key")


@pytest.mark.usefixtures("provider_keys")
def test_the_demo_plans_offline_when_provider_keys_are_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["demo", "--db", str(tmp_path / "w.duckdb"), "--steps", "2", "--no-color"]
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "needs the openai package" not in output
    assert "switched off" not in output  # no model was even asked for
    assert "LIVE" not in output
    mode = f"mode: {OFFLINE_MODE} — {KEY_HINTS[0]}; {KEY_HINTS[1]}"
    assert output.count(mode) == 2  # the header's mode line and the final one
    assert "Step 2 | score +1.00" in output
    engine = DuckDBEngine(tmp_path / "w.duckdb", read_only=True)
    try:
        assert store.audit_trail(engine, ("llm_call",)) == []
    finally:
        engine.close()


def init_shop(folder: Path, model: str | None = None) -> Path:
    with chdir(folder):
        assert CliRunner().invoke(main, ["init", "shop"]).exit_code == 0
    config = folder / "shop" / "pipefix.yaml"
    if model is not None:
        config.write_text(config.read_text(encoding="utf-8") + f"model: {model}\n", encoding="utf-8")
    return config


def run_shop(config: Path, *options: str) -> str:
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--no-color", *options])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.usefixtures("provider_keys")
def test_a_model_in_pipefix_yaml_plans_and_the_command_line_wins(tmp_path: Path) -> None:
    config = init_shop(tmp_path, model="file:answers.json")  # relative to pipefix.yaml
    script = config.parent.resolve() / "answers.json"
    answers = [plan({"tool": "run_diagnostic", "target": "orders"}, reasoning="from pipefix.yaml")]
    script.write_text(json.dumps(answers), encoding="utf-8")
    output = run_shop(config)
    assert f"mode: LIVE — file:{script}: 1 of 1 calls answered and accepted" in output
    assert "-> run_diagnostic(orders) ok" in output
    assert not any(hint in output for hint in KEY_HINTS)  # a model was chosen: no hint
    offline = run_shop(config, "--model", "offline")
    assert f"mode: {OFFLINE_MODE}" in offline
    assert "LIVE" not in offline
    assert not any(hint in offline for hint in KEY_HINTS)


@pytest.mark.usefixtures("provider_keys")
def test_pipefix_run_without_a_model_plans_offline_and_mentions_the_keys(tmp_path: Path) -> None:
    output = run_shop(init_shop(tmp_path))
    assert f"mode: {OFFLINE_MODE} — {KEY_HINTS[0]}; {KEY_HINTS[1]}" in output
    with Pipeline.open(tmp_path / "shop" / "pipefix.yaml") as pipeline:
        summary = pipeline.run(steps=1)
    assert summary["model"] is None
    assert pipeline.deciders.session is None


def test_a_bad_model_in_pipefix_yaml_is_a_config_error(tmp_path: Path) -> None:
    config = init_shop(tmp_path, model="gpt-4o")
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 2
    lines = config.read_text(encoding="utf-8").splitlines()
    assert f"{config}:{len(lines)}: model: 'gpt-4o': use PROVIDER:NAME" in result.output
    assert "Traceback" not in result.output


# --- the session on its own -----------------------------------------------------------------------


def _session(answers: list[Answer], audit: Audited) -> LLMSession:
    return LLMSession(
        ScriptedChatModel(script=answers), "scripted", lambda s, k, p: audit.append((s, k, p)), timeout=5
    )


def _ask_plan(session: LLMSession) -> Plan:
    return session.ask(1, "plan", "Choose the next actions.", lambda a: to_plan(a, ("users", "orders"), {}))


def test_a_session_refuses_after_two_bad_answers_with_the_last_reason() -> None:
    audit: Audited = []
    session = _session([{"schema": "plan", "raw": "{not json"}, {"schema": "plan", "raw": ""}], audit)
    with pytest.raises(AnswerRefused, match=r"^empty answer$"):
        _ask_plan(session)
    assert [(p["attempt"], p["ok"]) for _, _, p in audit] == [(1, False), (2, False)]
    assert session.last_error == "empty answer"


def test_an_answer_in_content_blocks_is_read_as_its_text() -> None:
    body = json.dumps({"reasoning": "r", "confidence": 0.5, "actions": [GOOD]})
    audit: Audited = []
    session = _session([{"schema": "plan", "raw": [{"type": "text", "text": body}]}] * 2, audit)
    assert _ask_plan(session).actions == (GOOD_ACTION,)
