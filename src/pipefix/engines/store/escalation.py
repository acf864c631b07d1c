"""What goes to a person: decisions a policy leaves to one (pending, approved, rejected), and
alerts, each event sent to each sink once."""

from __future__ import annotations

from typing import Any

from pipefix.engines.base import Engine, scalar
from pipefix.engines.sql import bookkeeping_escalation as sql
from pipefix.engines.store.schema import _dialect
from pipefix.errors import NotFoundError


def alert_recorded(engine: Engine, event_key: str, sink: str) -> bool:
    return bool(scalar(engine, sql.alert_count(_dialect(engine)), (event_key, sink)))


def record_alert(engine: Engine, step: int, event_key: str, sink: str, delivered: bool, detail: str) -> None:
    if not alert_recorded(engine, event_key, sink):
        engine.execute(sql.insert_alert(_dialect(engine)), (event_key, sink, step, delivered, detail))


def find_decision(engine: Engine, table: str, fix_type: str, contract_version: int) -> tuple[int, str] | None:
    """(id, status) of the latest decision about this fix on this contract version."""
    rows = engine.query(sql.find_decision(_dialect(engine)), (table, fix_type, contract_version))
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
    d = _dialect(engine)
    new_id = int(scalar(engine, sql.next_decision_id(d)))
    engine.execute(
        sql.insert_decision(d),
        (new_id, step, table, fix_type, contract_version, drift, policy, status, decided_by),
    )
    return new_id


def decide(engine: Engine, decision_id: int, status: str, decided_by: str) -> tuple[str, str, str]:
    """Approve or reject a decision; returns (table, fix_type, previous status)."""
    d = _dialect(engine)
    rows = engine.query(sql.decision(d), (decision_id,))
    if not rows:
        raise NotFoundError(f"no decision {decision_id}")
    table, fix_type, before = rows[0]
    engine.execute(sql.decide(d), (status, decided_by, decision_id))
    return str(table), str(fix_type), str(before)


def decisions(engine: Engine) -> list[dict[str, Any]]:
    rows = engine.query(sql.decisions(_dialect(engine)))
    names = ("id", "step", "table", "fix_type", "contract_version", "drift", "policy", "status", "decided_by")
    return [dict(zip(names, row, strict=True)) for row in rows]
