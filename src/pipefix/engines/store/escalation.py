"""What goes to a person: decisions a policy leaves to one (pending, approved, rejected), and
alerts, each event sent to each sink once."""

from __future__ import annotations

from typing import Any

from pipefix.engines.base import Engine, scalar
from pipefix.engines.store.schema import SCHEMA
from pipefix.errors import NotFoundError


def alert_recorded(engine: Engine, event_key: str, sink: str) -> bool:
    return bool(
        scalar(
            engine,
            f"SELECT count(*) FROM {SCHEMA}.alerts WHERE event_key = ? AND sink = ?",
            (event_key, sink),
        )
    )


def record_alert(engine: Engine, step: int, event_key: str, sink: str, delivered: bool, detail: str) -> None:
    if not alert_recorded(engine, event_key, sink):
        engine.execute(
            f"INSERT INTO {SCHEMA}.alerts VALUES (?, ?, ?, ?, ?)", (event_key, sink, step, delivered, detail)
        )


def find_decision(engine: Engine, table: str, fix_type: str, contract_version: int) -> tuple[int, str] | None:
    """(id, status) of the latest decision about this fix on this contract version."""
    rows = engine.query(
        f"SELECT id, status FROM {SCHEMA}.decisions WHERE table_name = ? AND fix_type = ? "
        "AND contract_version = ? ORDER BY id DESC LIMIT 1",
        (table, fix_type, contract_version),
    )
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def open_decision(
    engine: Engine,
    step: int,
    table: str,
    fix_type: str,
    contract_version: int,
    drift: str,
    policy: str,
    status: str = "pending",
    decided_by: str | None = None,
) -> int:
    new_id = int(scalar(engine, f"SELECT coalesce(max(id), 0) + 1 FROM {SCHEMA}.decisions"))
    engine.execute(
        f"INSERT INTO {SCHEMA}.decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id, step, table, fix_type, contract_version, drift, policy, status, decided_by),
    )
    return new_id


def decide(engine: Engine, decision_id: int, status: str, decided_by: str) -> tuple[str, str, str]:
    """Approve or reject a decision; returns (table, fix_type, previous status)."""
    rows = engine.query(
        f"SELECT table_name, fix_type, status FROM {SCHEMA}.decisions WHERE id = ?", (decision_id,)
    )
    if not rows:
        raise NotFoundError(f"no decision {decision_id}")
    table, fix_type, before = rows[0]
    engine.execute(
        f"UPDATE {SCHEMA}.decisions SET status = ?, decided_by = ? WHERE id = ?",
        (status, decided_by, decision_id),
    )
    return str(table), str(fix_type), str(before)


def decisions(engine: Engine) -> list[dict[str, Any]]:
    rows = engine.query(
        f"SELECT id, step, table_name, fix_type, contract_version, drift, policy, status, decided_by "
        f"FROM {SCHEMA}.decisions ORDER BY id"
    )
    names = ("id", "step", "table", "fix_type", "contract_version", "drift", "policy", "status", "decided_by")
    return [dict(zip(names, row, strict=True)) for row in rows]
