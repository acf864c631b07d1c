"""pipefix's own state, kept in the warehouse beside the data: contracts and adapters with their
versions, batches, quarantine, goals, audit trail, knowledge and step records.

Append-only where it records history; nothing here deletes a row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipefix.domain.constraints import Constraint
from pipefix.domain.goals import Goal
from pipefix.domain.records import StepJournal, StepRecord
from pipefix.domain.serde import dump_as, from_json, from_plain, load_as, to_json
from pipefix.engines.base import Engine, quote, scalar
from pipefix.errors import NotFoundError
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.csv_dialect import CsvDialect
from pipefix.pipeline.renames import RenameEvidence

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


# --- contracts and adapters ---------------------------------------------------------------


def save_contract(engine: Engine, contract: Contract, step: int, note: str) -> None:
    engine.execute(
        f"INSERT INTO {SCHEMA}.contracts VALUES (?, ?, ?, ?, ?)",
        (contract.table, contract.version, to_json(contract), step, note),
    )
    _set_active(engine, "active_contracts", contract.table, contract.version)


def _set_active(engine: Engine, table: str, name: str, version: int | None) -> None:
    exists = scalar(engine, f"SELECT count(*) FROM {SCHEMA}.{table} WHERE table_name = ?", (name,))
    if exists:
        engine.execute(f"UPDATE {SCHEMA}.{table} SET version = ? WHERE table_name = ?", (version, name))
    else:
        engine.execute(f"INSERT INTO {SCHEMA}.{table} VALUES (?, ?)", (name, version))


def activate_contract(engine: Engine, table: str, version: int) -> None:
    _set_active(engine, "active_contracts", table, version)


def contract_version(engine: Engine, table: str, version: int) -> Contract | None:
    spec = scalar(
        engine,
        f"SELECT spec FROM {SCHEMA}.contracts WHERE table_name = ? AND version = ?",
        (table, version),
    )
    return from_json(Contract, spec) if spec else None


def active_contract(engine: Engine, table: str) -> Contract:
    version = scalar(engine, f"SELECT version FROM {SCHEMA}.active_contracts WHERE table_name = ?", (table,))
    contract = contract_version(engine, table, version) if version is not None else None
    if contract is None:
        raise NotFoundError(f"no contract for table {table!r}")
    return contract


def active_contracts(engine: Engine) -> dict[str, Contract]:
    rows = engine.query(
        f"SELECT c.table_name, c.spec FROM {SCHEMA}.contracts c JOIN {SCHEMA}.active_contracts a "
        "ON a.table_name = c.table_name AND a.version = c.version ORDER BY c.table_name"
    )
    return {name: from_json(Contract, spec) for name, spec in rows}


def _latest_version(engine: Engine, history: str, table: str) -> int:
    query = f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.{history} WHERE table_name = ?"
    return int(scalar(engine, query, (table,)))


def latest_contract_version(engine: Engine, table: str) -> int:
    return _latest_version(engine, "contracts", table)


def save_adapter(engine: Engine, adapter: Adapter, step: int, note: str) -> None:
    engine.execute(
        f"INSERT INTO {SCHEMA}.adapters VALUES (?, ?, ?, ?, ?)",
        (adapter.table, adapter.version, to_json(adapter), step, note),
    )
    _set_active(engine, "active_adapters", adapter.table, adapter.version)


def deactivate_adapter(engine: Engine, table: str, version: int | None) -> None:
    _set_active(engine, "active_adapters", table, version)


def active_adapter(engine: Engine, table: str) -> Adapter | None:
    rows = engine.query(
        f"SELECT d.spec FROM {SCHEMA}.adapters d JOIN {SCHEMA}.active_adapters a "
        "ON a.table_name = d.table_name AND a.version = d.version WHERE d.table_name = ?",
        (table,),
    )
    return from_json(Adapter, rows[0][0]) if rows else None


def latest_adapter_version(engine: Engine, table: str) -> int:
    return _latest_version(engine, "adapters", table)


def contract_versions(engine: Engine, table: str) -> list[int]:
    rows = engine.query(
        f"SELECT version FROM {SCHEMA}.contracts WHERE table_name = ? ORDER BY version", (table,)
    )
    return [int(r[0]) for r in rows]


def adapter_versions(engine: Engine, table: str) -> list[tuple[int, int, Adapter]]:
    """Every adapter version a table had, oldest first: (version, step saved, adapter)."""
    rows = engine.query(
        f"SELECT version, step, spec FROM {SCHEMA}.adapters WHERE table_name = ? ORDER BY version",
        (table,),
    )
    return [(int(v), int(s), from_json(Adapter, spec)) for v, s, spec in rows]


def contract_version_with_adapter(engine: Engine, table: str, adapter_version: int) -> int | None:
    """The contract version the table had when an adapter version first became active."""
    value = scalar(
        engine,
        f"SELECT contract_version FROM {SCHEMA}.table_states WHERE table_name = ? "
        "AND adapter_version = ? ORDER BY seq LIMIT 1",
        (table, adapter_version),
    )
    return int(value) if value is not None else None


# --- audit, knowledge, goals, steps, settings ----------------------------------------------


def audit(engine: Engine, step: int, kind: str, payload: dict[str, Any]) -> None:
    """Append an audit record; the same record again (a step re-run after a crash) is kept once."""
    text = json.dumps(payload, sort_keys=True, default=str)
    if scalar(
        engine,
        f"SELECT count(*) FROM {SCHEMA}.audit WHERE step = ? AND kind = ? AND payload = ?",
        (step, kind, text),
    ):
        return
    engine.execute(f"INSERT INTO {SCHEMA}.audit VALUES ({_next_seq('audit')}, ?, ?, ?)", (step, kind, text))


def remember(engine: Engine, step: int, key: str, value: object) -> None:
    engine.execute(
        f"INSERT INTO {SCHEMA}.knowledge VALUES ({_next_seq('knowledge')}, ?, ?, ?)",
        (step, key, json.dumps(value, sort_keys=True, default=str)),
    )


def recall(engine: Engine, key: str) -> Any:
    """The latest value stored under `key`, or None."""
    text = scalar(
        engine,
        f"SELECT value FROM {SCHEMA}.knowledge WHERE key = ? ORDER BY seq DESC LIMIT 1",
        (key,),
    )
    return json.loads(text) if text is not None else None


def recall_latest(engine: Engine, keys: Sequence[str]) -> dict[str, Any]:
    """recall() of many keys in one statement: the latest value of each key stored."""
    if not keys:
        return {}
    marks = ", ".join("?" for _ in keys)
    rows = engine.query(
        f"SELECT k.key, k.value FROM {SCHEMA}.knowledge AS k WHERE k.key IN ({marks}) AND k.seq = "
        f"(SELECT max(l.seq) FROM {SCHEMA}.knowledge AS l WHERE l.key = k.key)",
        tuple(keys),
    )
    return {str(key): json.loads(value) for key, value in rows if value is not None}


def files_read(engine: Engine, tables: Sequence[str]) -> set[str]:
    """The files (`orders/a.jsonl`) of these tables with a batch row: loaded, re-sent, grown or
    rewritten. One statement for every table."""
    if not tables:
        return set()
    marks = ", ".join("?" for _ in tables)
    rows = engine.query(
        f"SELECT DISTINCT batch_id FROM {SCHEMA}.batches WHERE table_name IN ({marks})", tuple(tables)
    )
    return {file_of(str(batch_id)) for (batch_id,) in rows}


def knowledge(engine: Engine) -> list[tuple[int, str, Any]]:
    rows = engine.query(f"SELECT step, key, value FROM {SCHEMA}.knowledge ORDER BY step, key, seq")
    return [(int(step), key, json.loads(value)) for step, key, value in rows]


def get_setting(engine: Engine, key: str, default: str) -> str:
    value = scalar(engine, f"SELECT value FROM {SCHEMA}.settings WHERE key = ?", (key,))
    return str(value) if value is not None else default


def put_setting(engine: Engine, key: str, value: str) -> None:
    if scalar(engine, f"SELECT count(*) FROM {SCHEMA}.settings WHERE key = ?", (key,)):
        engine.execute(f"UPDATE {SCHEMA}.settings SET value = ? WHERE key = ?", (value, key))
    else:
        engine.execute(f"INSERT INTO {SCHEMA}.settings VALUES (?, ?)", (key, value))


# --- table states: what rollback restores ---------------------------------------------------


def record_table_state(engine: Engine, step: int, table: str, columns: list[str], cause: str) -> None:
    contract = active_contract(engine, table)
    adapter = active_adapter(engine, table)
    engine.execute(
        f"INSERT INTO {SCHEMA}.table_states VALUES ({_next_seq('table_states')}, ?, ?, ?, ?, ?, ?)",
        (
            step,
            table,
            contract.version,
            adapter.version if adapter else None,
            json.dumps(columns),
            cause,
        ),
    )


def table_state(engine: Engine, table: str, contract_version: int) -> tuple[int | None, list[str]]:
    """The adapter version and physical columns the table last had under a contract version."""
    rows = engine.query(
        f"SELECT adapter_version, columns FROM {SCHEMA}.table_states WHERE table_name = ? "
        "AND contract_version = ? ORDER BY seq DESC LIMIT 1",
        (table, contract_version),
    )
    if not rows:
        raise NotFoundError(f"{table} never had contract version {contract_version}")
    return rows[0][0], json.loads(rows[0][1])


def state_before(
    engine: Engine, table: str, step: int, causes: tuple[str, ...]
) -> tuple[int, int | None, list[str]] | None:
    """(contract version, adapter version, physical columns) the table had before the first of
    `step`'s changes of it made for one of `causes` (schema_migration, add_adapter)."""
    marks = ", ".join("?" for _ in causes)
    rows = engine.query(
        f"SELECT contract_version, adapter_version, columns FROM {SCHEMA}.table_states "
        f"WHERE table_name = ? AND seq < (SELECT min(seq) FROM {SCHEMA}.table_states WHERE "
        f"table_name = ? AND step = ? AND cause IN ({marks})) ORDER BY seq DESC LIMIT 1",
        (table, table, step, *causes),
    )
    return (int(rows[0][0]), rows[0][1], json.loads(rows[0][2])) if rows else None


