"""Loading batches and replaying quarantine under a table's contract, one transaction each.

Every record that comes in ends in exactly one place: the table (conforming) or the quarantine
(with its raw text and the reasons). Lineage columns make a record land at most once.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipefix.domain.serde import to_plain
from pipefix.engines import batch_files, load_guard, readers, replays, store, utc_notes
from pipefix.engines.base import Engine, EngineError, scalar
from pipefix.engines.dialect_of import dialect_of, state_dialect_of
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.judge import Judge, VerdictFigures, judge_for
from pipefix.engines.sql import loads as sql
from pipefix.engines.sql.staging import REJECTED
from pipefix.errors import PipefixError, RecoverableError
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.csv_dialect import CsvOptions
from pipefix.pipeline.drift import Drift, ObservedField, diff, new_values


@dataclass(frozen=True)
class BatchLoad:
    batch_id: str
    table: str
    received: int
    loaded: int
    quarantined: int
    drift: tuple[Drift, ...]
    duplicate_of: str | None = None  # a re-sent file: the batch that loaded these bytes first
    appended_to: str | None = None  # a file grown since it was loaded: the batch of its earlier bytes
    rewrite_of: str | None = None  # a file rewritten in place: the batch that loaded it; nothing loaded


class FileChanged(RecoverableError):
    """The file changed while it was read: it is still being written; a later step reads it."""


@dataclass(frozen=True)
class RecordedBatch:
    """A row of pipefix.batches, as far as a file's identity goes."""

    batch_id: str
    sha256: str
    size_bytes: int | None  # None: recorded before sizes were
    received: int
    step: int
    duplicate_of: str | None
    appended_to: str | None
    rewrite_of: str | None

    @property
    def file(self) -> str:
        return store.file_of(self.batch_id)


file_sha256 = batch_files.file_sha256


def batch_id_of(file: str, sha256: str) -> str:
    # The content hash is part of the id: the same name with other bytes is another batch.
    return f"{file}@{sha256[:12]}"


def file_batches(engine: Engine, table: str) -> dict[str, list[RecordedBatch]]:
    """Every batch row of `table` by file (`orders/a.jsonl`), oldest first: what was loaded,
    re-sent, appended or rewritten."""
    rows = engine.query(sql.file_batches(state_dialect_of(engine)), (table,))
    files: dict[str, list[RecordedBatch]] = {}
    for batch_id, sha256, size, received, step, duplicate_of, appended_to, rewrite_of in rows:
        batch = RecordedBatch(
            str(batch_id),
            str(sha256),
            None if size is None else int(size),
            int(received),
            int(step),
            duplicate_of,
            appended_to,
            rewrite_of,
        )
        files.setdefault(batch.file, []).append(batch)
    return files


def accounted_bytes(history: list[RecordedBatch]) -> RecordedBatch | None:
    """The batch that accounts for the most of a file's bytes (loaded, re-sent or appended), or
    None if none does. Rewrites account for nothing: their bytes were never loaded."""
    kept = [b for b in history if b.rewrite_of is None]
    return max(kept, key=lambda b: (b.step, b.size_bytes or 0)) if kept else None


def first_batch(engine: Engine, table: str, sha256: str) -> tuple[str, int] | None:
    """The batch that loaded these bytes into `table`, if they held any record: (id, records).
    For a file that grew, its records are those of every batch of the file up to that one.

    A file without records (empty, or blank lines only) re-sends nothing: it is no duplicate."""
    batches = [b for history in file_batches(engine, table).values() for b in history]
    by_id = {b.batch_id: b for b in batches}
    for batch in sorted(batches, key=lambda b: (b.step, b.batch_id)):
        if batch.sha256 != sha256 or batch.duplicate_of is not None or batch.rewrite_of is not None:
            continue
        records, link = batch.received, batch.appended_to
        while link is not None and link in by_id:
            records += by_id[link].received
            link = by_id[link].appended_to
        if records > 0:
            return batch.batch_id, records
    return None


def record_duplicate(
    engine: Engine,
    path: Path,
    table: str,
    step: int,
    batch_id: str,
    sha256: str,
    size: int,
    first: tuple[str, int],
) -> BatchLoad:
    """A file re-sent under a new name with bytes already loaded: a batch row of its own (its
    records counted, none loaded), so that its lines are accounted for and nothing loads twice."""
    first_id, records = first
    with RecordedOnce(engine, batch_id):
        store.record_batch(
            engine,
            batch_id=batch_id,
            table_name=table,
            step=step,
            path=str(path),
            sha256=sha256,
            received=records,
            loaded=0,
            quarantined=0,
            drift="[]",
            duplicate_of=first_id,
            size_bytes=size,
        )
    return BatchLoad(batch_id, table, records, 0, 0, (), duplicate_of=first_id)


