"""The LLM planner, goal reviser and constraint evolver: any LangChain chat model, never more
power than the typed actions.

Each question names the JSON schema its answer must follow; the answer is validated into the
same domain objects the rules return (llm_schemas.py). An invalid answer is asked again once
with the reason; then the step is skipped, or the offline rules take it when allowed. Every
call — tokens, latency, and what was refused and why — goes to the audit trail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from pipefix.domain.actions import Plan
from pipefix.domain.constraints import Constraint, ConstraintChange
from pipefix.domain.records import Revision, StepRecord
from pipefix.errors import PipefixError
from pipefix.planners import rules
from pipefix.planners.llm_schemas import SCHEMAS, InvalidAnswer, parse, to_changes, to_goal, to_plan
from pipefix.planners.view import PlanningView

T = TypeVar("T")
Audit = Callable[[int, str, dict[str, Any]], None]


class AnswerRefused(PipefixError):
    """No usable answer after the retry: the reason of the last refusal."""


@dataclass
class LLMSession:
    """One model for a run, with the counts that make the mode line tell the truth."""

    model: BaseChatModel
    label: str
    audit: Audit
    timeout: float = 60.0
    fallback: bool = False
    calls: int = 0
    answered: int = 0  # replies received, usable or not
    accepted: int = 0  # replies that passed validation
    refused: int = 0
    fallbacks: int = 0
    tokens: int = 0
    last_error: str | None = None
    _first_answer_step: int | None = field(default=None, repr=False)

    @property
    def live(self) -> bool:
        """LIVE means the model's own answers drive the run: at least one was accepted."""
        return self.accepted > 0

    def mode_line(self) -> str:
        if self.live:
            return (
                f"LIVE — {self.label}: {self.accepted} of {self.calls} calls answered and accepted "
                f"({self.refused} refused, {self.fallbacks} taken offline, "
                f"{self.tokens} tokens as the model reported them)"
            )
        if self.answered:
            return (
                f"{self.label} answered {self.answered} calls but none was usable ({self.last_error}); "
                f"{self.fallbacks} taken offline"
            )
        return f"{self.label} never answered ({self.last_error or 'not asked'})"

    def ask(self, step: int, schema: str, question: str, validate: Callable[[Any], T]) -> T:
        system = (
            f"You are pipefix's {schema.replace('_', ' ')} step. Answer with one JSON object of "
            f"schema `{schema}` and nothing else. JSON schema:\n"
            + json.dumps(SCHEMAS[schema].model_json_schema(), separators=(",", ":"))
        )
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(question)]
        reason = "not asked"
        for attempt in (1, 2):
            self.calls += 1
            started = time.monotonic()
            reply, reason = self._call(messages)
            record: dict[str, Any] = {
                "schema": schema,
                "attempt": attempt,
                "model": self.label,
                "latency_ms": round((time.monotonic() - started) * 1000),
            }
            if reply is not None:
                self.answered += 1
                usage: dict[str, Any] = dict(reply.usage_metadata or {})
                record["tokens"] = {
                    k: usage.get(k) for k in ("input_tokens", "output_tokens", "total_tokens")
                }
                self.tokens += int(usage.get("total_tokens") or 0)
                text = reply.text  # content blocks (a list) are joined into their text
                try:
                    value = validate(parse(schema, text))
                except InvalidAnswer as error:
                    reason = str(error)
                    messages += [
                        AIMessage(text),
                        HumanMessage(f"Refused: {reason}. Answer again, schema `{schema}`."),
                    ]
                else:
                    self.accepted += 1
                    self.audit(step, "llm_call", {**record, "ok": True})
                    return value
            self.refused += 1
            self.last_error = reason
            self.audit(step, "llm_call", {**record, "ok": False, "refused": reason})
        raise AnswerRefused(reason)

    def _call(self, messages: list[BaseMessage]) -> tuple[AIMessage | None, str]:
        pool = ThreadPoolExecutor(max_workers=1)
        future = pool.submit(self.model.invoke, messages)
        try:
            reply = future.result(timeout=self.timeout)
        except FutureTimeout:
            return None, f"no answer within {self.timeout:g}s"
        except Exception as error:  # a provider's failure, whatever its type, is recorded, not raised
            return None, f"provider error: {type(error).__name__}: {str(error)[:300]}"
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return reply, ""

    def refused_step(self, step: int, role: str, error: AnswerRefused) -> None:
        self.audit(step, "llm_refused", {"role": role, "reason": str(error), "fallback": self.fallback})
        if self.fallback:
            self.fallbacks += 1


