"""The pipefix.* bookkeeping tables: their creation and upgrade (ensure_schema, run by every
command that touches a warehouse; the statements are built in engines/sql/bookkeeping_schema.py,
in the dialect of the place that keeps pipefix's state), with the unique key on a batch's
identity and how a batch id names its file.

Append-only where it records history; nothing in this package deletes a row.
"""

from __future__ import annotations

from pipefix.engines.base import Engine, scalar
from pipefix.engines.sql import bookkeeping_schema as sql
from pipefix.engines.sql.dialects import Dialect, dialect_named

SCHEMA = sql.SCHEMA
ADOPTED_CAUSE = "adopted"  # table_states.cause of a table another tool loaded, adopted in place

BATCH_COLUMNS = (
    "batch_id",
    "table_name",
    "step",
    "path",
    "sha256",
    "received",
    "loaded",
    "quarantined",
    "drift",
    "duplicate_of",
    "size_bytes",
    "appended_to",
    "rewrite_of",
    "csv_dialect",
)


def _dialect(engine: Engine) -> Dialect:
    """The dialect of the statements on pipefix's state: where the engine keeps it (DuckDB and
    PostgreSQL: the warehouse itself; Spark: its state DuckDB file)."""
    return dialect_named(engine.capabilities.state_dialect)


def ensure_schema(engine: Engine) -> None:
    for statement in sql.ddl(_dialect(engine)):
        engine.execute(statement)
    ensure_batch_key(engine)


BATCH_KEY = sql.BATCH_KEY


def ensure_batch_key(engine: Engine) -> str | None:
    """A batch's identity is unique in pipefix.batches (a unique index on batch_id): a batch's
    rows commit with its batch row, so a second load of the same batch, by a run racing past the
    run lock, is refused by the database and rolled back whole. A warehouse where overlapping
    runs already recorded a batch twice keeps its rows as they are (nothing is removed) and gets
    no key: returns why, None when the key holds."""
    d = _dialect(engine)
    twice = engine.query(sql.batches_recorded_twice(d))
    if twice:
        shown = ", ".join(f"{file_of(str(b))} ({int(n)} times)" for b, n in twice[:3])
        more = f" and {len(twice) - 3} more" if len(twice) > 3 else ""
        return (
            f"pipefix.batches records {len(twice)} batch(es) more than once: {shown}{more} — loaded "
            "by runs that overlapped before pipefix held one run at a time; nothing was removed, and "
            "batch_id gets no unique key until they are resolved by hand (`pipefix run` itself "
            "loads each batch once: one run at a time)"
        )
    engine.execute(sql.create_batch_key(d))
    return None


def has_schema(engine: Engine) -> bool:
    return bool(
        scalar(
            engine,
            sql.table_exists(),
            (SCHEMA, "steps"),
        )
    )


def file_of(batch_id: str) -> str:
    """`orders/a.jsonl` of the batch id `orders/a.jsonl@<content hash>`."""
    return batch_id.rpartition("@")[0] or batch_id
