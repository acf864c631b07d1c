"""The statements that build and check pipefix's bookkeeping: the `pipefix` schema, its 16
tables and their upgrades, the unique key on a batch's identity, and the insertion order (seq)
the history tables keep.

Every name goes through the dialect (quoted, qualified by the `pipefix` schema); the column
definitions are fixed text, the same on every warehouse that keeps pipefix's state.
"""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect

SCHEMA = "pipefix"
BATCH_KEY = "batches_batch_id"

# Table -> its columns as first created. Columns added later are in _ADDED (an older warehouse
# gets them by ALTER TABLE ... ADD COLUMN IF NOT EXISTS).
_TABLES: dict[str, str] = {
    "contracts": "table_name VARCHAR, version INTEGER, spec VARCHAR, step BIGINT, note VARCHAR",
    "active_contracts": "table_name VARCHAR, version INTEGER",
    "adapters": "table_name VARCHAR, version INTEGER, spec VARCHAR, step BIGINT, note VARCHAR",
    "active_adapters": "table_name VARCHAR, version INTEGER",
    "batches": "batch_id VARCHAR, table_name VARCHAR, step BIGINT, path VARCHAR, sha256 VARCHAR, "
    "received BIGINT, loaded BIGINT, quarantined BIGINT, drift VARCHAR",
    "quarantine": "table_name VARCHAR, batch_id VARCHAR, line_no BIGINT, raw VARCHAR, reason VARCHAR, "
    "kind VARCHAR, contract_version INTEGER, quarantined_step BIGINT, replayed_step BIGINT, "
    "replayed_version INTEGER",
    "goals": "version INTEGER, step BIGINT, description VARCHAR, goal VARCHAR, reason VARCHAR, "
    "evidence VARCHAR",
    "audit": "seq BIGINT, step BIGINT, kind VARCHAR, payload VARCHAR",
    "knowledge": "seq BIGINT, step BIGINT, key VARCHAR, value VARCHAR",
    "steps": "step BIGINT, record VARCHAR",
    "settings": "key VARCHAR, value VARCHAR",
    "journal": "step BIGINT, body VARCHAR",
    "ledger": "step BIGINT, action_index INTEGER, action VARCHAR, ok BOOLEAN, detail VARCHAR, "
    "rows_affected BIGINT",
    "decisions": "id BIGINT, step BIGINT, table_name VARCHAR, fix_type VARCHAR, contract_version INTEGER, "
    "drift VARCHAR, policy VARCHAR, status VARCHAR, decided_by VARCHAR",
    "table_states": "seq BIGINT, step BIGINT, table_name VARCHAR, contract_version INTEGER, "
    "adapter_version INTEGER, columns VARCHAR, cause VARCHAR",
    "alerts": "event_key VARCHAR, sink VARCHAR, step BIGINT, delivered BOOLEAN, detail VARCHAR",
}

# Columns added to pipefix.batches after it was first created, in order:
# - duplicate_of: a re-sent file (new name, bytes already loaded): the batch that loaded them first.
# - size_bytes, appended_to, rewrite_of: how much of the file the batch accounts for (its first
#   size_bytes bytes hash to sha256); a file that grew keeping them loads only the bytes after
#   (appended_to: the batch before); a file rewritten in place is recorded, not loaded
#   (rewrite_of: the batch that loaded it).
# - csv_dialect: how a CSV batch was read (JSON: delimiter, quote, decimal, header, bom).
_ADDED: tuple[tuple[str, str, str], ...] = (
    ("batches", "duplicate_of", "VARCHAR"),
    ("batches", "size_bytes", "BIGINT"),
    ("batches", "appended_to", "VARCHAR"),
    ("batches", "rewrite_of", "VARCHAR"),
    ("batches", "csv_dialect", "VARCHAR"),
)

BOOKKEEPING_TABLES = tuple(_TABLES)


def table(d: Dialect, name: str) -> str:
    """A bookkeeping table's qualified, quoted name: "pipefix"."batches"."""
    return d.table(SCHEMA, name)


def ddl(d: Dialect) -> list[str]:
    """The schema, its tables and their added columns, each created only if missing."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {d.ident(SCHEMA)}"]
    statements += [f"CREATE TABLE IF NOT EXISTS {table(d, t)} ({cols})" for t, cols in _TABLES.items()]
    statements += [
        f"ALTER TABLE {table(d, t)} ADD COLUMN IF NOT EXISTS {d.ident(column)} {kind}"
        for t, column, kind in _ADDED
    ]
    return statements


def next_seq(d: Dialect, name: str) -> str:
    """A subquery for a history table's next seq: insertion order, kept explicitly so that every
    warehouse orders history the same way."""
    return f"(SELECT coalesce(max(seq), 0) + 1 FROM {table(d, name)})"


def batches_recorded_twice(d: Dialect) -> str:
    return (
        f"SELECT batch_id, count(*) FROM {table(d, 'batches')} GROUP BY batch_id HAVING count(*) > 1 "
        "ORDER BY batch_id"
    )


def create_batch_key(d: Dialect) -> str:
    return f"CREATE UNIQUE INDEX IF NOT EXISTS {d.ident(BATCH_KEY)} ON {table(d, 'batches')} (batch_id)"


def table_exists() -> str:
    """Whether a table exists (parameters: schema, table)."""
    return "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"
