"""loader.load_batch and replay_quarantine on a real DuckDB file: every record lands exactly once,
in the table or in the quarantine with its raw text and reasons."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines import loader, replays, store
from pipefix.engines.base import Engine
from pipefix.engines.sql.dialects import DUCKDB
from pipefix.engines.sql.migration import CreateTable
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.tools.context import PipelineContext
from tests.conftest import v1_order, v2_order

WriteBatch = Callable[..., Path]


def without(row: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != field}


def quarantine(engine: Engine) -> dict[int, tuple[Any, ...]]:
    """line_no -> (batch_id, raw, reason, kind, contract_version, quarantined_step, replayed_step)."""
    rows = engine.query(
        "SELECT line_no, batch_id, raw, reason, kind, contract_version, quarantined_step, replayed_step "
        "FROM pipefix.quarantine ORDER BY batch_id, line_no"
    )
    return {int(r[0]): tuple(r[1:]) for r in rows}


# line number -> (the raw line or record, expected reason, expected kind)
MORE_DECIMALS = "more digits after the point than"
BAD_LINES: dict[int, tuple[dict[str, Any] | str, str, str]] = {
    2: ("[1,2]", "record is not a JSON object", "malformed"),
    3: (without(v1_order(12), "status"), "status: missing", "schema"),
    4: (
        {**v1_order(13), "price_usd": "10.5"},
        "price_usd: expected decimal(12,2), got VARCHAR 10.5",
        "schema",
    ),
    5: ({**v1_order(14), "extra": 1}, "unexpected column(s): extra", "schema"),
    6: (v1_order(15, price=-1), "price_usd: below minimum 0", "value"),
    7: (v1_order(16, status="shipped"), "status: value not allowed: shipped", "value"),
    9: (v1_order(17), "order_id: duplicate key", "value"),  # same key as line 8
    10: (v1_order(1), "order_id: duplicate key", "value"),  # key already loaded by batch a
    # A wider decimal holds 19.999: the record waits on that change of shape, not a bad value.
    11: (v1_order(18, price=19.999), f"price_usd: {MORE_DECIMALS} decimal(12,2) holds", "schema"),
    12: ({**v1_order(19), "order_id": None}, "order_id: missing", "schema"),
}


def mixed_batch() -> list[dict[str, Any] | str]:
    good = {1: v1_order(10), 8: v1_order(17), 13: v1_order(20, price=19.99, status="paid")}
    lines: list[dict[str, Any] | str] = []
    for line_no in range(1, 14):
        lines.append(good[line_no] if line_no in good else BAD_LINES[line_no][0])
    return [*lines, "", v1_order(21)]  # a blank line is skipped but still counted as line 14


def test_a_mixed_batch_splits_into_table_and_quarantine(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    engine = ctx.engine
    first = loader.load_batch(engine, write_batch("orders", "a.jsonl", [v1_order(1)]), "orders", step=1)
    assert first is not None
    assert first.loaded == 1
    result = loader.load_batch(engine, write_batch("orders", "b.jsonl", mixed_batch()), "orders", step=2)
    assert result is not None
    assert result.batch_id.startswith("orders/b.jsonl@")
    assert (result.received, result.loaded, result.quarantined) == (14, 4, 10)
    assert result.received == result.loaded + result.quarantined

    loaded = engine.query(
        "SELECT order_id, price_usd::VARCHAR, status, _pipefix_line, _pipefix_loaded_step FROM orders "
        "WHERE _pipefix_batch LIKE 'orders/b.jsonl@%' ORDER BY _pipefix_line"
    )
    assert loaded == [
        (10, "10.50", "new", 1, 2),
        (17, "10.50", "new", 8, 2),
        (20, "19.99", "paid", 13, 2),
        (21, "10.50", "new", 15, 2),
    ]

    held = quarantine(engine)
    assert sorted(held) == sorted(BAD_LINES)
    raw_lines = mixed_batch()  # the lines as written
    for line_no, (_, reason, kind) in BAD_LINES.items():
        batch_id, raw, got_reason, got_kind, version, step, replayed = held[line_no]
        sent = raw_lines[line_no - 1]
        assert raw == (sent if isinstance(sent, str) else json.dumps(sent)), line_no
        assert (got_reason, got_kind) == (reason, kind), line_no
        assert (batch_id, version, step, replayed) == (result.batch_id, 1, 2, None), line_no

    batch = engine.query(
        "SELECT received, loaded, quarantined FROM pipefix.batches WHERE batch_id LIKE 'orders/b.jsonl@%'"
    )
    assert batch == [(14, 4, 10)]
    assert store.row_accounting(engine, ("orders",))["lost"] == 0


def test_a_malformed_json_line_is_quarantined_not_fatal(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    path = write_batch("orders", "m.jsonl", [v1_order(1), '{"order_id": 2, "price_usd": ', v1_order(3)])
    result = loader.load_batch(ctx.engine, path, "orders", step=1)
    assert result is not None
    assert (result.received, result.loaded, result.quarantined) == (3, 2, 1)
    held = quarantine(ctx.engine)
    assert held[2][1:4] == ('{"order_id": 2, "price_usd": ', "malformed JSON record", "malformed")


def test_a_key_repeated_after_a_rejected_row_still_loads(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    path = write_batch("orders", "d.jsonl", [v1_order(30, status="shipped"), v1_order(30)])
    result = loader.load_batch(ctx.engine, path, "orders", step=1)
    assert result is not None
    assert ctx.engine.query("SELECT order_id, _pipefix_line FROM orders") == [(30, 2)]


def test_windows_line_endings_are_stripped(ctx: PipelineContext, tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(("\r\n".join(json.dumps(v1_order(i)) for i in (1, 2)) + "\r\n").encode())
    result = loader.load_batch(ctx.engine, path, "orders", step=1)
    assert result is not None
    assert (result.received, result.loaded) == (2, 2)
    assert ctx.engine.query("SELECT order_id, _pipefix_line FROM orders ORDER BY 1") == [(1, 1), (2, 2)]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2026-11-01T10:00:00+02:00", datetime(2026, 11, 1, 8, 0)),
        ("2026-11-01T10:00:00-05:30", datetime(2026, 11, 1, 15, 30)),
        ("2026-11-01T01:00:00+02:00", datetime(2026, 10, 31, 23, 0)),
        ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, 0)),
        ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, 0)),
        ("2026-11-01 10:00:00.250+00:00", datetime(2026, 11, 1, 10, 0, 0, 250000)),
    ],
)
def test_timestamps_are_stored_as_utc(
    ctx: PipelineContext, write_batch: WriteBatch, sent: str, stored: datetime
) -> None:
    path = write_batch("orders", "t.jsonl", [{**v1_order(1), "created_at": sent}])
    result = loader.load_batch(ctx.engine, path, "orders", step=1)
    assert result is not None
    assert result.loaded == 1
    assert ctx.engine.query("SELECT created_at FROM orders") == [(stored,)]


def test_the_same_content_is_loaded_once(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    rows: list[dict[str, Any] | str] = [v1_order(1), v1_order(2, status="bad")]
    path = write_batch("orders", "a.jsonl", rows)
    first = loader.load_batch(ctx.engine, path, "orders", step=1)
    assert first is not None
    counts = [f"SELECT count(*) FROM {t}" for t in ("orders", "pipefix.quarantine", "pipefix.batches")]
    assert [ctx.engine.query(sql) for sql in counts] == [[(1,)], [(1,)], [(1,)]]
    # The same file seen again under its own name: silent, nothing recorded.
    assert loader.load_batch(ctx.engine, path, "orders", step=2) is None
    assert [ctx.engine.query(sql) for sql in counts] == [[(1,)], [(1,)], [(1,)]]
    # The same bytes under a new name: a batch row of its own, its 2 lines counted, none loaded.
    copy = write_batch("orders", "renamed.jsonl", rows)
    resent = loader.load_batch(ctx.engine, copy, "orders", step=3)
    assert resent is not None
    assert (resent.received, resent.loaded, resent.quarantined) == (2, 0, 0)
    assert resent.duplicate_of == first.batch_id
    assert resent.batch_id.startswith("orders/renamed.jsonl@")
    assert [ctx.engine.query(sql) for sql in counts] == [[(1,)], [(1,)], [(2,)]]
    assert loader.load_batch(ctx.engine, copy, "orders", step=4) is None  # recorded once
    accounting = store.row_accounting(ctx.engine, ("orders",))
    assert accounting | {"replayed": 0} == {
        "received": 4,
        "loaded": 1,
        "quarantined": 1,
        "duplicates": 2,
        "replayed": 0,
        "lost": 0,
        "duplicated": 0,
    }
    assert sum(accounting[k] for k in ("loaded", "quarantined", "duplicates")) == accounting["received"]


def test_an_empty_file_sent_again_is_no_duplicate(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    """A file without records re-sends nothing: each empty file is a batch of its own."""
    for step, name in enumerate(("quiet-1.jsonl", "quiet-2.jsonl"), 1):
        result = loader.load_batch(ctx.engine, write_batch("orders", name, [""]), "orders", step)
        assert result is not None
        assert (result.received, result.duplicate_of) == (0, None)
    assert store.row_accounting(ctx.engine, ("orders",))["duplicates"] == 0


def test_a_v2_batch_reports_drift(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    path = write_batch("orders", "v2.jsonl", [v2_order(100), v2_order(101, price=7.25)])
    result = loader.load_batch(ctx.engine, path, "orders", step=1)
    assert result is not None
    assert (result.received, result.loaded, result.quarantined) == (2, 0, 2)
    assert result.drift == (
        Drift(DriftKind.REMOVED, "orders", "price_usd", rows=2),
        Drift(DriftKind.ADDED, "orders", "currency_code", observed="varchar", rows=2),
        Drift(DriftKind.ADDED, "orders", "price", observed="decimal(18,2)", rows=2),
    )
    stored = json.loads(ctx.engine.query("SELECT drift FROM pipefix.batches")[0][0])
    assert [(d["kind"], d["column"]) for d in stored] == [
        ("column_removed", "price_usd"),
        ("column_added", "currency_code"),
        ("column_added", "price"),
    ]
    reasons = {r for (r,) in ctx.engine.query("SELECT reason FROM pipefix.quarantine")}
    assert reasons == {"unexpected column(s): currency_code, price; price_usd: missing"}


def test_a_conforming_batch_reports_no_drift(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    path = write_batch("orders", "v1.jsonl", [v1_order(1), v1_order(2, status="bad")])
    result = loader.load_batch(ctx.engine, path, "orders", step=1)
    assert result is not None
    assert result.drift == ()
    assert ctx.engine.query("SELECT drift FROM pipefix.batches") == [("[]",)]


def migrate_to_v2(engine: Engine) -> None:
    """A hand-made v2 contract: price_usd optional, price and currency_code added."""
    v1 = store.active_contract(engine, "orders")
    columns = tuple(replace(c, nullable=True) if c.name == "price_usd" else c for c in v1.columns)
    v2 = v1.next_version(
        (*columns, ColumnSpec("price", "decimal(12,2)"), ColumnSpec("currency_code", "varchar"))
    )
    engine.execute('ALTER TABLE orders ADD COLUMN "price" DECIMAL(12,2)')
    engine.execute('ALTER TABLE orders ADD COLUMN "currency_code" VARCHAR')
    store.save_contract(engine, v2, 2, "test migration")


def test_replay_after_a_contract_change_loads_each_row_once(
    ctx: PipelineContext, write_batch: WriteBatch
) -> None:
    engine = ctx.engine
    rows: list[dict[str, Any] | str] = [
        v2_order(100),
        {**v2_order(101), "currency_code": 5},
        v2_order(102, 3.5),
    ]
    loader.load_batch(engine, write_batch("orders", "v2.jsonl", rows), "orders", step=1)
    assert replays.trial_replay(engine, store.active_contract(engine, "orders"), None)[:2] == (0, 3)
    migrate_to_v2(engine)
    contract = store.active_contract(engine, "orders")
    assert contract.version == 2

    with engine.transaction():
        assert replays.replay_quarantine(engine, contract, None, step=3) == (2, 1)
    with engine.transaction():
        assert replays.replay_quarantine(engine, contract, None, step=4) == (0, 1)

    assert engine.query(
        "SELECT order_id, price::VARCHAR, currency_code, price_usd, _pipefix_line, _pipefix_loaded_step "
        "FROM orders ORDER BY order_id"
    ) == [(100, "10.50", "EUR", None, 1, 3), (102, "3.50", "EUR", None, 3, 3)]
    doubled = engine.query("SELECT count(*) - count(DISTINCT (_pipefix_batch, _pipefix_line)) FROM orders")[
        0
    ][0]
    assert doubled == 0
    held = quarantine(engine)
    assert held[1][5:] == (1, 3)  # (quarantined_step, replayed_step)
    assert held[3][5:] == (1, 3)
    assert engine.query(
        "SELECT line_no, replayed_version FROM pipefix.quarantine WHERE replayed_step IS NOT NULL ORDER BY 1"
    ) == [(1, 2), (3, 2)]
    # the row that still fails stays open, its reason judged again under v2
    assert held[2][2:4] == ("currency_code: expected varchar, got UBIGINT 5", "schema")
    assert held[2][6] is None
    accounting = store.row_accounting(engine, ("orders",))
    assert (accounting["received"], accounting["loaded"], accounting["quarantined"]) == (3, 2, 1)
    assert (accounting["lost"], accounting["duplicated"]) == (0, 0)


def test_replay_with_nothing_held_does_nothing(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    loader.load_batch(ctx.engine, write_batch("orders", "a.jsonl", [v1_order(1)]), "orders", step=1)
    contract = store.active_contract(ctx.engine, "orders")
    with ctx.engine.transaction():
        assert replays.replay_quarantine(ctx.engine, contract, None, step=2) == (0, 0)
    assert ctx.engine.query("SELECT order_id, _pipefix_loaded_step FROM orders") == [(1, 1)]


def test_trial_replay_loads_nothing(ctx: PipelineContext, write_batch: WriteBatch) -> None:
    engine = ctx.engine
    loader.load_batch(engine, write_batch("orders", "v2.jsonl", [v2_order(100), v2_order(101)]), "orders", 1)
    migrate_to_v2(engine)
    ok, bad, reasons = replays.trial_replay(engine, store.active_contract(engine, "orders"), None)
    assert (ok, bad, reasons) == (2, 0, [])
    assert engine.query("SELECT count(*) FROM orders") == [(0,)]
    assert engine.query("SELECT count(*) FROM pipefix.quarantine WHERE replayed_step IS NULL") == [(2,)]


def test_a_file_rewritten_in_place_is_recorded_not_loaded_and_one_grown_loads_its_new_lines(
    ctx: PipelineContext, write_batch: Callable[..., Path]
) -> None:
    engine = ctx.engine
    first = loader.load_batch(
        engine, write_batch("orders", "daily.jsonl", [v1_order(1), v1_order(2)]), "orders", 1
    )
    rewritten = loader.load_batch(
        engine, write_batch("orders", "daily.jsonl", [v1_order(3), v1_order(4)]), "orders", 2
    )
    assert first is not None
    assert rewritten is not None
    assert rewritten.batch_id != first.batch_id
    assert (rewritten.received, rewritten.loaded, rewritten.rewrite_of) == (0, 0, first.batch_id)
    assert engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (2,)]
    # Its loaded bytes back in front, one line more: only that line loads, as line 3.
    path = write_batch("orders", "daily.jsonl", [v1_order(1), v1_order(2), v1_order(5)])
    grown = loader.load_batch(engine, path, "orders", 3)
    assert grown is not None
    assert (grown.received, grown.loaded, grown.appended_to) == (1, 1, first.batch_id)
    assert grown.batch_id.startswith("orders/daily.jsonl@")
    assert grown.batch_id.endswith("+" + str(len(json.dumps(v1_order(1))) + len(json.dumps(v1_order(2))) + 2))
    assert engine.query("SELECT order_id, _pipefix_line FROM orders ORDER BY 1") == [(1, 1), (2, 2), (5, 3)]
    assert store.row_accounting(engine, ("orders",))["lost"] == 0


def one_column_table(engine: Engine, kind: str) -> str:
    """A table `t` with one optional column `x` of this type, at contract version 1."""
    contract = Contract("t", 1, (ColumnSpec("x", kind),))
    engine.execute(CreateTable.of(contract).sql(DUCKDB))
    store.save_contract(engine, contract, 1, "test table")
    return contract.table


@pytest.mark.parametrize(
    ("key", "column"), [("", "field"), ("a\\", "a"), ('a\\"b', "a_b"), ("~/", "field"), ("X", "x_2")]
)
def test_a_record_with_an_odd_unexpected_key_is_held_not_fatal(
    engine: Engine, write_batch: WriteBatch, key: str, column: str
) -> None:
    table = one_column_table(engine, "bigint")
    path = write_batch(table, "k.jsonl", [{"x": 1}, {"x": 2, key: 0}])
    result = loader.load_batch(engine, path, table, step=1)
    assert result is not None
    assert (result.received, result.loaded, result.quarantined) == (2, 1, 1)
    # The name cannot be a column (`X` is `x` to the warehouse): a plain one is read from it.
    assert result.drift == (Drift(DriftKind.ADDED, table, column, observed="bigint", rows=1, source=key),)
    assert quarantine(engine)[2][1:4] == (
        json.dumps({"x": 2, key: 0}),
        f"unexpected column(s): {key if key.isalnum() else json.dumps(key)}",
        "schema",
    )


# (column type, the value as sent, what the column holds, or the reason the record is held)
VALUES_AS_SENT = [
    ("decimal(12,2)", "1.50", Decimal("1.50"), None),
    ("decimal(12,2)", "1E+2", Decimal("100.00"), None),
    ("decimal(12,2)", "-0.0", Decimal("0.00"), None),
    ("decimal(12,2)", "0.30000000000000004", None, f"x: {MORE_DECIMALS} decimal(12,2) holds"),
    ("decimal(12,2)", "0.3000000000000000000001", None, f"x: {MORE_DECIMALS} decimal(12,2) holds"),
    ("decimal(12,2)", "1e-29", None, "x: value not exact at this scale"),  # no decimal(38,s) has it
    ("decimal(12,2)", "1e-400", None, "x: value not exact at this scale"),
    ("date", '"2026-11-01"', date(2026, 11, 1), None),
    ("date", '"2026-11-01T10:00:00+02:00"', None, "x: expected date, got VARCHAR 2026-11-01T10:00:00+02:00"),
    ("date", '"2026-11-01 00:00:00"', None, "x: expected date, got VARCHAR 2026-11-01 00:00:00"),
    ("double", "1e308", 1e308, None),
    ("double", "1e309", None, "x: number out of range for double"),
    ("double", "-1e400", None, "x: number out of range for double"),
]


@pytest.mark.parametrize(("kind", "sent", "stored", "reason"), VALUES_AS_SENT)
def test_a_value_is_loaded_as_sent_or_held_never_altered(
    engine: Engine, write_batch: WriteBatch, kind: str, sent: str, stored: Any, reason: str | None
) -> None:
    table = one_column_table(engine, kind)
    line = '{"x": ' + sent + "}"
    result = loader.load_batch(engine, write_batch(table, "v.jsonl", [line]), table, step=1)
    assert result is not None
    if reason is None:
        assert (result.loaded, result.quarantined) == (1, 0)
        assert engine.query("SELECT x FROM t") == [(stored,)]
    else:
        assert (result.loaded, result.quarantined) == (0, 1)
        assert quarantine(engine)[1][1:3] == (line, reason)


def test_a_decimal_is_read_from_its_own_text_wherever_the_key_is(
    engine: Engine, write_batch: WriteBatch
) -> None:
    """A record with a long number is read token by token: the right `x` must be found, not a
    nested one, a string that looks like it, or the same key spelled with an escape."""
    types = {"x": "decimal(12,2)", "y": "json", "q": "varchar", "z": "json", "n": "double"}
    contract = Contract("t", 1, tuple(ColumnSpec(name, kind) for name, kind in types.items()))
    engine.execute(CreateTable.of(contract).sql(DUCKDB))
    store.save_contract(engine, contract, 1, "test table")
    lines: list[dict[str, Any] | str] = [
        '{"y": {"x": 1.5}, "q": "\\"x\\": 2.555", "x": 0.10000000000000000001, "z": [1e5]}',
        '{"y": {"x": 1.000000000000000000001}, "x": 2.25, "z": 1e5}',
        '{"\\u0078": 3.000000000000000000001}',
        '{"\\u0078": 4.50, "n": 12345678901234567890}',
    ]
    result = loader.load_batch(engine, write_batch("t", "n.jsonl", lines), "t", step=1)
    assert result is not None
    assert engine.query("SELECT _pipefix_line, x FROM t ORDER BY 1") == [
        (2, Decimal("2.25")),
        (4, Decimal("4.50")),
    ]
    assert {n: r[2] for n, r in quarantine(engine).items()} == {
        1: f"x: {MORE_DECIMALS} decimal(12,2) holds",
        3: f"x: {MORE_DECIMALS} decimal(12,2) holds",
    }


def test_a_double_key_of_zero_is_one_key_whatever_its_sign(engine: Engine, write_batch: WriteBatch) -> None:
    contract = Contract("t", 1, (ColumnSpec("x", "double", nullable=False),), key="x")
    engine.execute(CreateTable.of(contract).sql(DUCKDB))
    store.save_contract(engine, contract, 1, "test table")
    loader.load_batch(engine, write_batch("t", "a.jsonl", ['{"x": 0}']), "t", step=1)
    result = loader.load_batch(engine, write_batch("t", "b.jsonl", ['{"x": -0.0}', '{"x": 0.0}']), "t", 2)
    assert result is not None
    assert (result.loaded, result.quarantined) == (0, 2)
    assert {r[2] for r in quarantine(engine).values()} == {"x: duplicate key"}
