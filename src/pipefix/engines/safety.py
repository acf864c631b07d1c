"""The engine's own safety rule: no statement may destroy user data, whoever asks.

This is the second line of defence after the planner's safety constraint: every statement an
engine runs is parsed here first, so a bug or a model elsewhere cannot slip a DROP through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

# A statement without any of these words cannot destroy anything; only the rest are parsed.
_RISKY_WORDS = re.compile(r"\b(drop|truncate|delete|alter)\b|\bor\s+replace\b", re.IGNORECASE)
# pipefix's own scratch tables are rebuilt every batch; parsing those large statements costs more
# than the load itself, and a temp table holds no user data.
_SCRATCH_REBUILD = re.compile(
    r"^\s*CREATE\s+OR\s+REPLACE\s+TEMP\s+TABLE\s+\"?_pipefix_\w+\"?\s+AS\s+SELECT\s",
    re.IGNORECASE,
)

# Scratch objects pipefix itself creates and may drop: staging and shadow tables.
SCRATCH_PREFIX = "_pipefix_"


class DestructiveStatementError(RuntimeError):
    """Raised instead of running a statement that would destroy user data."""


@dataclass(frozen=True)
class DroppedColumn:
    """An `ALTER TABLE ... DROP COLUMN`: allowed only when the column holds no value."""

    table: str
    column: str


def _is_scratch(table: exp.Table | None, temporary: bool = False) -> bool:
    if table is None:
        return False
    return temporary or table.db.lower() == "temp" or table.name.startswith(SCRATCH_PREFIX)


def inspect(sql: str, dialect: str) -> list[DroppedColumn]:
    """Raise on any destructive statement; return column drops the engine must verify empty."""
    if not _RISKY_WORDS.search(sql) or (
        _SCRATCH_REBUILD.match(sql)
        and len(re.findall(r"\bor\s+replace\b", sql, re.IGNORECASE)) == 1
        and not re.search(r"\b(drop|truncate|delete|alter)\b", sql, re.IGNORECASE)
    ):
        return []
    try:
        statements = sqlglot.parse(sql, read=dialect)
    except sqlglot.errors.ParseError as error:
        raise DestructiveStatementError(f"refused: statement could not be verified ({error})") from error
    drops: list[DroppedColumn] = []
    for statement in statements:
        if statement is None:
            continue
        table = statement.find(exp.Table)
        if isinstance(statement, exp.TruncateTable):
            raise DestructiveStatementError(f"refused: TRUNCATE of {table.sql() if table else '?'}")
        if isinstance(statement, exp.Delete) and not _is_scratch(table):
            raise DestructiveStatementError(f"refused: DELETE from {table.sql() if table else '?'}")
        if isinstance(statement, exp.Drop) and not _is_scratch(table, bool(statement.args.get("temporary"))):
            kind = statement.args.get("kind") or "object"
            raise DestructiveStatementError(f"refused: DROP {kind} {table.sql() if table else '?'}")
        if (
            isinstance(statement, exp.Create)
            and statement.args.get("replace")
            and not _is_scratch(table, _is_temporary(statement))
            and str(statement.args.get("kind", "")).upper() == "TABLE"
        ):
            raise DestructiveStatementError(
                f"refused: CREATE OR REPLACE TABLE {table.sql() if table else '?'}"
            )
        if isinstance(statement, exp.Alter) and table is not None:
            for action in statement.args.get("actions") or []:
                if isinstance(action, exp.Drop):
                    drops.append(DroppedColumn(table.sql(dialect=dialect), action.this.sql()))
    return drops


def _is_temporary(statement: exp.Create) -> bool:
    properties = statement.args.get("properties")
    return properties is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in properties.expressions
    )
