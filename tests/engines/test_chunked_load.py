"""A batch judged in chunks (PIPEFIX_CHUNK_BYTES lowered so that a small file spans many): every
record lands once under its physical line number, a key repeated in a later chunk is held as a
duplicate, the drift profile of the held records still sees columns that conforming records in
other chunks carry, and a load that fails in a late chunk leaves nothing of the batch — on
DuckDB and on a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines import chunks, judge, loader, store, table_shape
from pipefix.engines.base import Engine, EngineError
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.sql.migration import CreateTable
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.pipeline.drift import DriftKind
from tests.conftest import settled, v1_order

EVENTS = Contract(
    "events",
    1,
    (
        ColumnSpec("id", "bigint", nullable=False),
        ColumnSpec("kind", "varchar", nullable=False),
        ColumnSpec("note", "varchar", nullable=True),
    ),
    key="id",
)


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgres":
        from pipefix.engines.postgres import PostgresEngine

        engine: Engine = PostgresEngine(request.getfixturevalue("pg_url"))
    else:
        engine = DuckDBEngine(tmp_path / "w.duckdb")
    store.ensure_schema(engine)
    table_shape.apply(engine, CreateTable.of(EVENTS))
    store.save_contract(engine, EVENTS, 0, "initial contract")
    yield engine
    engine.close()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of about 100 bytes: three or four lines each."""
    monkeypatch.setenv("PIPEFIX_CHUNK_BYTES", "100")
    return 100


def write(tmp_path: Path, name: str, lines: list[dict[str, Any] | str]) -> Path:
    path = tmp_path / "landing" / "events" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in lines))
    settled(path)
    return path


def event(i: int, **more: Any) -> dict[str, Any]:
    return {"id": i, "kind": "click", **more}


def held(engine: Engine) -> list[tuple[int, str]]:
    rows = engine.query("SELECT line_no, reason FROM pipefix.quarantine ORDER BY line_no")
    return [(int(line), str(reason)) for line, reason in rows]


def test_chunks_cut_after_line_ends_and_number_lines_on(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"aaaa\n\nbb\ncccccccccccc\nd")
    parts = list(chunks.line_chunks(path, 4))
    assert [(c.first_line, c.data) for c in parts] == [
        (1, b"aaaa\n\n"),
        (3, b"bb\n"),
        (4, b"cccccccccccc\n"),
        (5, b"d"),
    ]


def test_a_batch_in_many_chunks_lands_every_line_once(
    warehouse: Engine, tmp_path: Path, small_chunks: int
) -> None:
    lines: list[dict[str, Any] | str] = [event(i) for i in range(1, 31)]
    lines[4] = '{"id": 5, "kind": '  # line 5: truncated
    lines[9] = ""  # line 10: blank, counted as a line, no record
    lines[19] = event(3)  # line 20: key 3 came in line 3, chunks before
    lines[27] = event(99, kind=7)  # line 28: wrong type
    path = write(tmp_path, "a.jsonl", lines)
    assert path.stat().st_size > 5 * small_chunks
    result = loader.load_batch(warehouse, path, "events", step=1)
    assert result is not None
    assert (result.received, result.loaded, result.quarantined) == (29, 26, 3)
    assert held(warehouse) == [
        (5, "malformed JSON record"),
        (20, "id: duplicate key"),
        (28, "kind: expected varchar, got UBIGINT 7"),
    ]
    loaded = warehouse.query("SELECT id, _pipefix_line FROM events ORDER BY _pipefix_line")
    expected = [(i, i) for i in range(1, 31) if i not in (5, 10, 20, 28)]
    assert [(int(a), int(b)) for a, b in loaded] == expected
    assert store.row_accounting(warehouse, ("events",))["lost"] == 0


def test_a_column_removed_is_counted_over_every_chunk(
    warehouse: Engine, tmp_path: Path, small_chunks: int
) -> None:
    """`kind` (required) stops coming halfway: absent from exactly the records that lack it."""
    lines: list[dict[str, Any] | str] = [event(i) for i in range(1, 11)]
    lines += [{"id": i} for i in range(11, 18)]
    result = loader.load_batch(warehouse, write(tmp_path, "r.jsonl", lines), "events", step=1)
    assert result is not None
    assert (result.loaded, result.quarantined) == (10, 7)
    removed = [(d.column, d.rows) for d in result.drift if d.kind is DriftKind.REMOVED]
    assert removed == [("kind", 7)]


