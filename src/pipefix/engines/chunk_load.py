"""Judging an open batch file chunk by chunk under its table's rules: the conforming records
loaded, the others held, the drift they show found and the batch recorded, in one transaction.

Every record that comes in ends in exactly one place: the table (conforming) or the quarantine
(with its raw text and the reasons).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipefix.domain.serde import to_plain
from pipefix.engines import load_guard, replays, store, utc_notes
from pipefix.engines.base import Engine
from pipefix.engines.batch_history import BatchLoad, RecordedOnce
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.judge import Judge, VerdictFigures
from pipefix.engines.sql import loads as sql
from pipefix.engines.sql.staging import REJECTED
from pipefix.errors import RecoverableError
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.drift import Drift, diff, new_values
from pipefix.pipeline.observed_types import ObservedField


class FileChanged(RecoverableError):
    """The file changed while it was read: it is still being written; a later step reads it."""


def value_reasons(duck: DuckDBEngine) -> list[tuple[str, int]]:
    rows = duck.query(sql.value_reasons())
    return [(str(reason), int(count)) for reason, count in rows]


def read_fields(contract: Contract, adapter: Adapter | None) -> frozenset[str]:
    """The fields a table's records are read from: its contract's columns and its adapter's sources."""
    names = frozenset(contract.column_names)
    return names | (adapter.consumed_fields if adapter else frozenset())


def unchanged_since(path: Path, before: os.stat_result) -> None:
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise FileChanged(f"{path.name} changed while it was read: it is still being written")


def judge_and_record(
    engine: Engine,
    judge: Judge,
    path: Path,
    table: str,
    step: int,
    before: os.stat_result,
    then: Callable[[], None] | None,
    rules: tuple[Contract, Adapter | None],
    **batch: Any,
) -> BatchLoad:
    """Judge the open file chunk by chunk (its first chunk staged) under `rules` (the table's
    active contract and adapter), load the records that conform, hold the others and record the
    batch, in one transaction (with `then`, if given)."""
    batch_id = str(batch["batch_id"])
    contract, adapter = rules
    with _closing(judge), RecordedOnce(engine, batch_id), engine.transaction():
        figures = VerdictFigures()
        values: dict[str, int] = {}
        loaded = quarantined = 0
        first = True
        while True:
            judge.check(contract, adapter)
            utc_notes.note_offsets(engine, judge.duck, contract, adapter, step)
            chunk = judge.verdict_figures(contract, adapter)
            figures += chunk
            judge.keep_rejected(first)
            if chunk.bad_values and any(c.values for c in contract.columns):
                for reason, count in value_reasons(judge.duck):
                    values[reason] = values.get(reason, 0) + count
            loaded += judge.insert_conforming(contract, step)
            quarantined += judge.quarantine_rejected(table, contract.version, step)
            first = False
            if not judge.next_chunk():
                break
        received = judge.received
        unchanged_since(path, before)  # read through to its last chunk as it was at first
        drift: tuple[Drift, ...] = ()
        # Only a batch with rows of the wrong shape can show drift: its held records are
        # profiled, the figures of all its records complete what diff needs.
        if figures.wrong_shape:
            observed = _with_conforming(replays.observed_fields(judge.duck, REJECTED), figures)
            drift = diff(contract, observed, figures.objects, adapter)
        if values:
            drift += new_values(contract, list(values.items()), received)
        load_guard.refuse_unless_written(engine, table, batch_id, received, loaded, quarantined)
        store.record_batch(
            engine,
            table_name=table,
            step=step,
            path=str(path),
            received=received,
            loaded=loaded,
            quarantined=quarantined,
            drift=json.dumps([to_plain(d) for d in drift]),
            **batch,
        )
        if then is not None:
            then()
    return BatchLoad(
        batch_id, table, received, loaded, quarantined, drift, appended_to=batch.get("appended_to")
    )


@contextmanager
def _closing(judge: Judge) -> Iterator[None]:
    """Closes the judge's file however the load ends: the rest of a file a failed load did not
    read, and its temp files."""
    try:
        yield
    finally:
        judge.close_file()


def _with_conforming(held: tuple[ObservedField, ...], figures: VerdictFigures) -> tuple[ObservedField, ...]:
    """The profile of a batch's held records, with each field the contract reads counted over
    all its records (rows carrying it, JSON types): a column some conforming records omit is not
    missing from all of them, and its conforming values' types are seen."""
    by_name = {f.name: f for f in held}
    for name, (rows, types) in figures.fields.items():
        seen = by_name.get(name)
        if seen is not None:
            by_name[name] = replace(seen, rows=rows, json_types=seen.json_types | types)
        elif rows:
            by_name[name] = ObservedField(name=name, json_types=types, rows=rows)
    return tuple(by_name.values())
