"""A diagnosis the active adapter answered is not planned again when the adapter leaves a few
rows held for their values: no add_adapter every few steps, no budget spent, no cooldown. A new
diagnosis (a drift the adapter does not answer) is planned as before. On DuckDB and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_drift_kinds import balanced, iso, make_project, query, run, state, write_batch

PRODUCT = "type: bigint, nullable: false, min: 1"
QTY = "type: bigint, nullable: false"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return "duckdb:///warehouse.duckdb"


def adapter_attempts(config: Path) -> list[tuple[int, bool]]:
    """(step, ok) of every add_adapter the agent ran."""
    rows = query(
        config, "SELECT step, ok FROM pipefix.ledger WHERE action LIKE 'apply_fix(add_adapter%' ORDER BY step"
    )
    return [(int(s), bool(ok)) for s, ok in rows]


def cooldowns(summary: dict[str, Any]) -> list[Any]:
    return [c for c in summary["constraints"] if "cooldown" in str(c).lower()]


def records(ids: range, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"id": i, **{k: v(i) if callable(v) else v for k, v in fields.items()}, "created_at": iso(1)}
        for i in ids
    ]


def test_a_diagnosis_the_active_adapter_answered_is_not_planned_again(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "stock", product_id=PRODUCT, qty=QTY)
    write_batch(config, "stock", "b-001.jsonl", records(range(1, 41), product_id=lambda i: i, qty=1))
    balanced(run(config), 40)
    # product_id renamed productId; two of the records send a product id below the minimum:
    # the rename loads the others and leaves those two held for their values.
    renamed = records(range(101, 131), productId=lambda i: i - 100 if i > 102 else -5, qty=1)
    write_batch(config, "stock", "b-002.jsonl", renamed)
    for _ in range(2):  # held and diagnosed; then the adapter and the replay
        summary = run(config)
    assert state(config, "stock")[1] == ["product_id <- productId"]
    assert adapter_attempts(config) == [(3, True)]
    held = query(
        config, "SELECT reason, count(*) FROM pipefix.quarantine WHERE replayed_step IS NULL GROUP BY reason"
    )
    assert held == [("product_id: below minimum 1", 2)]
    used = summary["budget"]["used"]

    for _ in range(10):
        summary = run(config)
    assert adapter_attempts(config) == [(3, True)]
    assert summary["budget"]["used"] == used
    assert cooldowns(summary) == []
    balanced(summary, 70, quarantined=2)

    # A new drift, quantities sent as digit strings: diagnosed and adapted as before.
    write_batch(
        config, "stock", "b-003.jsonl", records(range(201, 211), productId=lambda i: i - 200, qty="7")
    )
    for _ in range(2):
        summary = run(config)
    assert [ok for _, ok in adapter_attempts(config)] == [True, True]
    assert state(config, "stock")[1] == ["product_id <- productId", "qty <- from_text(qty)"]
    assert query(config, "SELECT count(*) FROM stock WHERE qty = 7") == [(10,)]
    balanced(summary, 80, quarantined=2)
