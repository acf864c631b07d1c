"""Which chat model plans: `file:PATH` (scripted), `PROVIDER:NAME` through LangChain's
init_chat_model, or a provider's default when its API key is set."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from pipefix.errors import PipefixError
from pipefix.planners.scripted import ScriptedChatModel, ScriptError

# Tests set this to False: any request to a real model then fails loudly, before the network.
ALLOW_MODEL_REQUESTS = True

PROVIDERS = {
    "anthropic": ("langchain_anthropic", "ANTHROPIC_API_KEY"),
    "openai": ("langchain_openai", "OPENAI_API_KEY"),
    "ollama": ("langchain_ollama", None),
}
DEFAULTS = (("ANTHROPIC_API_KEY", "anthropic:claude-sonnet-4-5"), ("OPENAI_API_KEY", "openai:gpt-4o"))


class ModelUnavailable(PipefixError):
    """A model that cannot be used as asked, with what to do about it."""


def default_model(environ: Mapping[str, str] = os.environ) -> str | None:
    """The default model of the first provider whose API key is set, or None (offline)."""
    return next((spec for key, spec in DEFAULTS if environ.get(key)), None)


def resolve(spec: str, timeout: float) -> BaseChatModel:
    if spec.startswith("file:"):
        try:
            return ScriptedChatModel.from_file(Path(spec[len("file:") :]).expanduser())
        except ScriptError as error:
            raise ModelUnavailable(str(error)) from None
    provider, _, name = spec.partition(":")
    if not name or provider not in PROVIDERS:
        raise ModelUnavailable(
            f"--model {spec!r}: use PROVIDER:NAME with a provider of {', '.join(PROVIDERS)}, or file:PATH"
        )
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
