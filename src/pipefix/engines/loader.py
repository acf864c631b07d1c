"""Loading a batch file under its table's contract, one transaction each.

Every record that comes in ends in exactly one place: the table (conforming) or the quarantine
(with its raw text and the reasons). Lineage columns make a record land at most once. A file's
history is read in engines/batch_history.py, its records judged chunk by chunk in
engines/chunk_load.py, the lines a file gained after it was loaded in engines/appended_load.py.
"""

from __future__ import annotations

from pathlib import Path

from pipefix.engines import batch_files, readers, store
from pipefix.engines.appended_load import load_appended
from pipefix.engines.base import Engine
from pipefix.engines.batch_history import (
    BatchLoad,
    LoadedElsewhere,
    accounted_bytes,
    batch_id_of,
    file_batches,
    file_sha256,
    first_batch,
    record_duplicate,
    record_rewrite,
)
from pipefix.engines.chunk_load import FileChanged, judge_and_record, read_fields, unchanged_since
from pipefix.engines.judge import judge_for
from pipefix.pipeline.csv_dialect import CsvOptions

# What load_batch returns and raises, importable from here by its callers.
__all__ = ["BatchLoad", "FileChanged", "LoadedElsewhere", "load_batch"]


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
        return load_appended(engine, path, table, step, file, prefix, before, history, csv)
    first = first_batch(engine, table, sha256)
    if first is not None:
        return record_duplicate(engine, path, table, step, batch_id, sha256, before.st_size, first)
    judge = judge_for(engine)
    # Read once for the whole load (each read is statements of its own, per batch).
    rules = store.active_contract(engine, table), store.active_adapter(engine, table)
    dialect = readers.csv_dialect(path, csv, read_fields(*rules))
    # Staged before the transaction: a file DuckDB fails to read must not abort the load's
    # transaction; it becomes held records instead.
    judge.open_file(path, batch_id, rules[0], dialect=dialect)
    unchanged_since(path, before)
    return judge_and_record(
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
