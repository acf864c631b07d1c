"""Who plans this run: the offline rules, or a chat model (with the rules as the fallback only
when the user allows it)."""

from __future__ import annotations

from dataclasses import dataclass

from pipefix.planners.llm import Audit, LLMEvolver, LLMPlanner, LLMReviser, LLMSession
from pipefix.planners.models import ModelUnavailable, default_model, resolve
from pipefix.planners.protocols import Evolver, Planner, Reviser
from pipefix.planners.rules import RulesEvolver, RulesPlanner, RulesReviser

OFFLINE_MODE = "offline — deterministic rules planner, reviser and constraint evolver (no LLM)"


@dataclass
class Deciders:
    planner: Planner
    reviser: Reviser
    evolver: Evolver
    session: LLMSession | None
    note: str = ""  # why a requested model is not used

    def mode_line(self) -> str:
        if self.session is None:
            return OFFLINE_MODE + (f" — {self.note}" if self.note else "")
        return (
            self.session.mode_line()
            if self.session.calls
            else f"model {self.session.label} (LIVE once it answers)"
        )


def choose(
    model: str | None, *, fallback: bool, timeout: float, audit: Audit, tables: tuple[str, ...]
) -> Deciders:
    """`model`: None (a provider's default if its API key is set, else offline), "offline",
    "file:PATH" or "PROVIDER:NAME". A model that cannot be used is an error unless `fallback`."""
    spec = default_model() if model is None else (None if model == "offline" else model)
    if spec is None:
        return Deciders(RulesPlanner(), RulesReviser(), RulesEvolver(), None)
    try:
        chat = resolve(spec, timeout)
    except ModelUnavailable as error:
        if not fallback:
            raise
        return Deciders(
            RulesPlanner(), RulesReviser(), RulesEvolver(), None, note=f"{error}; --fallback offline"
        )
    session = LLMSession(chat, spec, audit, timeout=timeout, fallback=fallback)
    return Deciders(LLMPlanner(session), LLMReviser(session), LLMEvolver(session, tables), session)
