"""The landed files pipefix reported instead of reading (pipeline/landing_report.py), kept in the
warehouse so that `pipefix history` says each (file, bytes) once, with the step that first saw
it, and the step it was read at once it became readable (its table approved)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipefix.engines.base import Engine, columns_of
from pipefix.engines.dialect_of import state_dialect_of
from pipefix.engines.sql import landing as sql
from pipefix.engines.store import SCHEMA
from pipefix.pipeline.landing_report import Reported


def ensure(engine: Engine) -> None:
    """Created next to pipefix's other tables (tools/ingest.setup), on every open: idempotent."""
    for statement in sql.landing_files_ddl(state_dialect_of(engine), SCHEMA):
        engine.execute(statement)


def exists(engine: Engine) -> bool:
    return bool(columns_of(engine, sql.LANDING_FILES, SCHEMA))


def records_seen(engine: Engine) -> dict[tuple[str, int], int]:
    """(file, bytes) -> records counted when it was first reported: not counted again."""
    if not exists(engine):
        return {}
    rows = engine.query(sql.records_seen_sql(state_dialect_of(engine), SCHEMA))
    return {(str(f), int(s)): int(r or 0) for f, s, r in rows}


def record(engine: Engine, step: int, reported: Iterable[Reported]) -> list[Reported]:
    """Store the files reported now that were never reported with these bytes; returns them."""
    d = state_dialect_of(engine)
    seen = {(str(f), int(s)) for f, s in engine.query(sql.reported_files_sql(d, SCHEMA))}
    new = [r for r in reported if (r.file, r.size_bytes) not in seen]
    for r in new:
        values = (r.file, r.size_bytes, r.kind, r.reason, r.folder, r.records, step)
        engine.execute(sql.record_file_sql(d, SCHEMA), values)
    return new


def resolve(engine: Engine, step: int, current: Iterable[Reported], read: set[str]) -> None:
    """Files reported before and not now: read since (`read`, the files loaded), or gone."""
    now = {(r.file, r.size_bytes) for r in current}
    d = state_dialect_of(engine)
    rows = engine.query(sql.reported_files_sql(d, SCHEMA, unresolved=True))
    for file, size in rows:
        if (str(file), int(size)) in now:
            continue
        resolution = "read" if file in read else "gone"
        engine.execute(sql.resolve_file_sql(d, SCHEMA), (step, resolution, file, size))


def history_entries(engine: Engine) -> list[dict[str, Any]]:
    """`pipefix history`: each file reported (once per bytes), and when it was read."""
    if not exists(engine):
        return []
    rows = engine.query(sql.landing_history_sql(state_dialect_of(engine), SCHEMA))
    entries: list[dict[str, Any]] = []
    for file, size, kind, reason, records, step, resolved_step, resolution in rows:
        held = f", {int(records):,} records" if kind == "no_contract" else ""
        entries.append(
            {
                "step": int(step),
                "kind": "reported",
                "file": file,
                "reason": f"{int(size):,} bytes{held}; not read",
                "text": f"{file}: {reason}",
            }
        )
        if resolution == "read":
            entries.append(
                {"step": int(resolved_step), "kind": "read", "file": file, "text": f"{file}: now read"}
            )
    return entries
