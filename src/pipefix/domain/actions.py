"""The typed, allowlisted actions the agent may take, and plans made of them.

A plan has the structured shape an LLM planner returns too, so either planner can drop in.
Nothing here carries SQL: actions name a tool, a fix type and a target table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Tool(StrEnum):
    CHECK_HEALTH = "check_health"
    RUN_DIAGNOSTIC = "run_diagnostic"
    APPLY_FIX = "apply_fix"
    ROLLBACK = "rollback"


class FixType(StrEnum):
    SCHEMA_MIGRATION = "schema_migration"
    ADD_ADAPTER = "add_adapter"
    RETRY_FAILED = "retry_failed"
    INCREASE_THROUGHPUT = "increase_throughput"
    # A folder in landing/ no contract names: create its table from the contract inferred from
    # its files (tools/new_tables.py), under policy `add_table`.
    ADD_TABLE = "add_table"


# Fix types an agent might ask for that are never allowed to run.
DESTRUCTIVE_FIX_TYPES = frozenset({"drop_table", "truncate_table", "delete_rows", "drop_column"})

CONTRACT_CHANGING_FIXES = frozenset({FixType.SCHEMA_MIGRATION, FixType.ADD_ADAPTER})


@dataclass(frozen=True)
class Action:
    tool: Tool
    target: str
    fix_type: str | None = None  # a FixType when valid; kept a str so refusals can name it
    version: int | None = None  # rollback: the contract version to restore

    def __str__(self) -> str:
        if self.tool is Tool.APPLY_FIX and self.fix_type is not None:
            return f"apply_fix({self.fix_type}, {self.target})"
        if self.tool is Tool.ROLLBACK:
            return f"rollback({self.target}, v{self.version})"
        return f"{self.tool}({self.target})"

    @property
    def is_fix(self) -> bool:
        return self.tool in (Tool.APPLY_FIX, Tool.ROLLBACK)


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    reasoning: str
    hypotheses: tuple[str, ...] = ()
    expected_outcome: str = ""
    confidence: float = 1.0


@dataclass(frozen=True)
class ActionResult:
    action: Action
    ok: bool
    detail: str
    rows_affected: int = 0
    evidence: dict[str, object] = field(default_factory=dict)
