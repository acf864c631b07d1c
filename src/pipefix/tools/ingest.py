"""The pipeline's own work each step: load every batch file not loaded before and complete
enough to read (pipeline/landing.py), then refresh derived tables. Not an agent action: this is
what the agent watches."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipefix.domain.records import FileNote
from pipefix.engines import added_tables, derived, health, landing_files, loader, readers, store, table_shape
from pipefix.engines.base import Engine
from pipefix.engines.batch_history import RecordedBatch, file_batches, file_sha256
from pipefix.engines.sql.migration import CreateTable
from pipefix.pipeline import landing as landing_rules
from pipefix.pipeline import landing_report
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.landing import LandingRules
from pipefix.pipeline.landing_report import Reported
from pipefix.tools import adopt, landing_survey
from pipefix.tools.context import PipelineContext
from pipefix.tools.throughput import capacity


def setup(
    ctx: PipelineContext, contracts: dict[str, Contract], adapters: Mapping[str, Adapter] | None = None
) -> None:
    """Create pipefix's state and each table at its first contract version (and adapter, for
    columns read from another field), once. A table another tool already loaded is adopted in
    place (tools/adopt.py); if one does not match its contract, nothing at all is created and
    the columns that differ are reported."""
    engine = ctx.engine
    known = store.has_schema(engine)
    new = {t: c for t, c in contracts.items() if not known or store.latest_contract_version(engine, t) == 0}
    # Another tool's tables: those without pipefix's lineage columns (one with them is pipefix's
    # own, whatever its columns: health's schema check judges it).
    foreign = {
        t: columns
        for t in new
        if (columns := adopt.existing_columns(engine, t)) and not adopt.has_lineage(columns)
    }
    adopt.refuse_mismatches(engine, {t: (new[t], columns) for t, columns in foreign.items()})
    store.ensure_schema(engine)
    landing_files.ensure(engine)
    added_tables.ensure(engine)
    for table, contract in new.items():
        with engine.transaction():
            if table in foreign:
                rows = adopt.adopt(engine, contract, foreign[table])
                note, cause = (
                    f"initial contract; adopted {rows} rows loaded before pipefix",
                    adopt.ADOPTED_CAUSE,
                )
            else:
                table_shape.apply(engine, CreateTable.of(contract))
                note, cause = "initial contract", "setup"
            adapter = (adapters or {}).get(table)
            described = ", ".join(t.describe() for t in adapter.transforms) if adapter else ""
            record_first_contract(
                engine,
                contract,
                adapter,
                0,
                note,
                f"initial adapter (source: in pipefix.yaml): {described}",
                cause,
            )


def record_first_contract(
    engine: Engine,
    contract: Contract,
    adapter: Adapter | None,
    step: int,
    note: str,
    adapter_note: str,
    cause: str,
) -> None:
    """A table's first contract (and adapter) and its physical state, once the table exists."""
    store.save_contract(engine, contract, step, note)
    if adapter is not None:
        store.save_adapter(engine, adapter, step, adapter_note)
    columns = sorted(health.physical_columns(engine, contract.table))
    store.record_table_state(engine, step, contract.table, columns, cause)


@dataclass(frozen=True)
class Unready:
    """A batch file not read yet, and why: a later step reads it once it is complete."""

    table: str
    file: str  # `orders/b1.jsonl`
    reason: str  # `still being written: modified 2 s ago`
    modified_seconds_ago: float
    settles_in: float | None  # seconds until it has been quiet long enough; None: waits for _SUCCESS

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "file": self.file,
            "reason": self.reason,
            "modified_seconds_ago": round(self.modified_seconds_ago, 1),
        }


@dataclass(frozen=True)
class TableScan:
    ready: list[tuple[Path, str]]  # files with something to record: (path, name under the table's folder)
    unready: list[Unready]