def save_goal(
    engine: Engine,
    version: int,
    step: int,
    description: str,
    goal: str,
    reason: str,
    evidence: str,
) -> None:
    if scalar(engine, f"SELECT count(*) FROM {SCHEMA}.goals WHERE version = ?", (version,)):
        return  # a step re-run after a crash revises to the same version: kept once
    engine.execute(
        f"INSERT INTO {SCHEMA}.goals VALUES (?, ?, ?, ?, ?, ?)",
        (version, step, description, goal, reason, evidence),
    )


def goals(engine: Engine) -> list[tuple[int, int, str, str, str]]:
    """(version, step, description, reason, evidence JSON) in order."""
    rows = engine.query(
        f"SELECT version, step, description, reason, evidence FROM {SCHEMA}.goals ORDER BY version"
    )
    return [(int(v), int(s), d, r, e) for v, s, d, r, e in rows]


def save_step(engine: Engine, step: int, record: str) -> None:
    if scalar(engine, f"SELECT count(*) FROM {SCHEMA}.steps WHERE step = ?", (step,)):
        return
    engine.execute(f"INSERT INTO {SCHEMA}.steps VALUES (?, ?)", (step, record))


def audit_trail(engine: Engine, kinds: tuple[str, ...] = ()) -> list[tuple[int, str, dict[str, Any]]]:
    where = f"WHERE kind IN ({', '.join('?' for _ in kinds)})" if kinds else ""
    rows = engine.query(f"SELECT step, kind, payload FROM {SCHEMA}.audit {where} ORDER BY seq", kinds)
    return [(int(step), kind, json.loads(payload)) for step, kind, payload in rows]


