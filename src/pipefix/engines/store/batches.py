"""Batches and quarantine: one row per batch file read (loaded, re-sent, grown or rewritten),
the rows held back, and the row accounting over both (received = loaded + held + duplicates)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipefix.engines.base import Engine, scalar
from pipefix.engines.dialect_of import dialect_of
from pipefix.engines.sql import bookkeeping_batches as sql
from pipefix.engines.store.contracts import adopted
from pipefix.engines.store.schema import BATCH_COLUMNS, _dialect, file_of


def record_batch(engine: Engine, **values: Any) -> None:
    """One row of pipefix.batches, its columns named (BATCH_COLUMNS; those not given are NULL)."""
    unknown = set(values) - set(BATCH_COLUMNS)
    if unknown:
        raise ValueError(f"pipefix.batches has no column {sorted(unknown)}")
    names = [c for c in BATCH_COLUMNS if c in values]
    engine.execute(sql.insert_batch(_dialect(engine), names), tuple(values[c] for c in names))


def files_read(engine: Engine, tables: Sequence[str]) -> set[str]:
    """The files (`orders/a.jsonl`) of these tables with a batch row: loaded, re-sent, grown or
    rewritten. One statement for every table."""
    if not tables:
        return set()
    rows = engine.query(sql.batch_ids_of(_dialect(engine), len(tables)), tuple(tables))
    return {file_of(str(batch_id)) for (batch_id,) in rows}


def row_accounting(engine: Engine, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows counted in the database: received = loaded + held + duplicates (lines of files re-sent
    with bytes already loaded, never loaded again), lost (must be 0), duplicated (rows loaded
    twice: must be 0), replayed. With an adopted table, `adopted` (its rows from before pipefix)
    is part of loaded and not of received."""
    d = _dialect(engine)
    adopted_tables = adopted(engine, tables)
    received, duplicates = engine.query(sql.received_and_duplicates(d, len(tables)), tables)[0]
    # The user tables' rows, in the text the warehouse is sent (not the state's dialect).
    user = dialect_of(engine)
    per_table = engine.query_many(
        [sql.user_table_rows(user, table, table in adopted_tables) for table in tables]
    )
    loaded = sum(int(rows[0][0]) for rows in per_table)
    duplicated = sum(int(rows[0][1]) for rows in per_table)
    before = sum(int(rows[0][2]) for rows in per_table)
    held, replayed = engine.query(sql.held_and_replayed(d, len(tables)), tables)[0]
    return {
        "received": int(received),
        "loaded": loaded,
        "quarantined": int(held),
        "replayed": int(replayed),
        "duplicates": int(duplicates),
        "lost": int(received) - (loaded - before) - int(held) - int(duplicates),
        "duplicated": duplicated,
    } | ({"adopted": before} if adopted_tables else {})


def grown_and_rewritten(engine: Engine, step: int | None = None) -> list[dict[str, Any]]:
    """Files that changed after they were loaded, oldest first (of one step, if given): grown
    (`appended_to`: only the new lines loaded) or rewritten in place (`rewrite_of`: not loaded)."""
    params = (step,) if step is not None else ()
    rows = engine.query(sql.grown_and_rewritten(_dialect(engine), step is not None), params)
    return [
        {
            "step": int(s),
            "table": t,
            "file": file_of(b),
            "batch_id": b,
            "change": "appended" if appended is not None else "rewritten",
            "lines": int(n),
            "after": appended if appended is not None else rewritten,
        }
        for s, t, b, n, appended, rewritten in rows
    ]


def changed_file_text(change: dict[str, Any]) -> str:
    """What became of a file that changed after it was loaded, in one sentence."""
    if change["change"] == "appended":
        return (
            f"{change['file']} grew after it was loaded: its {change['lines']:,} new lines loaded as "
            f"batch {change['batch_id']}"
        )
    return (
        f"{change['file']} was rewritten after it was loaded (batch {change['after']}): not reloaded; "
        "to load its new content, send it under a new name"
    )


def resent_batches(engine: Engine, step: int | None = None) -> list[dict[str, Any]]:
    """Files re-sent under a new name with bytes already loaded, oldest first (of one step, if given)."""
    params = (step,) if step is not None else ()
    rows = engine.query(sql.resent(_dialect(engine), step is not None), params)
    return [
        {"step": int(s), "table": t, "file": file_of(b), "lines": int(n), "duplicate_of": d, "batch_id": b}
        for s, t, b, n, d in rows
    ]


def first_drift_step(engine: Engine) -> int | None:
    value = scalar(engine, sql.first_drift_step(_dialect(engine)))
    return int(value) if value is not None else None


def open_quarantine_reasons(engine: Engine) -> list[tuple[str, str, int]]:
    rows = engine.query(sql.open_quarantine_reasons(_dialect(engine)))
    return [(t, r, int(n)) for t, r, n in rows]
