"""Loading the lines a landing file gained after it was loaded: a batch of their own, numbered
on from the lines before, with the line the earlier load cut in two completed in its place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pipefix.engines import batch_files, readers, store
from pipefix.engines.base import Engine, scalar
from pipefix.engines.batch_history import BatchLoad, RecordedBatch, accounted_bytes, batch_id_of
from pipefix.engines.chunk_load import judge_and_record, read_fields, unchanged_since
from pipefix.engines.dialect_of import dialect_of, state_dialect_of
from pipefix.engines.judge import Judge, judge_for
from pipefix.engines.sql import loads as sql
from pipefix.pipeline.csv_dialect import CsvOptions


def load_appended(
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
    dialect = readers.csv_dialect(path, csv, read_fields(*rules))
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
        unchanged_since(path, before)
        then = None
        # The cut line is the segment's first: in the first chunk, staged now.
        completed = _completed_line(engine, judge, table, file, history, segment.cut_line)
        if completed is not None:

            def then() -> None:
                _replay_completed_line(engine, judge, table, step, *completed)

        return judge_and_record(
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
