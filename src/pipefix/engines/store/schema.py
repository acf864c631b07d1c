"""The pipefix.* bookkeeping tables: their names, their DDL, and their creation and upgrade
(ensure_schema, run by every command that touches a warehouse), with the unique key on a batch's
identity and how a batch id names its file.

Append-only where it records history; nothing in this package deletes a row.
"""

from __future__ import annotations

from pipefix.engines.base import Engine, scalar

SCHEMA = "pipefix"
ADOPTED_CAUSE = "adopted"  # table_states.cause of a table another tool loaded, adopted in place

_DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.contracts (table_name VARCHAR, version INTEGER, "
    "spec VARCHAR, step BIGINT, note VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.active_contracts (table_name VARCHAR, version INTEGER)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.adapters (table_name VARCHAR, version INTEGER, "
    "spec VARCHAR, step BIGINT, note VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.active_adapters (table_name VARCHAR, version INTEGER)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.batches (batch_id VARCHAR, table_name VARCHAR, "
    "step BIGINT, path VARCHAR, sha256 VARCHAR, received BIGINT, loaded BIGINT, "
    "quarantined BIGINT, drift VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.quarantine (table_name VARCHAR, batch_id VARCHAR, "
    "line_no BIGINT, raw VARCHAR, reason VARCHAR, kind VARCHAR, contract_version INTEGER, "
    "quarantined_step BIGINT, replayed_step BIGINT, replayed_version INTEGER)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.goals (version INTEGER, step BIGINT, "
    "description VARCHAR, goal VARCHAR, reason VARCHAR, evidence VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.audit (seq BIGINT, step BIGINT, kind VARCHAR, payload VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.knowledge (seq BIGINT, step BIGINT, key VARCHAR, value VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.steps (step BIGINT, record VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.settings (key VARCHAR, value VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.journal (step BIGINT, body VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.ledger (step BIGINT, action_index INTEGER, action VARCHAR, "
    "ok BOOLEAN, detail VARCHAR, rows_affected BIGINT)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.decisions (id BIGINT, step BIGINT, table_name VARCHAR, "
    "fix_type VARCHAR, contract_version INTEGER, drift VARCHAR, policy VARCHAR, status VARCHAR, "
    "decided_by VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.table_states (seq BIGINT, step BIGINT, table_name VARCHAR, "
    "contract_version INTEGER, adapter_version INTEGER, columns VARCHAR, cause VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.alerts (event_key VARCHAR, sink VARCHAR, step BIGINT, "
    "delivered BOOLEAN, detail VARCHAR)",
    # A re-sent file (new name, bytes already loaded): the batch that loaded them first.
    f"ALTER TABLE {SCHEMA}.batches ADD COLUMN IF NOT EXISTS duplicate_of VARCHAR",
    # How much of the file the batch accounts for (its first size_bytes bytes hash to sha256); a
    # file that grew keeping them loads only the bytes after (appended_to: the batch before); a
    # file rewritten in place is recorded, not loaded (rewrite_of: the batch that loaded it).
    f"ALTER TABLE {SCHEMA}.batches ADD COLUMN IF NOT EXISTS size_bytes BIGINT",
    f"ALTER TABLE {SCHEMA}.batches ADD COLUMN IF NOT EXISTS appended_to VARCHAR",
    f"ALTER TABLE {SCHEMA}.batches ADD COLUMN IF NOT EXISTS rewrite_of VARCHAR",
    # How a CSV batch was read (JSON: delimiter, quote, decimal, header, bom; configured or sniffed).
    f"ALTER TABLE {SCHEMA}.batches ADD COLUMN IF NOT EXISTS csv_dialect VARCHAR",
]

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


def _next_seq(table: str) -> str:
    """Insertion order, kept explicitly so that every warehouse orders history the same way."""
    return f"(SELECT coalesce(max(seq), 0) + 1 FROM {SCHEMA}.{table})"


def ensure_schema(engine: Engine) -> None:
    for statement in _DDL:
        engine.execute(statement)
    ensure_batch_key(engine)


BATCH_KEY = "batches_batch_id"


def ensure_batch_key(engine: Engine) -> str | None:
    """A batch's identity is unique in pipefix.batches (a unique index on batch_id): a batch's
    rows commit with its batch row, so a second load of the same batch, by a run racing past the
    run lock, is refused by the database and rolled back whole. A warehouse where overlapping
    runs already recorded a batch twice keeps its rows as they are (nothing is removed) and gets
    no key: returns why, None when the key holds."""
    twice = engine.query(
        f"SELECT batch_id, count(*) FROM {SCHEMA}.batches GROUP BY batch_id HAVING count(*) > 1 "
        "ORDER BY batch_id"
    )
    if twice:
        shown = ", ".join(f"{file_of(str(b))} ({int(n)} times)" for b, n in twice[:3])
        more = f" and {len(twice) - 3} more" if len(twice) > 3 else ""
        return (
            f"pipefix.batches records {len(twice)} batch(es) more than once: {shown}{more} — loaded "
            "by runs that overlapped before pipefix held one run at a time; nothing was removed, and "
            "batch_id gets no unique key until they are resolved by hand (`pipefix run` itself "
            "loads each batch once: one run at a time)"
        )
    engine.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {BATCH_KEY} ON {SCHEMA}.batches (batch_id)")
    return None


def has_schema(engine: Engine) -> bool:
    return bool(
        scalar(
            engine,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (SCHEMA, "steps"),
        )
    )


def file_of(batch_id: str) -> str:
    """`orders/a.jsonl` of the batch id `orders/a.jsonl@<content hash>`."""
    return batch_id.rpartition("@")[0] or batch_id
