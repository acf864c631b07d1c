"""Who plans this run: the offline rules, or a chat model (with the rules as the fallback only
when the user allows it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipefix.planners.models import ModelUnavailable, key_hint, resolve
from pipefix.planners.protocols import Evolver, Planner, Reviser
from pipefix.planners.rules import RulesEvolver, RulesPlanner, RulesReviser

if TYPE_CHECKING:  # LangChain's messages and chat models: imported only when a model plans
    from pipefix.planners.llm import Audit, LLMSession

OFFLINE_MODE = "offline — deterministic rules planner, reviser and constraint evolver (no LLM)"


@dataclass
class Deciders:
    planner: Planner
    reviser: Reviser
    evolver: Evolver
    session: LLMSession | None
    note: str = ""  # why a requested model is not used, or which model a key set would allow

    def mode_line(self) -> str:
        if self.session is None:
            return OFFLINE_MODE + (f" — {self.note}" if self.note else "")
        return (
            self.session.mode_line()
            if self.session.calls
            else f"model {self.session.label} (LIVE once it answers)"
        )


def choose(
    model: str | None,
    *,
    fallback: bool,
    timeout: float,
    audit: Audit,
    tables: tuple[str, ...],
    environ: Mapping[str, str] = os.environ,
) -> Deciders:
    """`model`: "offline", "file:PATH", "PROVIDER:NAME", or None when nobody chose: the rules plan,
    and a provider key set in `environ` is only mentioned in the mode line (a key alone never
    switches to a paid model). A model that cannot be used is an error unless `fallback`."""
    if model is None or model == "offline":
        note = key_hint(environ) if model is None else ""
        return Deciders(RulesPlanner(), RulesReviser(), RulesEvolver(), None, note=note)
    try:
        chat = resolve(model, timeout)
    except ModelUnavailable as error:
        if not fallback:
            raise
        return Deciders(
            RulesPlanner(), RulesReviser(), RulesEvolver(), None, note=f"{error}; --fallback offline"
        )
    from pipefix.planners.llm import LLMEvolver, LLMPlanner, LLMReviser, LLMSession

    session = LLMSession(chat, model, audit, timeout=timeout, fallback=fallback)
    return Deciders(LLMPlanner(session), LLMReviser(session), LLMEvolver(session, tables), session)
