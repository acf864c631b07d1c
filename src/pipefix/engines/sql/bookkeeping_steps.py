"""The statements of pipefix's step records: goal versions, step records, the audit trail, the
action ledger and the step journal. Values are `?` parameters."""

from __future__ import annotations

from pipefix.engines.sql.bookkeeping_schema import next_seq, table
from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders


def goal_count(d: Dialect) -> str:
    return f"SELECT count(*) FROM {table(d, 'goals')} WHERE version = ?"


def insert_goal(d: Dialect) -> str:
    """(version, step, description, goal, reason, evidence)."""
    return f"INSERT INTO {table(d, 'goals')} VALUES (?, ?, ?, ?, ?, ?)"


def goals(d: Dialect) -> str:
    return f"SELECT version, step, description, reason, evidence FROM {table(d, 'goals')} ORDER BY version"


def latest_goal(d: Dialect, up_to_step: bool) -> str:
    """The newest goal (parameter: the step it must be in force at, if up_to_step)."""
    where = "WHERE step <= ? " if up_to_step else ""
    return f"SELECT goal FROM {table(d, 'goals')} {where}ORDER BY version DESC LIMIT 1"


def step_count(d: Dialect) -> str:
    return f"SELECT count(*) FROM {table(d, 'steps')} WHERE step = ?"


def insert_step(d: Dialect) -> str:
    return f"INSERT INTO {table(d, 'steps')} VALUES (?, ?)"


def recent_steps(d: Dialect) -> str:
    return f"SELECT record FROM {table(d, 'steps')} ORDER BY step DESC LIMIT ?"


def all_steps(d: Dialect) -> str:
    return f"SELECT record FROM {table(d, 'steps')} ORDER BY step"


def audit_count(d: Dialect) -> str:
    return f"SELECT count(*) FROM {table(d, 'audit')} WHERE step = ? AND kind = ? AND payload = ?"


def insert_audit(d: Dialect) -> str:
    """(step, kind, payload), in insertion order."""
    return f"INSERT INTO {table(d, 'audit')} VALUES ({next_seq(d, 'audit')}, ?, ?, ?)"


def audit_trail(d: Dialect, kinds: int) -> str:
    """The audit records in order, of `kinds` kinds (parameters) or all of them (0)."""
    where = f"WHERE kind IN ({placeholders(kinds)}) " if kinds else ""
    return f"SELECT step, kind, payload FROM {table(d, 'audit')} {where}ORDER BY seq"


def ledger_entry(d: Dialect) -> str:
    return f"SELECT ok, detail, rows_affected FROM {table(d, 'ledger')} WHERE step = ? AND action_index = ?"


def insert_ledger(d: Dialect) -> str:
    """(step, action_index, action, ok, detail, rows_affected)."""
    return f"INSERT INTO {table(d, 'ledger')} VALUES (?, ?, ?, ?, ?, ?)"


def ledger_of_step(d: Dialect) -> str:
    return (
        f"SELECT action_index, action, ok, detail FROM {table(d, 'ledger')} WHERE step = ? "
        "ORDER BY action_index"
    )


def fail_ledger_entry(d: Dialect) -> str:
    """(detail, step, action_index)."""
    return f"UPDATE {table(d, 'ledger')} SET ok = false, detail = ? WHERE step = ? AND action_index = ?"


def journal_count(d: Dialect) -> str:
    return f"SELECT count(*) FROM {table(d, 'journal')} WHERE step = ?"


def insert_journal(d: Dialect) -> str:
    return f"INSERT INTO {table(d, 'journal')} VALUES (?, ?)"


def journal_body(d: Dialect) -> str:
    return f"SELECT body FROM {table(d, 'journal')} WHERE step = ?"