def row_accounting(engine: Engine, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows counted in the database: received = loaded + held + duplicates (lines of files re-sent
    with bytes already loaded, never loaded again), lost (must be 0), duplicated (rows loaded
    twice: must be 0), replayed. With an adopted table, `adopted` (its rows from before pipefix)
    is part of loaded and not of received."""
    names = ", ".join("?" for _ in tables)
    adopted_tables = adopted(engine, tables)
    received, duplicates = engine.query(
        f"SELECT coalesce(sum(received), 0), "
        f"coalesce(sum(received) FILTER (WHERE duplicate_of IS NOT NULL), 0) "
        f"FROM {SCHEMA}.batches WHERE table_name IN ({names})",
        tables,
    )[0]
    per_table = engine.query_many([_rows_sql(table, table in adopted_tables) for table in tables])
    loaded = sum(int(rows[0][0]) for rows in per_table)
    duplicated = sum(int(rows[0][1]) for rows in per_table)
    before = sum(int(rows[0][2]) for rows in per_table)
    held, replayed = engine.query(
        f"SELECT count(*) FILTER (WHERE replayed_step IS NULL), "
        f"count(*) FILTER (WHERE replayed_step IS NOT NULL) FROM {SCHEMA}.quarantine "
        f"WHERE table_name IN ({names})",
        tables,
    )[0]
    return {
        "received": int(received),
        "loaded": loaded,
        "quarantined": int(held),
        "replayed": int(replayed),
        "duplicates": int(duplicates),
        "lost": int(received) - (loaded - before) - int(held) - int(duplicates),
        "duplicated": duplicated,
    } | ({"adopted": before} if adopted_tables else {})


def _rows_sql(table: str, adopted: bool) -> str:
    """Rows, rows loaded twice, rows from before pipefix. An adopted table's rows from before
    have no line: counted apart, never as pipefix's own rows loaded twice."""
    if not adopted:
        pairs = "count(*) - count(DISTINCT (_pipefix_batch, _pipefix_line))"
        return f"SELECT count(*), {pairs}, 0 FROM {quote(table)}"
    pairs = (
        "count(_pipefix_line) - count(DISTINCT (_pipefix_batch, _pipefix_line)) "
        "FILTER (WHERE _pipefix_line IS NOT NULL)"
    )
    return f"SELECT count(*), {pairs}, count(*) - count(_pipefix_line) FROM {quote(table)}"


def adopted(engine: Engine, tables: tuple[str, ...]) -> set[str]:
    """The tables pipefix adopted (another tool had loaded them): their rows from before count as
    `rows.adopted`, loaded but never received by pipefix."""
    if not tables:
        return set()
    names = ", ".join("?" for _ in tables)
    rows = engine.query(
        f"SELECT DISTINCT table_name FROM {SCHEMA}.table_states WHERE cause = ? AND table_name IN ({names})",
        (ADOPTED_CAUSE, *tables),
    )
    return {str(r[0]) for r in rows}


def record_batch(engine: Engine, **values: Any) -> None:
    """One row of pipefix.batches, its columns named (BATCH_COLUMNS; those not given are NULL)."""
    unknown = set(values) - set(BATCH_COLUMNS)
    if unknown:
        raise ValueError(f"pipefix.batches has no column {sorted(unknown)}")
    names = [c for c in BATCH_COLUMNS if c in values]
    engine.execute(
        f"INSERT INTO {SCHEMA}.batches ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        tuple(values[c] for c in names),
    )


def grown_and_rewritten(engine: Engine, step: int | None = None) -> list[dict[str, Any]]:
    """Files that changed after they were loaded, oldest first (of one step, if given): grown
    (`appended_to`: only the new lines loaded) or rewritten in place (`rewrite_of`: not loaded)."""
    where, params = ("AND step = ?", (step,)) if step is not None else ("", ())
    rows = engine.query(
        f"SELECT step, table_name, batch_id, received, appended_to, rewrite_of FROM {SCHEMA}.batches "
        f"WHERE (appended_to IS NOT NULL OR rewrite_of IS NOT NULL) {where} ORDER BY step, batch_id",
        params,
    )
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
    where, params = ("AND step = ?", (step,)) if step is not None else ("", ())
    rows = engine.query(
        f"SELECT step, table_name, batch_id, received, duplicate_of FROM {SCHEMA}.batches "
        f"WHERE duplicate_of IS NOT NULL {where} ORDER BY step, batch_id",
        params,
    )
    return [
        {"step": int(s), "table": t, "file": file_of(b), "lines": int(n), "duplicate_of": d, "batch_id": b}
        for s, t, b, n, d in rows
    ]


def file_of(batch_id: str) -> str:
    """`orders/a.jsonl` of the batch id `orders/a.jsonl@<content hash>`."""
    return batch_id.rpartition("@")[0] or batch_id


def resent_and_edit_entries(engine: Engine) -> list[dict[str, Any]]:
    """History entries for files re-sent and for edits of pipefix.yaml, applied or refused."""
    entries: list[dict[str, Any]] = [
        {
            "step": r["step"],
            "kind": "duplicate",
            "text": f"{r['file']} re-sent: its {r['lines']:,} lines are already loaded as "
            f"{file_of(r['duplicate_of'])}; recorded, nothing loaded twice",
        }
        for r in resent_batches(engine)
    ]
    for step, kind, payload in audit_trail(engine, ("contract_edit", "contract_edit_refused")):
        if kind == "contract_edit":
            text = (
                f"contract edited in pipefix.yaml: {payload['target']} v{payload['from_version']} -> "
                f"v{payload['to_version']}: {'; '.join(payload['changes'])}"
            )
            reason = f"replayed {payload['replayed']} held rows; {payload['still_held']} still held"
        else:
            refused = "; ".join(payload["refused"])
            text = f"contract edit of {payload['target']} in pipefix.yaml refused: {refused}"
            reason = f"the active contract v{payload['active_version']} stays"
        entries.append({"step": step, "kind": "edit", "text": text, "reason": reason})
    return entries


def first_drift_step(engine: Engine) -> int | None:
    value = scalar(engine, f"SELECT min(step) FROM {SCHEMA}.batches WHERE drift <> '[]'")
    return int(value) if value is not None else None


def open_quarantine_reasons(engine: Engine) -> list[tuple[str, str, int]]:
    rows = engine.query(
        f"SELECT table_name, reason, count(*) FROM {SCHEMA}.quarantine WHERE replayed_step IS NULL "
        "GROUP BY table_name, reason ORDER BY table_name, count(*) DESC, reason"
    )
    return [(t, r, int(n)) for t, r, n in rows]


def latest_goal(engine: Engine, up_to_step: int | None = None) -> Goal | None:
    """The newest goal, or the one in force at `up_to_step` (a resumed step revises again)."""
    where, params = ("WHERE step <= ?", (up_to_step,)) if up_to_step is not None else ("", ())
    text = scalar(engine, f"SELECT goal FROM {SCHEMA}.goals {where} ORDER BY version DESC LIMIT 1", params)
    return from_json(Goal, text) if text else None


def recent_steps(engine: Engine, count: int) -> tuple[StepRecord, ...]:
    rows = engine.query(f"SELECT record FROM {SCHEMA}.steps ORDER BY step DESC LIMIT ?", (count,))
    return tuple(from_json(StepRecord, r[0]) for r in reversed(rows))


def all_steps(engine: Engine) -> list[StepRecord]:
    return [
        from_json(StepRecord, r[0]) for r in engine.query(f"SELECT record FROM {SCHEMA}.steps ORDER BY step")
    ]


def save_agent_state(
    engine: Engine, constraints: tuple[Constraint, ...], episode_open: bool, fixes_used: int = 0
) -> None:
    put_setting(engine, "agent.constraints", dump_as(tuple[Constraint, ...], constraints))
    put_setting(engine, "agent.episode_open", "true" if episode_open else "false")
    put_setting(engine, "agent.fixes_used", str(fixes_used))


def fixes_used(engine: Engine) -> int:
    """Fix attempts of the run in progress, for a run resumed after a crash."""
    return int(get_setting(engine, "agent.fixes_used", "0"))


def load_agent_state(engine: Engine) -> tuple[tuple[Constraint, ...], bool] | None:
    text = get_setting(engine, "agent.constraints", "")
    if not text:
        return None
    constraints: tuple[Constraint, ...] = load_as(tuple[Constraint, ...], text)
    return constraints, get_setting(engine, "agent.episode_open", "false") == "true"


def has_schema(engine: Engine) -> bool:
    return bool(
        scalar(
            engine,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (SCHEMA, "steps"),
        )
    )


def history(engine: Engine) -> list[dict[str, Any]]:
    """Goal versions, fix attempts, refusals and constraint changes, in step order."""
    entries: list[dict[str, Any]] = []
    for version, step, description, reason, evidence in goals(engine):
        entries.append(
            {
                "step": step,
                "kind": "goal",
                "text": f"goal v{version}: {description}",
                "reason": reason,
                "evidence": json.loads(evidence) if evidence else {},
            }
        )
    for record in all_steps(engine):
        for result in record.results:
            if result.action.is_fix:
                outcome = "ok" if result.ok else "FAILED"
                entries.append(
                    {
                        "step": record.step,
                        "kind": "fix",
                        "text": f"{result.action} {outcome}: {result.detail}",
                    }
                )
            entries += _renames_weighed(record.step, result.evidence.get("diagnosis"))
        for refusal in record.refused:
            entries.append(
                {
                    "step": record.step,
                    "kind": "refused",
                    "text": f"{refusal.action} refused by {refusal.constraint}: {refusal.reason}",
                }
            )
        for change in record.constraint_changes:
            entries.append(
                {
                    "step": record.step,
                    "kind": "constraint",
                    "text": f"{change.change} {change.constraint.name}: {change.constraint.description}",
                    "reason": change.reason,
                }
            )
    for step, _, payload in audit_trail(engine, ("alert_undelivered",)):
        entries.append(
            {
                "step": step,
                "kind": "alert",
                "text": f"alert to {payload['sink']} NOT delivered ({', '.join(payload['events'])})",
                "reason": f"{payload['reason']} after {payload['attempts']} attempt(s)",
            }
        )
    for step, _, payload in audit_trail(engine, ("user",)):
        entries.append(
            {
                "step": step,
                "kind": "user",
                "text": f"pipefix {payload['command']} {payload['target']}: {payload['detail']}",
                "reason": f"asked by {payload['by']} at {payload['at']}",
            }
        )
    for step, _, payload in audit_trail(engine, ("utc_note",)):  # engines/utc_notes.py
        entries.append({"step": step, "kind": "note", "text": payload["text"]})
    entries += resent_and_edit_entries(engine)
    entries += [
        {"step": c["step"], "kind": c["change"], "text": changed_file_text(c)}
        for c in grown_and_rewritten(engine)
    ]
    entries += csv_dialect_entries(engine)
    return sorted(entries, key=lambda e: e["step"])


def csv_dialect_entries(engine: Engine) -> list[dict[str, Any]]:
    """The CSV batches read in a dialect other than the plain one (`,` `"` `.`, a header, no BOM)."""
    rows = engine.query(
        f"SELECT step, batch_id, csv_dialect FROM {SCHEMA}.batches WHERE csv_dialect IS NOT NULL "
        "ORDER BY step, batch_id"
    )
    dialects = [(int(step), str(batch), CsvDialect.from_dict(json.loads(text))) for step, batch, text in rows]
    return [
        {"step": step, "kind": "csv", "text": f"{file_of(batch)} read as CSV with {dialect.describe()}"}
        for step, batch, dialect in dialects
        if not dialect.plain
    ]


def _renames_weighed(step: int, diagnosis: object) -> list[dict[str, Any]]:
    """A diagnosis's rename evidence (pipeline/renames.py, as stored): one entry per pair weighed."""
    weighed = diagnosis.get("renames", []) if isinstance(diagnosis, dict) else []
    found = [from_plain(RenameEvidence, e) for e in weighed]
    return [
        {"step": step, "kind": "rename?", "text": f"{e.table}.{e.summary()}", "reason": e.figures()}
        for e in found
    ]


# --- alerts: each event goes to each sink once ------------------------------------------------


def alert_recorded(engine: Engine, event_key: str, sink: str) -> bool:
    return bool(
        scalar(
            engine,
            f"SELECT count(*) FROM {SCHEMA}.alerts WHERE event_key = ? AND sink = ?",
            (event_key, sink),
        )
    )


def record_alert(engine: Engine, step: int, event_key: str, sink: str, delivered: bool, detail: str) -> None:
    if not alert_recorded(engine, event_key, sink):
        engine.execute(
            f"INSERT INTO {SCHEMA}.alerts VALUES (?, ?, ?, ?, ?)", (event_key, sink, step, delivered, detail)
        )


# --- decisions a policy leaves to a person ---------------------------------------------------


def find_decision(engine: Engine, table: str, fix_type: str, contract_version: int) -> tuple[int, str] | None:
    """(id, status) of the latest decision about this fix on this contract version."""
    rows = engine.query(
        f"SELECT id, status FROM {SCHEMA}.decisions WHERE table_name = ? AND fix_type = ? "
        "AND contract_version = ? ORDER BY id DESC LIMIT 1",
        (table, fix_type, contract_version),
    )
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def open_decision(
    engine: Engine,
    step: int,
    table: str,
    fix_type: str,
    contract_version: int,
    drift: str,
    policy: str,
    status: str = "pending",
    decided_by: str | None = None,
) -> int:
    new_id = int(scalar(engine, f"SELECT coalesce(max(id), 0) + 1 FROM {SCHEMA}.decisions"))
    engine.execute(
        f"INSERT INTO {SCHEMA}.decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id, step, table, fix_type, contract_version, drift, policy, status, decided_by),
    )
    return new_id


def decide(engine: Engine, decision_id: int, status: str, decided_by: str) -> tuple[str, str, str]:
    """Approve or reject a decision; returns (table, fix_type, previous status)."""
    rows = engine.query(
        f"SELECT table_name, fix_type, status FROM {SCHEMA}.decisions WHERE id = ?", (decision_id,)
    )
    if not rows:
        raise NotFoundError(f"no decision {decision_id}")
    table, fix_type, before = rows[0]
    engine.execute(
        f"UPDATE {SCHEMA}.decisions SET status = ?, decided_by = ? WHERE id = ?",
        (status, decided_by, decision_id),
    )
    return str(table), str(fix_type), str(before)


def decisions(engine: Engine) -> list[dict[str, Any]]:
    rows = engine.query(
        f"SELECT id, step, table_name, fix_type, contract_version, drift, policy, status, decided_by "
        f"FROM {SCHEMA}.decisions ORDER BY id"
    )
    names = ("id", "step", "table", "fix_type", "contract_version", "drift", "policy", "status", "decided_by")
    return [dict(zip(names, row, strict=True)) for row in rows]


# --- the action ledger: what a step already did, so a resumed step does not do it again -------


def ledger_entry(engine: Engine, step: int, index: int) -> tuple[bool, str, int] | None:
    rows = engine.query(
        f"SELECT ok, detail, rows_affected FROM {SCHEMA}.ledger WHERE step = ? AND action_index = ?",
        (step, index),
    )
    return (bool(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None


def record_ledger(
    engine: Engine, step: int, index: int, action: str, ok: bool, detail: str, rows_affected: int
) -> None:
    engine.execute(
        f"INSERT INTO {SCHEMA}.ledger VALUES (?, ?, ?, ?, ?, ?)",
        (step, index, action, ok, detail, rows_affected),
    )


def ledger_of_step(engine: Engine, step: int) -> list[tuple[int, str, bool, str]]:
    """What `step` did so far: (index, action, ok, detail), in plan order."""
    rows = engine.query(
        f"SELECT action_index, action, ok, detail FROM {SCHEMA}.ledger WHERE step = ? ORDER BY action_index",
        (step,),
    )
    return [(int(i), str(a), bool(ok), str(d)) for i, a, ok, d in rows]


def fail_ledger_entry(engine: Engine, step: int, index: int, detail: str) -> None:
    """A recorded action judged failed after the fact (a change whose replay released nothing)."""
    engine.execute(
        f"UPDATE {SCHEMA}.ledger SET ok = false, detail = ? WHERE step = ? AND action_index = ?",
        (detail, step, index),
    )


def save_journal(engine: Engine, journal: StepJournal) -> None:
    if not scalar(engine, f"SELECT count(*) FROM {SCHEMA}.journal WHERE step = ?", (journal.step,)):
        engine.execute(f"INSERT INTO {SCHEMA}.journal VALUES (?, ?)", (journal.step, to_json(journal)))


def load_journal(engine: Engine, step: int) -> StepJournal | None:
    text = scalar(engine, f"SELECT body FROM {SCHEMA}.journal WHERE step = ?", (step,))
    return from_json(StepJournal, text) if text else None