def test_an_optional_column_sent_by_conforming_records_is_not_removed(
    warehouse: Engine, tmp_path: Path, small_chunks: int
) -> None:
    """Records with `note` conform in the first chunks; the held ones (a new field) lack it:
    `note` is not gone, and the new field is reported once with its rows."""
    lines: list[dict[str, Any] | str] = [event(i, note="n") for i in range(1, 11)]
    lines += [event(i, channel="web") for i in range(11, 16)]
    result = loader.load_batch(warehouse, write(tmp_path, "o.jsonl", lines), "events", step=1)
    assert result is not None
    assert (result.loaded, result.quarantined) == (10, 5)
    kinds = sorted((d.kind.value, d.column, d.rows) for d in result.drift)
    assert kinds == [("column_added", "channel", 5)]


def test_an_optional_column_no_record_sends_is_reported_removed(
    warehouse: Engine, tmp_path: Path, small_chunks: int
) -> None:
    lines: list[dict[str, Any] | str] = [event(i) for i in range(1, 11)]
    lines += [event(i, channel="web") for i in range(11, 16)]
    result = loader.load_batch(warehouse, write(tmp_path, "n.jsonl", lines), "events", step=1)
    assert result is not None
    kinds = sorted((d.kind.value, d.column, d.rows) for d in result.drift)
    assert kinds == [("column_added", "channel", 5), ("column_removed", "note", 15)]


def test_a_load_failing_in_a_late_chunk_leaves_nothing_of_the_batch(
    warehouse: Engine, tmp_path: Path, small_chunks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warehouse refuses a statement of the fifth chunk: the four chunks written before it
    roll back with it, and the file loads whole at the next attempt."""
    path = write(tmp_path, "f.jsonl", [event(i) for i in range(1, 31)])
    insert = judge.Judge.insert_conforming
    calls = []

    def failing_on_fifth(self: judge.Judge, contract: Contract, step: int) -> int:
        calls.append(step)
        if len(calls) == 5:
            raise EngineError("the warehouse went away")
        return insert(self, contract, step)

    monkeypatch.setattr(judge.Judge, "insert_conforming", failing_on_fifth)
    with pytest.raises(EngineError, match="went away"):
        loader.load_batch(warehouse, path, "events", step=1)
    assert warehouse.query("SELECT count(*) FROM events") == [(0,)]
    assert warehouse.query("SELECT count(*) FROM pipefix.batches") == [(0,)]
    monkeypatch.undo()
    result = loader.load_batch(warehouse, path, "events", step=2)
    assert result is not None
    assert (result.received, result.loaded) == (30, 30)


def test_a_csv_batch_in_many_chunks(
    warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEFIX_CHUNK_BYTES", str(3 * chunks.BYTES_PER_ROW))  # 3 records a chunk
    path = tmp_path / "landing" / "events" / "c.csv"
    path.parent.mkdir(parents=True)
    rows = [f"{i},click," for i in range(1, 11)] + ["2,click,again", "11,click"]
    path.write_text("id,kind,note\n" + "\n".join(rows) + "\n")
    settled(path)
    result = loader.load_batch(warehouse, path, "events", step=1)
    assert result is not None
    assert (result.received, result.loaded, result.quarantined) == (12, 10, 2)
    assert held(warehouse) == [(12, "id: duplicate key"), (13, "expected 3 CSV fields, got 2")]


def test_orders_in_chunks_load_as_in_one(ctx: Any, write_batch: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The orders contract (decimals, enum, timestamps) judged a record per chunk."""
    monkeypatch.setenv("PIPEFIX_CHUNK_BYTES", "1")
    rows = [v1_order(i) for i in range(1, 6)] + [v1_order(6, status="shipped"), v1_order(2)]
    result = loader.load_batch(ctx.engine, write_batch("orders", "o.jsonl", rows), "orders", step=1)
    assert result is not None
    assert (result.received, result.loaded, result.quarantined) == (7, 5, 2)
    assert held(ctx.engine) == [(6, "status: value not allowed: shipped"), (7, "order_id: duplicate key")]
