"""Reads of many tables or keys in one statement give what the per-table reads gave."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipefix.engines import batch_history, store
from pipefix.engines.base import Engine
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine: Engine
    if request.param == "duckdb":
        engine = DuckDBEngine(tmp_path / "warehouse.duckdb")
    else:
        engine = PostgresEngine(request.getfixturevalue("pg_url"))
    store.ensure_schema(engine)
    yield engine
    engine.close()


def test_recall_latest_is_recall_of_each_key(warehouse: Engine) -> None:
    store.remember(warehouse, 1, "diagnosis.orders", [{"kind": "column_added"}])
    store.remember(warehouse, 2, "diagnosis.events", [])
    store.remember(warehouse, 3, "diagnosis.orders", [{"kind": "column_removed"}])
    store.remember(warehouse, 3, "diagnosis.users", None)
    store.remember(warehouse, 4, "throughput.first_steps", [1.0])
    keys = ["diagnosis.orders", "diagnosis.events", "diagnosis.users", "diagnosis.nobody"]
    found = store.recall_latest(warehouse, keys)
    assert found == {
        "diagnosis.orders": [{"kind": "column_removed"}],
        "diagnosis.events": [],
        "diagnosis.users": None,
    }
    assert {k: store.recall(warehouse, k) for k in found} == found
    assert store.recall_latest(warehouse, []) == {}


def test_files_read_are_those_of_every_tables_batches(warehouse: Engine) -> None:
    rows = [
        ("orders/a.jsonl@111111111111", "orders", 1),
        ("orders/a.jsonl@222222222222", "orders", 2),  # grown or rewritten: one file
        ("orders/sub/b.jsonl@333333333333", "orders", 2),
        ("events/a.jsonl@444444444444", "events", 3),
        ("users/c.jsonl@555555555555", "users", 3),
    ]
    for batch_id, table, step in rows:
        store.record_batch(
            warehouse, batch_id=batch_id, table_name=table, step=step, sha256="0" * 64, received=1
        )
    tables = ("orders", "events", "payments")
    per_table = {file for t in tables for file in batch_history.file_batches(warehouse, t)}
    assert store.files_read(warehouse, tables) == per_table
    assert per_table == {"orders/a.jsonl", "orders/sub/b.jsonl", "events/a.jsonl"}
    assert store.files_read(warehouse, ()) == set()