def record_rewrite(
    engine: Engine, path: Path, table: str, step: int, batch_id: str, sha256: str, size: int, loaded_as: str
) -> BatchLoad:
    """A file rewritten in place after it was loaded (its loaded bytes are no longer its first
    bytes): recorded and reported, never loaded again under the same name."""
    with RecordedOnce(engine, batch_id):
        store.record_batch(
            engine,
            batch_id=batch_id,
            table_name=table,
            step=step,
            path=str(path),
            sha256=sha256,
            received=0,
            loaded=0,
            quarantined=0,
            drift="[]",
            rewrite_of=loaded_as,
            size_bytes=size,
        )
    return BatchLoad(batch_id, table, 0, 0, 0, (), rewrite_of=loaded_as)


def value_reasons(duck: DuckDBEngine) -> list[tuple[str, int]]:
    rows = duck.query(sql.value_reasons())
    return [(str(reason), int(count)) for reason, count in rows]


def _load_appended(
    engine: Engine,
    path: Path,
    table: str,
    step: int,
    file: str,
    prefix: int,
    before: os.stat_result,
    history: list[RecordedBatch],
    csv: CsvOptions | None = None,
) -> BatchLoad:
    """Load the lines a file gained after its first `prefix` bytes were loaded: a batch of their
    own (`<file>@<hash of the file now>+<first byte read>`), numbered on from the lines before.
    A CSV's new lines are read under its header."""
    segment = batch_files.plan_segment(path, prefix)
    rules = store.active_contract(engine, table), store.active_adapter(engine, table)
    dialect = readers.csv_dialect(path, csv, _read_fields(*rules))
    header = dialect is not None and dialect.header and segment.start > 0
    judge = judge_for(engine)
    appended_to = accounted_bytes(history)
    assert appended_to is not None
    # The new bytes are copied apart and read from there chunk by chunk, in the load.
    with tempfile.TemporaryDirectory(prefix="pipefix-append-") as folder:
        part = Path(folder) / path.name
        sha256 = batch_files.write_segment(path, segment.start, before.st_size, part, header)
        batch_id = f"{batch_id_of(file, sha256)}+{segment.start}"
        offset = segment.first_line - (2 if header else 1)
        judge.open_file(part, batch_id, rules[0], offset, dialect)
        _unchanged_since(path, before)
        then = None
        # The cut line is the segment's first: in the first chunk, staged now.
        completed = _completed_line(engine, judge, table, file, history, segment.cut_line)
        if completed is not None:

            def then() -> None:
                _replay_completed_line(engine, judge, table, step, *completed)

        return _judge_and_record(
            engine,
            judge,
            path,
            table,
            step,
            before,
            then,
            rules,
            batch_id=batch_id,
            sha256=sha256,
            size_bytes=before.st_size,
            appended_to=appended_to.batch_id,
            csv_dialect=dialect.to_json() if dialect else None,
        )


def _completed_line(
    engine: Engine, judge: Judge, table: str, file: str, history: list[RecordedBatch], line: int | None
) -> tuple[str, int, str, str | None] | None:
    """The loaded bytes ended inside `line`: its first part was read when the file was loaded.
    If that part is held (a cut record rarely reads), the completed line replaces it: it is taken
    out of the staged batch and returned as (held batch, line, text, error) to be judged in its
    place. If the part loaded (or was read as another file), the completed line is held: loading
    it would load the line twice."""
    if line is None:
        return None
    ids = [b.batch_id for b in history if b.rewrite_of is None]
    held = engine.query(sql.held_line(state_dialect_of(engine), len(ids)), (table, line, *ids))
    if held:
        taken = judge.take_staged(line)
        return (str(held[0][0]), line, *taken) if taken is not None else None
    loaded = scalar(engine, sql.loaded_line(dialect_of(engine), table, len(ids)), (line, *ids))
    if loaded or any(b.duplicate_of is not None for b in history):
        judge.hold_staged(
            line,
            f"line {line} was still being written when {file} was loaded: its first part was read "
            "then; the completed line is held, not loaded twice",
        )
    return None


