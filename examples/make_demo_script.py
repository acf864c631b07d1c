"""Writes examples/demo-model-script.json: the answers a model would give in the 25-step demo.

Replay it with `pipefix demo --model file:examples/demo-model-script.json`: the LLM planner,
reviser and constraint evolver then run offline, each answer validated like a live model's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TABLES = ("users", "orders", "products", "events", "sessions", "payments", "inventory", "analytics")


def plan(step: int, actions: list[dict[str, Any]], reasoning: str, confidence: float = 0.9) -> dict[str, Any]:
    return {
        "schema": "plan",
        "response": {
            "hypotheses": [],
            "reasoning": reasoning,
            "expected_outcome": "",
            "confidence": confidence,
            "actions": actions,
        },
        "step": step,
    }


def evolution(step: int, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": "constraint_evolution", "response": {"changes": changes}, "step": step}


def script(steps: int = 25, drift_step: int = 8) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for step in range(1, steps + 1):
        if step % 3 == 0:
            changes = []
            if step == drift_step + 1:
                for kind, text in (
                    (
                        "shadow_validation",
                        "schema changes must be validated on a shadow copy before deployment",
                    ),
                    (
                        "replay_after_change",
                        "every contract change must be followed by a replay of held rows",
                    ),
                ):
                    changes.append(
                        {
                            "change": "add",
                            "kind": kind,
                            "tables": ["orders", "events"],
                            "description": text,
                            "reason": "schema checks failed on orders and events",
                        }
                    )
            answers.append(evolution(step, changes))
        if step == drift_step:
            answers.append(
                {
                    "schema": "revision",
                    "step": step,
                    "response": {
                        "revise": True,
                        "description": "Adapt orders and events to schema v2.0 with backward compatibility",
                        "reason": "orders and events rows are rejected for their shape: schema v2.0 arrived",
                        "focus_tables": ["orders", "events"],
                        "criteria": [
                            {"metric": "health", "op": ">=", "threshold": 0.95, "scale": 0.05},
                            {"metric": "error_rate", "op": "<", "threshold": 0.02, "scale": 0.05},
                            {"metric": "contract_version.orders", "op": ">=", "threshold": 2},
                            {"metric": "contract_version.events", "op": ">=", "threshold": 2},
                            {"metric": "drifted_rows_open.orders", "op": "<=", "threshold": 0, "scale": 1000},
                            {"metric": "drifted_rows_open.events", "op": "<=", "threshold": 0, "scale": 1000},
                            {"metric": "original_columns_kept.orders", "op": ">=", "threshold": 1},
                        ],
                    },
                }
            )
            answers.append(
                plan(
                    step,
                    [
                        {"tool": "run_diagnostic", "target": "orders"},
                        {"tool": "run_diagnostic", "target": "events"},
                    ],
                    "orders and events rows are rejected for their shape; diagnose before changing",
                )
            )
        elif step == drift_step + 1:
            answers.append(
                plan(
                    step,
                    [
                        {"tool": "apply_fix", "target": "orders", "fix_type": "schema_migration"},
                        {"tool": "apply_fix", "target": "orders", "fix_type": "retry_failed"},
                        {"tool": "apply_fix", "target": "events", "fix_type": "schema_migration"},
                        {"tool": "apply_fix", "target": "events", "fix_type": "add_adapter"},
                        {"tool": "apply_fix", "target": "events", "fix_type": "retry_failed"},
                    ],
                    "add the new columns losslessly, read epoch-ms timestamps with an adapter, replay",
                    0.85,
                )
            )
        else:
            target = TABLES[(step - 1) % len(TABLES)]
            answers.append(plan(step, [{"tool": "check_health", "target": target}], "routine check", 0.95))
    return answers


if __name__ == "__main__":
    out = Path(__file__).with_name("demo-model-script.json")
    out.write_text(json.dumps(script(), indent=1) + "\n")
    print(f"wrote {out}")