def scan(ctx: PipelineContext, landing: Path, table: str, now: float | None = None) -> TableScan:
    """The table's batch files not accounted for yet, oldest name first: new bytes, grown or
    rewritten files, known bytes under a new name (a re-send) — those complete enough to read,
    and those not (still being written, or waiting for their folder's `_SUCCESS`). A file seen
    before under its own name with the same bytes is neither."""
    folder = landing / table
    if not folder.is_dir():
        return TableScan([], [])
    now = time.time() if now is None else now
    rules = ctx.landing_rules
    recorded = file_batches(ctx.engine, table)
    ready: list[tuple[Path, str]] = []
    unready: list[Unready] = []
    for path, name, marked in _candidates(folder, rules):
        file = f"{table}/{name}"
        try:
            stat = path.stat()
            if _seen(ctx, path, stat, recorded.get(file, [])):
                continue
        except FileNotFoundError:  # moved away since the folder was listed
            continue
        age = now - stat.st_mtime
        if stat.st_size == 0 and (marked or landing_rules.not_settled(age, rules) is None):
            continue  # an empty file, done: reported (tools/landing_survey.py), never loaded
        if rules.require_success_marker and not marked:
            where = file.rpartition("/")[0]
            unready.append(Unready(table, file, landing_rules.waits_for_marker(where), age, None))
            continue
        settles_in = None if marked else landing_rules.not_settled(age, rules)
        if settles_in is not None:
            unready.append(Unready(table, file, landing_rules.still_writing(age), age, settles_in))
            continue
        ready.append((path, name))
    return TableScan(ready, unready)


def _candidates(folder: Path, rules: LandingRules) -> list[tuple[Path, str, bool]]:
    """(path, name under the table's folder, its folder holds _SUCCESS) of every batch file a
    producer is done naming: files directly in the folder; with `require_success_marker`, also
    those of each folder in it (a Spark job's output)."""
    marked = (folder / landing_rules.SUCCESS_MARKER).is_file()
    found = [(p, p.name, marked) for p in _batch_files(folder)]
    if rules.require_success_marker:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            if not landing_rules.in_progress_name(sub.name):
                done = (sub / landing_rules.SUCCESS_MARKER).is_file()
                found += [(p, f"{sub.name}/{p.name}", done) for p in _batch_files(sub)]
    return sorted(found, key=lambda f: f[1])


def _batch_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if readers.batch_format(p) and not landing_rules.in_progress_name(p.name) and p.is_file()
    )


def _seen(ctx: PipelineContext, path: Path, stat: os.stat_result, history: list[RecordedBatch]) -> bool:
    """Whether a batch of this file already has its bytes. Hashed only when one could: a batch of
    the file's size (or of a size not recorded)."""
    if not any(b.size_bytes in (None, stat.st_size) for b in history):
        return False
    sha256 = _sha256(ctx, path, stat)
    return any(b.sha256 == sha256 for b in history)


def pending_files(ctx: PipelineContext, landing: Path, table: str) -> list[Path]:
    """Batch files with something to record and complete enough to read, oldest name first."""
    return [path for path, _ in scan(ctx, landing, table).ready]


def _sha256(ctx: PipelineContext, path: Path, stat: os.stat_result) -> str:
    """Content hash, computed again only when the file's size or mtime changes."""
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in ctx.hash_cache:
        ctx.hash_cache[key] = file_sha256(path)
    return ctx.hash_cache[key]


@dataclass(frozen=True)
class Ingested:
    loads: list[loader.BatchLoad]
    unready: list[Unready]
    reported: tuple[Reported, ...] = ()  # every landed file not read, now
    first_reported: tuple[Reported, ...] = ()  # those never reported before with these bytes

    def notes(self) -> tuple[FileNote, ...]:
        """What a person should hear about the landed files this step did not simply load: each
        reported file once (per bytes), the step it is first seen."""
        notes = [
            FileNote(u.file, "marker" if u.settles_in is None else "writing", f"{u.file} ({u.reason})")
            for u in self.unready
        ]
        notes += [FileNote(r.file, r.kind, r.text) for r in self.first_reported]
        for load in self.loads:
            after = load.appended_to or load.rewrite_of
            if after is not None:
                file = store.file_of(load.batch_id)
                kind = "appended" if load.appended_to else "rewritten"
                change = {
                    "file": file,
                    "change": kind,
                    "lines": load.received,
                    "batch_id": load.batch_id,
                    "after": after,
                }
                notes.append(FileNote(file, kind, store.changed_file_text(change)))
        return tuple(notes)