def _facts(view: PlanningView) -> dict[str, Any]:
    """What the model is told: the goal, the evidence, the rules, and what was tried."""
    return {
        "step": view.step,
        "goal": {"description": view.goal.description, "criteria": [str(c) for c in view.goal.criteria]},
        "evaluation": {
            "score": view.evaluation.score,
            "unmet": [f"{r.criterion} (measured {r.value})" for r in view.evaluation.unmet],
        },
        "tables": {
            t.table: {
                "contract_version": t.contract_version,
                "received": t.received,
                "quarantined": t.quarantined,
                "held_in_quarantine": t.quarantine_open,
                "failing_checks": list(t.failing),
                "drift": list(t.drift),
            }
            for t in view.metrics.tables
        },
        "diagnoses": {
            name: {
                "drift": [str(d) for d in d_.drifts],
                "top_reasons": [f"{n} x {r}" for r, n in d_.top_reasons[:3]],
                "sample": list(d_.samples[:1]),
            }
            for name, d_ in view.diagnoses.items()
        },
        "constraints": [f"{c.name}: {c.description}" for c in view.constraints],
        "fixes_used": view.fixes_used,
        "recent_actions": [
            f"{r.action} -> {'ok' if r.ok else 'FAILED'}: {r.detail[:160]}" for r in view.recent_results()
        ],
        "tools": {
            "check_health": "target: a table or 'pipeline'",
            "run_diagnostic": "target: a table; compares held rows with its contract",
            "apply_fix": "target: a table; fix_type: schema_migration | add_adapter | retry_failed | "
            "increase_throughput (target 'pipeline')",
            "rollback": "target: a table; version: an earlier contract version",
        },
    }


@dataclass
class LLMPlanner:
    session: LLMSession
    name: str = "llm"

    def plan(self, view: PlanningView) -> Plan:
        tables = [t.table for t in view.metrics.tables]
        versions = {t.table: t.contract_version for t in view.metrics.tables}
        question = "Choose the next actions.\n" + json.dumps(_facts(view), indent=1)
        try:
            return self.session.ask(view.step, "plan", question, lambda a: to_plan(a, tables, versions))
        except AnswerRefused as error:
            self.session.refused_step(view.step, "planner", error)
            if self.session.fallback:
                offline = rules.RulesPlanner().plan(view)
                return Plan(
                    offline.actions,
                    f"offline planner (model refused: {error}): {offline.reasoning}",
                    offline.hypotheses,
                    offline.expected_outcome,
                    offline.confidence,
                )
            return Plan(
                actions=(), reasoning=f"step skipped: the model's plan was refused ({error})", confidence=0
            )


@dataclass
class LLMReviser:
    session: LLMSession
    name: str = "llm"

    def revise(self, view: PlanningView, threshold: float) -> Revision | None:
        if view.evaluation.score > threshold:
            return None  # the threshold decides when; the model decides what
        offline = rules.RulesReviser().revise(view, threshold)
        evidence = offline.evidence if offline else {}
        tables = [t.table for t in view.metrics.tables]
        metrics = view.metrics.as_signals()
        question = (
            f"The goal's score is {view.evaluation.score:.2f}, at or below {threshold}. Revise the goal "
            "if the evidence calls for it, with criteria over these metrics: "
            f"{', '.join(sorted(metrics))}.\n" + json.dumps({**_facts(view), "evidence": evidence}, indent=1)
        )
        try:
            answer: list[Any] = []

            def validate(given: Any) -> Any:
                answer.append(given)
                return to_goal(given, view.goal, tables, metrics)

            goal = self.session.ask(view.step, "revision", question, validate)
        except AnswerRefused as error:
            self.session.refused_step(view.step, "reviser", error)
            return offline if self.session.fallback else None
        if goal is None:
            return None
        reason = (
            answer[-1].reason or f"score {view.evaluation.score:.2f} <= {threshold:.2f}"
        )  # the accepted one
        return Revision(view.step, reason, view.goal, goal, evidence)


@dataclass
class LLMEvolver:
    session: LLMSession
    tables: tuple[str, ...]
    name: str = "llm"

    def evolve(
        self, step: int, window: tuple[StepRecord, ...], active: tuple[Constraint, ...]
    ) -> tuple[ConstraintChange, ...]:
        observed = [
            {
                "step": r.step,
                "failing_checks": [f"{t.table}.{c}" for t in r.metrics.tables for c in t.failing],
                "failed_fixes": [str(x.action) for x in r.results if not x.ok and x.action.is_fix],
            }
            for r in window
        ]
        question = (
            "Propose constraint changes (add, modify, remove) from these observed violations only; "
            "evolvable kinds: shadow_validation, replay_after_change, cooldown.\n"
            + json.dumps({"active": [f"{c.name}: {c.description}" for c in active], "observed": observed})
        )
        try:
            return self.session.ask(
                step, "constraint_evolution", question, lambda a: to_changes(a, step, active, self.tables)
            )
        except AnswerRefused as error:
            self.session.refused_step(step, "evolver", error)
            return rules.RulesEvolver().evolve(step, window, active) if self.session.fallback else ()