def _replay_completed_line(
    engine: Engine, judge: Judge, table: str, step: int, batch_id: str, line: int, raw: str, error: str | None
) -> None:
    """Judge the completed text of a held line in its place, as a replay: loaded under its first
    batch and line, or held again with the reason it has now."""
    contract = store.active_contract(engine, table)
    engine.execute(sql.replace_held_text(state_dialect_of(engine)), (raw, table, batch_id, line))
    judge.stage_records([(batch_id, line, raw, error)])
    judge.check(contract, store.active_adapter(engine, table))
    judge.insert_conforming(contract, step)
    judge.mark_replayed(table, step, contract.version)


class LoadedElsewhere(PipefixError):
    """Another run recorded this batch first: this run's load of it was rolled back whole."""


class RecordedOnce:
    """Around the writes of one batch row (and, in its transaction, the batch's rows). The batch
    id is unique in pipefix.batches, so when another run committed the same batch first (only a
    run racing past the run lock can) the database refuses this one's row and its transaction
    rolls back whole: LoadedElsewhere, which the step takes as already loaded, not an error."""

    def __init__(self, engine: Engine, batch_id: str) -> None:
        self.engine = engine
        self.batch_id = batch_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if not isinstance(error, EngineError):
            return
        recorded = sql.batch_recorded(state_dialect_of(self.engine))
        if scalar(self.engine, recorded, (self.batch_id,)):
            raise LoadedElsewhere(
                f"batch {self.batch_id} was recorded by another run first; this run's load of it was "
                "rolled back"
            ) from error


def load_batch(
    engine: Engine, path: Path, table: str, step: int, name: str | None = None, csv: CsvOptions | None = None
) -> BatchLoad | None:
    """Load one batch file (JSONL, JSON, CSV or Parquet, perhaps compressed: readers.py), `name`
    its name under the table's folder, a CSV in the dialect sniffed with `csv` (the table's
    `csv:` setting) fixing any part of it.
    None if this file (name and bytes) was seen before. A file re-sent under a new name with bytes
    already loaded is recorded, not loaded; a file that grew keeping its loaded bytes loads only
    its new lines; a file rewritten in place is recorded, not loaded. FileChanged if the file
    changed while it was read."""
    file = f"{table}/{name or path.name}"
    before = path.stat()
    sha256 = file_sha256(path)
    history = file_batches(engine, table).get(file, [])
    if any(b.sha256 == sha256 for b in history):
        return None
    batch_id = batch_id_of(file, sha256)
    loaded = accounted_bytes(history)
    if loaded is not None:
        prefix = None
        # Parquet, a JSON document or a compressed file cannot grow by appending: a rewrite.
        if readers.appendable(path):
            prefix = batch_files.loaded_prefix(path, loaded.size_bytes, loaded.sha256)
        if prefix is None:
            return record_rewrite(
                engine, path, table, step, batch_id, sha256, before.st_size, loaded.batch_id
            )
        return _load_appended(engine, path, table, step, file, prefix, before, history, csv)
    first = first_batch(engine, table, sha256)
    if first is not None:
        return record_duplicate(engine, path, table, step, batch_id, sha256, before.st_size, first)
    judge = judge_for(engine)
    # Read once for the whole load (each read is statements of its own, per batch).
    rules = store.active_contract(engine, table), store.active_adapter(engine, table)
    dialect = readers.csv_dialect(path, csv, _read_fields(*rules))
    # Staged before the transaction: a file DuckDB fails to read must not abort the load's
    # transaction; it becomes held records instead.
    judge.open_file(path, batch_id, rules[0], dialect=dialect)
    _unchanged_since(path, before)
    return _judge_and_record(
        engine,
        judge,
        path,
        table,
        step,
        before,
        None,
        rules,
        batch_id=batch_id,
        sha256=sha256,
        size_bytes=before.st_size,
        csv_dialect=dialect.to_json() if dialect else None,
    )


def _read_fields(contract: Contract, adapter: Adapter | None) -> frozenset[str]:
    """The fields a table's records are read from: its contract's columns and its adapter's sources."""
    names = frozenset(contract.column_names)
    return names | (adapter.consumed_fields if adapter else frozenset())


def _unchanged_since(path: Path, before: os.stat_result) -> None:
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise FileChanged(f"{path.name} changed while it was read: it is still being written")


def _judge_and_record(
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
    try:
        return _judge_chunks(engine, judge, path, table, step, before, then, rules, **batch)
    finally:
        judge.close_file()  # the rest of a file a failed load did not read, and its temp files


def _judge_chunks(
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
    batch_id = str(batch["batch_id"])
    contract, adapter = rules
    with RecordedOnce(engine, batch_id), engine.transaction():
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
        _unchanged_since(path, before)  # read through to its last chunk as it was at first
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
