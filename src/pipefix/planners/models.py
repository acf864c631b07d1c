"""Which chat model plans: `file:PATH` (scripted) or `PROVIDER:NAME` through LangChain's
init_chat_model. Only a choice the user writes (`--model`, or `model:` in pipefix.yaml) picks a
model: an API key in the environment never does — it may cost money — and is only mentioned."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pipefix.errors import PipefixError

if TYPE_CHECKING:  # LangChain's chat models cost most of a second to import: only when one plans
    from langchain_core.language_models import BaseChatModel

# Tests set this to False: any request to a real model then fails loudly, before the network.
ALLOW_MODEL_REQUESTS = True

PROVIDERS = {
    "anthropic": ("langchain_anthropic", "ANTHROPIC_API_KEY"),
    "openai": ("langchain_openai", "OPENAI_API_KEY"),
    "ollama": ("langchain_ollama", None),
}
# What the mode line suggests when a provider's key is set and no model was chosen.
SUGGESTED = (("ANTHROPIC_API_KEY", "anthropic:claude-sonnet-4-5"), ("OPENAI_API_KEY", "openai:gpt-4o"))


class ModelUnavailable(PipefixError):
    """A model that cannot be used as asked, with what to do about it."""


def spec_problem(spec: str) -> str | None:
    """Why `spec` is not `offline`, `file:PATH` or `PROVIDER:NAME` with a known provider; None if it is."""
    if spec == "offline" or (spec.startswith("file:") and spec[len("file:") :].strip()):
        return None
    provider, _, name = spec.partition(":")
    if provider in PROVIDERS and name.strip():
        return None
    return f"{spec!r}: use PROVIDER:NAME with a provider of {', '.join(PROVIDERS)}, file:PATH or offline"


def key_hint(environ: Mapping[str, str] = os.environ) -> str:
    """For the mode line when no model was chosen: the provider keys that are set, and the
    `--model` that would use each. A key alone never switches the planner to a paid model."""
    return "; ".join(
        f"{key} is set: --model {spec} would plan with it" for key, spec in SUGGESTED if environ.get(key)
    )


def resolve(spec: str, timeout: float) -> BaseChatModel:
    """The chat model `spec` names (`file:PATH` or `PROVIDER:NAME`; `offline` is no model)."""
    problem = spec_problem(spec)
    if problem is not None or spec == "offline":
        raise ModelUnavailable(f"--model {problem or repr(spec) + ' names no model'}")
    if spec.startswith("file:"):
        from pipefix.planners.scripted import ScriptedChatModel, ScriptError

        try:
            return ScriptedChatModel.from_file(Path(spec[len("file:") :]).expanduser())
        except ScriptError as error:
            raise ModelUnavailable(str(error)) from None
    provider, _, name = spec.partition(":")
    if not ALLOW_MODEL_REQUESTS:
        raise ModelUnavailable(f"requests to real models are switched off here ({spec})")
    package, key = PROVIDERS[provider]
    if importlib.util.find_spec(package) is None:
        raise ModelUnavailable(f"{spec} needs the {provider} package: pip install 'pipefix[{provider}]'")
    if key is not None and not os.environ.get(key):
        raise ModelUnavailable(f"{spec} needs {key} in the environment")
    from langchain.chat_models import init_chat_model

    model: BaseChatModel = init_chat_model(name, model_provider=provider, timeout=timeout, max_retries=0)
    return model
