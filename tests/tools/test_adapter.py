"""Adapters: epoch milliseconds read as the exact instant, planned purely, applied for real."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines import loader, store
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.pipeline.contracts import Adapter, ColumnSpec, ColumnTransform, Contract, TransformKind
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.tools import ingest
from pipefix.tools.adapter import apply_adapter, plan_adapter
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected
from pipefix.tools.retry_failed import apply_retry_failed
from tests.conftest import clock

EVENTS = Contract(
    "events",
    1,
    (
        ColumnSpec("event_id", "bigint", nullable=False),
        ColumnSpec("kind", "varchar", nullable=False, values=("click", "view")),
        ColumnSpec("happened_at", "timestamp", nullable=False),
    ),
    key="event_id",
)
EPOCH = Drift(
    DriftKind.RETYPED,
    "events",
    "happened_at",
    expected="timestamp",
    observed="bigint",
    rows=2,
    hint="epoch_ms",
)
EPOCH_TRANSFORM = ColumnTransform("happened_at", TransformKind.EPOCH_MS_TO_TIMESTAMP, "happened_at")
# 2026-11-01 10:00:00.123 UTC and one millisecond later, as the producer now sends them
T1 = datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=UTC)
T1_MS = 1793527200123


@pytest.fixture
def events(engine: DuckDBEngine) -> PipelineContext:
    context = PipelineContext(engine, ("events",), clock, 60)
    ingest.setup(context, {"events": EVENTS})
    return context


def event(event_id: int, happened_at: Any, kind: str = "click") -> dict[str, Any]:
    return {"event_id": event_id, "kind": kind, "happened_at": happened_at}


def test_the_epoch_constant_is_the_instant() -> None:
    assert int(T1.timestamp() * 1000) == T1_MS


def test_plan_adapter_maps_an_epoch_ms_retype() -> None:
    assert plan_adapter(EVENTS, (EPOCH,), None, 1) == Adapter("events", 1, (EPOCH_TRANSFORM,))


def test_plan_adapter_ignores_drift_it_cannot_map_exactly() -> None:
    no_hint = Drift(DriftKind.RETYPED, "events", "happened_at", expected="timestamp", observed="bigint")
    added = Drift(DriftKind.ADDED, "events", "source", observed="varchar")
    assert plan_adapter(EVENTS, (no_hint, added), None, 1) is None
    assert plan_adapter(EVENTS, (), None, 1) is None


def test_plan_adapter_keeps_other_transforms_and_replaces_the_same_column() -> None:
    rename = ColumnTransform("kind", TransformKind.RENAME, "event_kind")
    stale = ColumnTransform("happened_at", TransformKind.RENAME, "ts")
    current = Adapter("events", 2, (stale, rename))
    assert plan_adapter(EVENTS, (EPOCH,), current, 3) == Adapter("events", 3, (rename, EPOCH_TRANSFORM))
    assert current.transforms == (stale, rename), "planning must not change the current adapter"


def test_an_adapter_replays_held_epoch_rows_with_the_exact_instant(
    events: PipelineContext, write_batch: Callable[..., Path]
) -> None:
    engine = events.engine
    rows: list[dict[str, Any] | str] = [event(1, T1_MS), event(2, T1_MS + 1, "view")]
    held = loader.load_batch(engine, write_batch("events", "e1.jsonl", rows), "events", step=1)
    assert held is not None
    assert (held.loaded, held.quarantined) == (0, 2)
    assert held.drift == (EPOCH,)
    columns_before = engine.table_columns("events")

    detail, adapter = apply_adapter(events, "events", held.drift, step=2, shadow=False)

    assert adapter == Adapter("events", 1, (EPOCH_TRANSFORM,))
    assert detail == (
        "adapter v1 for v1.0: happened_at <- epoch_ms_to_timestamp(happened_at) "
        "(trial: 2 held rows accepted, 0 still held)"
    )
    assert store.active_adapter(engine, "events") == adapter
    assert store.active_contract(engine, "events") == EVENTS, "an adapter leaves the contract alone"
    assert engine.table_columns("events") == columns_before, "an adapter leaves the table alone"
    audit = store.audit_trail(engine, ("fix",))
    assert [(s, p["fix_type"], p["inverse"]) for s, _, p in audit] == [
        (2, "add_adapter", "activate adapter none")
    ]

    assert apply_retry_failed(events, "events", step=3)[1] == 2
    naive = T1.replace(tzinfo=None)
    assert engine.query("SELECT event_id, kind, happened_at FROM events ORDER BY 1") == [
        (1, "click", naive),
        (2, "view", naive.replace(microsecond=124000)),
    ]
    # new batches in the new shape now load directly; ISO strings still load too
    later: list[dict[str, Any] | str] = [event(3, T1_MS + 60_000), event(4, "2026-11-01T12:00:00+01:00")]
    result = loader.load_batch(engine, write_batch("events", "e2.jsonl", later), "events", step=4)
    assert result is not None
    assert (result.loaded, result.quarantined, result.drift) == (2, 0, ())
    assert engine.query("SELECT happened_at FROM events WHERE event_id >= 3 ORDER BY 1") == [
        (naive.replace(minute=1),),
        (datetime(2026, 11, 1, 11, 0),),
    ]


def test_an_adapter_that_accepts_no_more_rows_is_rejected(
    events: PipelineContext, write_batch: Callable[..., Path]
) -> None:
    engine = events.engine
    # epoch-ms rows that also break another rule: the adapter would not let any of them in
    rows: list[dict[str, Any] | str] = [event(1, T1_MS, "buy"), event(2, T1_MS, "sell")]
    loader.load_batch(engine, write_batch("events", "e1.jsonl", rows), "events", step=1)
    log_size = len(engine.statement_log)
    with pytest.raises(FixRejected, match=r"would not accept more held rows \(0 <= 0\)"):
        apply_adapter(events, "events", (EPOCH,), step=2, shadow=False)
    assert not any(s.startswith('INSERT INTO "pipefix"."adapters"') for s in engine.statement_log[log_size:])
    assert store.active_adapter(engine, "events") is None
    assert engine.query("SELECT count(*) FROM pipefix.adapters") == [(0,)]
    assert store.audit_trail(engine) == []
    assert engine.query("SELECT count(*) FROM events") == [(0,)]
    assert engine.query("SELECT count(*) FROM pipefix.quarantine WHERE replayed_step IS NULL") == [(2,)]


def test_an_adapter_for_drift_it_cannot_map_is_rejected(events: PipelineContext) -> None:
    added = Drift(DriftKind.ADDED, "events", "source", observed="varchar", rows=1)
    with pytest.raises(FixRejected, match="no drift on events that an adapter maps without loss"):
        apply_adapter(events, "events", (added,), step=1, shadow=False)
    assert store.active_adapter(events.engine, "events") is None
    assert store.latest_adapter_version(events.engine, "events") == 0