def ingest(ctx: PipelineContext, landing: Path, step: int) -> Ingested:
    """Load every batch file complete enough to read and not loaded before (up to the step's
    capacity per table), then refresh derived tables; report every other landed file."""
    loads, unready, unreadable = load_tables(ctx, landing, step, ctx.source_tables)
    for table, metrics in ctx.derived.items():
        with ctx.engine.transaction():
            derived.refresh(ctx.engine, table, metrics, step, ctx.clock(step))
    reported = (*landing_survey.survey(ctx, landing), *unreadable)
    with ctx.engine.transaction():
        first = landing_files.record(ctx.engine, step, reported)
        landing_files.resolve(ctx.engine, step, reported, landing_survey.read_files(ctx))
    return Ingested(loads, unready, reported, tuple(first))


def load_tables(
    ctx: PipelineContext, landing: Path, step: int, tables: tuple[str, ...]
) -> tuple[list[loader.BatchLoad], list[Unready], list[Reported]]:
    """Load the tables' batch files complete enough to read and not loaded before (up to the
    step's capacity per table): the loads, the files not ready, the files that cannot be read."""
    loads = []
    unready = []
    unreadable: list[Reported] = []
    limit = capacity(ctx)
    for table in tables:
        found = scan(ctx, landing, table)
        unready += found.unready
        unready += queued(table, found.ready[limit:], limit)
        for path, name in found.ready[:limit]:
            try:
                result = loader.load_batch(ctx.engine, path, table, step, name, ctx.csv_options.get(table))
            except loader.FileChanged:
                reason = "still being written: it changed while it was read"
                unready.append(
                    Unready(table, f"{table}/{name}", reason, 0.0, ctx.landing_rules.settle_seconds)
                )
                continue
            except FileNotFoundError:  # moved away since the folder was listed
                continue
            except loader.LoadedElsewhere:  # another run recorded it first, racing past the run lock
                continue
            except OSError as error:  # cannot be opened (permissions ...): reported, never lost
                reason = landing_report.unreadable(error.strerror or str(error))
                size = path.stat().st_size if path.exists() else 0
                unreadable.append(Reported(f"{table}/{name}", landing_report.UNREADABLE, reason, size, table))
                continue
            if result is not None:
                loads.append(result)
    return loads, unready, unreadable


def queued(table: str, files: list[tuple[Path, str]], limit: int) -> list[Unready]:
    """Files ready to read beyond the step's capacity: not read this step, named, never silent."""
    reason = f"queued: a step reads {limit} files per table (throughput capacity)"
    return [Unready(table, f"{table}/{name}", reason, 0.0, 0.0) for _, name in files]


def ingest_step(ctx: PipelineContext, landing: Path, step: int) -> list[loader.BatchLoad]:
    return ingest(ctx, landing, step).loads


def settle_wait(ctx: PipelineContext, landing: Path) -> tuple[float, list[Unready]]:
    """When nothing is ready to read but files are still settling: the seconds until the last of
    them has been quiet for `landing.settle`, and those files. (0, []) otherwise."""
    scans = [scan(ctx, landing, table) for table in ctx.source_tables]
    if any(found.ready for found in scans):
        return 0.0, []
    settling = [u for found in scans for u in found.unready if u.settles_in is not None]
    return max((u.settles_in or 0.0 for u in settling), default=0.0), settling
