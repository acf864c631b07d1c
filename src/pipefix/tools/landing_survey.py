"""Every file under landing/ is read or reported: the files no table's scan reads
(tools/ingest.scan), each with its reason (pipeline/landing_report.py). Reads the folder only;
storing what was reported is engines/landing_files.py's."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from pipefix.engines import landing_files, readers, samples, store
from pipefix.engines.base import EngineError
from pipefix.pipeline import landing as landing_rules
from pipefix.pipeline import landing_report as report
from pipefix.pipeline.landing_report import Reported
from pipefix.tools.context import PipelineContext


def survey(ctx: PipelineContext, landing: Path, now: float | None = None) -> list[Reported]:
    """The files under `landing` that no table's scan reads, and why, by name. The records of a
    new table's files are counted (once per file and bytes: kept in the warehouse)."""
    if not landing.is_dir():
        return []
    now = time.time() if now is None else now
    tables = set(ctx.source_tables)
    found: list[Reported] = []
    for entry in sorted(landing.iterdir()):
        if landing_rules.in_progress_name(entry.name):
            continue
        if entry.is_file():
            found.append(Reported(entry.name, report.OUTSIDE, report.outside(), _size(entry)))
        elif entry.is_dir():
            found += _folder(ctx, entry, entry.name in tables, now)
    return _with_records(ctx, landing, found)


def _folder(ctx: PipelineContext, folder: Path, known: bool, now: float) -> list[Reported]:
    rules = ctx.landing_rules
    found: list[Reported] = []
    for path in sorted(folder.iterdir()):
        name = f"{folder.name}/{path.name}"
        if landing_rules.in_progress_name(path.name):
            continue
        if path.is_dir():
            # A Spark job's output folder is read with require_success_marker; otherwise pipefix
            # reads only the folder's own files.
            reads_it = known and rules.require_success_marker
            for inner in sorted(p for p in path.rglob("*") if p.is_file()):
                relative = inner.relative_to(folder.parent).as_posix()
                if any(landing_rules.in_progress_name(part) for part in inner.relative_to(path).parts):
                    continue
                if reads_it and inner.parent == path:
                    found += _file(ctx, inner, relative, folder.name, known, now)
                else:
                    found.append(
                        Reported(relative, report.OUTSIDE, report.outside(folder.name), _size(inner))
                    )
            continue
        if path.is_file():
            found += _file(ctx, path, name, folder.name, known, now)
    return found


def _file(
    ctx: PipelineContext, path: Path, name: str, folder: str, known: bool, now: float
) -> list[Reported]:
    try:
        stat = path.stat()
    except FileNotFoundError:  # moved away since the folder was listed
        return []
    settled = landing_rules.not_settled(now - stat.st_mtime, ctx.landing_rules) is None
    readable = readers.batch_format(path) is not None
    found = report.classify(
        path.name, folder, readable=readable, size=stat.st_size, settled=settled, known=known
    )
    if found is None:
        return []
    kind, reason = found
    return [Reported(name, kind, reason, stat.st_size, folder)]


def _with_records(ctx: PipelineContext, landing: Path, found: list[Reported]) -> list[Reported]:
    """A new table's files with their records, counted as the loader would count them; a file
    that cannot be read is reported unreadable instead."""
    seen = landing_files.records_seen(ctx.engine)
    counted: list[Reported] = []
    for r in found:
        if r.kind != report.NO_CONTRACT or r.folder is None:
            counted.append(r)
            continue
        records = seen.get((r.file, r.size_bytes))
        if records is None:
            try:
                records = samples.read_samples(r.folder, [landing / r.file]).records
            except (OSError, ValueError, EngineError) as error:
                counted.append(replace(r, kind=report.UNREADABLE, reason=report.unreadable(str(error))))
                continue
        counted.append(replace(r, records=records))
    return counted


def read_files(ctx: PipelineContext) -> set[str]:
    """The files of the pipeline's tables recorded as read (loaded, re-sent, grown or rewritten)."""
    return store.files_read(ctx.engine, ctx.source_tables)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
