"""The statements of what goes to a person: decisions a policy leaves to one, and alerts, each
event sent to each sink once. Values are `?` parameters."""

from __future__ import annotations

from pipefix.engines.sql.bookkeeping_schema import table
from pipefix.engines.sql.dialects import Dialect

DECISION_COLUMNS = (
    "id",
    "step",
    "table_name",
    "fix_type",
    "contract_version",
    "drift",
    "policy",
    "status",
    "decided_by",
)


def alert_count(d: Dialect) -> str:
    return f"SELECT count(*) FROM {table(d, 'alerts')} WHERE event_key = ? AND sink = ?"


def insert_alert(d: Dialect) -> str:
    """(event_key, sink, step, delivered, detail)."""
    return f"INSERT INTO {table(d, 'alerts')} VALUES (?, ?, ?, ?, ?)"


def find_decision(d: Dialect) -> str:
    return (
        f"SELECT id, status FROM {table(d, 'decisions')} WHERE table_name = ? AND fix_type = ? "
        "AND contract_version = ? ORDER BY id DESC LIMIT 1"
    )


def next_decision_id(d: Dialect) -> str:
    return f"SELECT coalesce(max(id), 0) + 1 FROM {table(d, 'decisions')}"


def insert_decision(d: Dialect) -> str:
    """One parameter per DECISION_COLUMNS, in order."""
    return f"INSERT INTO {table(d, 'decisions')} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def decision(d: Dialect) -> str:
    return f"SELECT table_name, fix_type, status FROM {table(d, 'decisions')} WHERE id = ?"


def decide(d: Dialect) -> str:
    """(status, decided_by, id)."""
    return f"UPDATE {table(d, 'decisions')} SET status = ?, decided_by = ? WHERE id = ?"


def decisions(d: Dialect) -> str:
    return f"SELECT {', '.join(DECISION_COLUMNS)} FROM {table(d, 'decisions')} ORDER BY id"
