"""Who plans: only a model the user names. An API key in the environment is mentioned, never used."""

from __future__ import annotations

import pytest

from pipefix.planners.models import ModelUnavailable, key_hint, resolve, spec_problem
from pipefix.planners.rules import RulesPlanner
from pipefix.planners.select import OFFLINE_MODE, Deciders, choose

BOTH_KEYS = {"ANTHROPIC_API_KEY": "sk-ant-test", "OPENAI_API_KEY": "sk-test"}
ANTHROPIC_HINT = "ANTHROPIC_API_KEY is set: --model anthropic:claude-sonnet-4-5 would plan with it"
OPENAI_HINT = "OPENAI_API_KEY is set: --model openai:gpt-4o would plan with it"


def chosen(model: str | None, environ: dict[str, str]) -> Deciders:
    return choose(
        model, fallback=False, timeout=1.0, audit=lambda *_: None, tables=("orders",), environ=environ
    )


@pytest.mark.parametrize(
    ("environ", "hint"),
    [
        ({}, ""),
        ({"OPENAI_API_KEY": "sk-test"}, OPENAI_HINT),
        ({"ANTHROPIC_API_KEY": "sk-ant-test"}, ANTHROPIC_HINT),
        (BOTH_KEYS, f"{ANTHROPIC_HINT}; {OPENAI_HINT}"),
        ({"OPENAI_API_KEY": ""}, ""),
    ],
    ids=["no-key", "openai", "anthropic", "both", "empty-key"],
)
def test_a_key_in_the_environment_never_picks_a_model(environ: dict[str, str], hint: str) -> None:
    deciders = chosen(None, environ)
    assert deciders.session is None
    assert isinstance(deciders.planner, RulesPlanner)
    assert key_hint(environ) == hint
    assert deciders.mode_line() == (f"{OFFLINE_MODE} — {hint}" if hint else OFFLINE_MODE)


def test_an_explicit_offline_is_not_second_guessed() -> None:
    deciders = chosen("offline", BOTH_KEYS)
    assert deciders.session is None
    assert deciders.mode_line() == OFFLINE_MODE


def test_a_named_provider_is_asked_for_even_with_no_key() -> None:
    # The conftest switches real requests off: reaching that check proves the model was chosen.
    with pytest.raises(ModelUnavailable, match=r"requests to real models are switched off here"):
        chosen("openai:gpt-4o", {})


@pytest.mark.parametrize(
    "spec", ["offline", "file:answers.json", "openai:gpt-4o", "anthropic:claude-sonnet-4-5", "ollama:x"]
)
def test_specs_pipefix_can_follow(spec: str) -> None:
    assert spec_problem(spec) is None


@pytest.mark.parametrize("spec", ["", "gpt-4o", "file:", "file: ", "openai:", "mistral:large", "OFFLINE"])
def test_specs_that_name_no_model(spec: str) -> None:
    problem = spec_problem(spec)
    assert problem is not None
    assert problem.endswith(
        "use PROVIDER:NAME with a provider of anthropic, openai, ollama, file:PATH or offline"
    )
    with pytest.raises(ModelUnavailable, match=r"^--model "):
        resolve(spec, 1.0)
