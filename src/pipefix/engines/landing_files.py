"""The landed files pipefix reported instead of reading (pipeline/landing_report.py), kept in the
warehouse so that `pipefix history` says each (file, bytes) once, with the step that first saw
it, and the step it was read at once it became readable (its table approved)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipefix.engines.base import Engine, columns_of
from pipefix.engines.store import SCHEMA
from pipefix.pipeline.landing_report import Reported

TABLE = f"{SCHEMA}.landing_files"
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (file VARCHAR, size_bytes BIGINT, kind VARCHAR, "
    "reason VARCHAR, folder VARCHAR, records BIGINT, step BIGINT, resolved_step BIGINT, "
    "resolution VARCHAR)",
)


def ensure(engine: Engine) -> None:
    """Created next to pipefix's other tables (tools/ingest.setup), on every open: idempotent."""
    for statement in _DDL:
        engine.execute(statement)


def exists(engine: Engine) -> bool:
    return bool(columns_of(engine, "landing_files", SCHEMA))


def records_seen(engine: Engine) -> dict[tuple[str, int], int]:
    """(file, bytes) -> records counted when it was first reported: not counted again."""
    if not exists(engine):
        return {}
    rows = engine.query(f"SELECT file, size_bytes, records FROM {TABLE} WHERE kind = 'no_contract'")
    return {(str(f), int(s)): int(r or 0) for f, s, r in rows}


def record(engine: Engine, step: int, reported: Iterable[Reported]) -> list[Reported]:
    """Store the files reported now that were never reported with these bytes; returns them."""
    seen = {(str(f), int(s)) for f, s in engine.query(f"SELECT file, size_bytes FROM {TABLE}")}
    new = [r for r in reported if (r.file, r.size_bytes) not in seen]
    for r in new:
        engine.execute(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            (r.file, r.size_bytes, r.kind, r.reason, r.folder, r.records, step),
        )
    return new


def resolve(engine: Engine, step: int, current: Iterable[Reported], read: set[str]) -> None:
    """Files reported before and not now: read since (`read`, the files loaded), or gone."""
    now = {(r.file, r.size_bytes) for r in current}
    rows = engine.query(f"SELECT file, size_bytes FROM {TABLE} WHERE resolved_step IS NULL")
    for file, size in rows:
        if (str(file), int(size)) in now:
            continue
        engine.execute(
            f"UPDATE {TABLE} SET resolved_step = ?, resolution = ? WHERE file = ? AND size_bytes = ?",
            (step, "read" if file in read else "gone", file, size),
        )


def history_entries(engine: Engine) -> list[dict[str, Any]]:
    """`pipefix history`: each file reported (once per bytes), and when it was read."""
    if not exists(engine):
        return []
    rows = engine.query(
        f"SELECT file, size_bytes, kind, reason, records, step, resolved_step, resolution FROM {TABLE} "
        "ORDER BY step, file"
    )
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
