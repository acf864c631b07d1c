"""What pipefix.batches records of a landing file, and the batch rows that load nothing.

A file is known by its name and bytes: a batch row per load of it, re-send (its bytes already
loaded under another name) or rewrite in place (its loaded bytes changed: never loaded again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipefix.engines import batch_files, store
from pipefix.engines.base import Engine, EngineError, scalar
from pipefix.engines.dialect_of import state_dialect_of
from pipefix.engines.sql import loads as sql
from pipefix.errors import PipefixError
from pipefix.pipeline.drift import Drift


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
    _record_unloaded(engine, path, table, step, batch_id, sha256, size, records, duplicate_of=first_id)
    return BatchLoad(batch_id, table, records, 0, 0, (), duplicate_of=first_id)


def record_rewrite(
    engine: Engine, path: Path, table: str, step: int, batch_id: str, sha256: str, size: int, loaded_as: str
) -> BatchLoad:
    """A file rewritten in place after it was loaded (its loaded bytes are no longer its first
    bytes): recorded and reported, never loaded again under the same name."""
    _record_unloaded(engine, path, table, step, batch_id, sha256, size, 0, rewrite_of=loaded_as)
    return BatchLoad(batch_id, table, 0, 0, 0, (), rewrite_of=loaded_as)


def _record_unloaded(
    engine: Engine,
    path: Path,
    table: str,
    step: int,
    batch_id: str,
    sha256: str,
    size: int,
    received: int,
    **link: str,
) -> None:
    """The batch row of a file that loads nothing, `link` naming the batch that loaded its bytes
    (duplicate_of, rewrite_of): only the columns given are written."""
    with RecordedOnce(engine, batch_id):
        store.record_batch(
            engine,
            batch_id=batch_id,
            table_name=table,
            step=step,
            path=str(path),
            sha256=sha256,
            received=received,
            loaded=0,
            quarantined=0,
            drift="[]",
            size_bytes=size,
            **link,
        )


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
