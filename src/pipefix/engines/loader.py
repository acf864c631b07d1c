"""Loading batches and replaying quarantine under a table's contract, one transaction each.

Every record that comes in ends in exactly one place: the table (conforming) or the quarantine
(with its raw text and the reasons). Lineage columns make a record land at most once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pipefix.domain.serde import to_plain
from pipefix.engines import duckdb_sql, store
from pipefix.engines.base import Engine, EngineError, scalar
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.judge import CHECKED, STAGE, judge_for
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.drift import Drift, ObservedField, diff, new_values


@dataclass(frozen=True)
class BatchLoad:
    batch_id: str
    table: str
    received: int
    loaded: int
    quarantined: int
    drift: tuple[Drift, ...]
    duplicate_of: str | None = None  # a re-sent file: the batch that loaded these bytes first


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def batch_id_of(table: str, path: Path, sha256: str) -> str:
    # The content hash is part of the id: a file re-sent with new content is a new batch.
    return f"{table}/{path.name}@{sha256[:12]}"


def recorded_batches(engine: Engine, table: str) -> set[str]:
    """Ids of every batch file of `table` already accounted for: loaded, or recorded as re-sent."""
    rows = engine.query(f"SELECT batch_id FROM {store.SCHEMA}.batches WHERE table_name = ?", (table,))
    return {str(r[0]) for r in rows}


def first_batch(engine: Engine, table: str, sha256: str) -> tuple[str, int] | None:
    """The batch that loaded these bytes into `table`, if they held any record: (id, records).

    A file without records (empty, or blank lines only) re-sends nothing: it is no duplicate."""
    rows = engine.query(
        f"SELECT batch_id, received FROM {store.SCHEMA}.batches WHERE table_name = ? AND sha256 = ? "
        "AND duplicate_of IS NULL AND received > 0 ORDER BY step, batch_id LIMIT 1",
        (table, sha256),
    )
    return (str(rows[0][0]), int(rows[0][1])) if rows else None


def record_duplicate(
    engine: Engine, path: Path, table: str, step: int, batch_id: str, sha256: str, first: tuple[str, int]
) -> BatchLoad:
    """A file re-sent under a new name with bytes already loaded: a batch row of its own (its
    records counted, none loaded), so that its lines are accounted for and nothing loads twice."""
    first_id, records = first
    engine.execute(
        f"INSERT INTO {store.SCHEMA}.batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (batch_id, table, step, str(path), sha256, records, 0, 0, "[]", first_id),
    )
    return BatchLoad(batch_id, table, records, 0, 0, (), duplicate_of=first_id)


def observed_fields(duck: DuckDBEngine, source: str) -> tuple[ObservedField, ...]:
    rows = duck.query(duckdb_sql.observed_fields_sql(source))
    return tuple(
        ObservedField(
            name=name,
            json_types=frozenset(types),
            rows=int(count),
            min_number=low,
            max_number=high,
            max_decimals=int(decimals),
            samples=tuple(s for s in samples if s is not None),
            max_digits=int(digits),
            exact_decimals=int(exact),
            past_bigint=bool(past_bigint),
            text_kinds=frozenset(kinds or ()),
        )
        for name, types, count, low, high, decimals, samples, digits, exact, past_bigint, kinds in rows
    )


def value_reasons(duck: DuckDBEngine) -> list[tuple[str, int]]:
    rows = duck.query(f"SELECT reason, count(*) FROM {CHECKED} WHERE kind = 'value' GROUP BY reason")
    return [(str(reason), int(count)) for reason, count in rows]


def _valid_objects(duck: DuckDBEngine) -> int:
    return int(scalar(duck, f"SELECT count(*) FROM {STAGE} WHERE {duckdb_sql.IS_OBJECT}"))


def load_batch(
    engine: Engine, path: Path, table: str, step: int, batch_id: str | None = None
) -> BatchLoad | None:
    """Load one batch file (JSONL, CSV or Parquet). None if this file (name and bytes) was seen
    before; a file re-sent under a new name with bytes already loaded is recorded, not loaded."""
    sha256 = file_sha256(path)
    batch_id = batch_id or batch_id_of(table, path, sha256)
    if batch_id in recorded_batches(engine, table):
        return None
    first = first_batch(engine, table, sha256)
    if first is not None:
        return record_duplicate(engine, path, table, step, batch_id, sha256, first)
    contract = store.active_contract(engine, table)
    adapter = store.active_adapter(engine, table)
    judge = judge_for(engine)
    # Staged before the transaction: a file DuckDB fails to read must not abort the load's
    # transaction; it becomes held records instead.
    received = judge.stage_file(path, batch_id, contract)
    with engine.transaction():
        judge.check(contract, adapter)
        drift: tuple[Drift, ...] = ()
        # Only a batch with rows of the wrong shape can show drift; profiling costs a scan.
        if judge.count("kind = 'schema'"):
            drift = diff(contract, observed_fields(judge.duck, STAGE), _valid_objects(judge.duck), adapter)
        if any(c.values for c in contract.columns) and judge.count("kind = 'value'"):
            drift += new_values(contract, value_reasons(judge.duck), received)
        loaded = judge.insert_conforming(contract, step)
        quarantined = judge.quarantine_rejected(table, contract.version, step)
        if loaded + quarantined != received:
            raise EngineError(
                f"batch {batch_id}: {received} records in, {loaded} loaded + {quarantined} held; "
                "refusing to commit an unbalanced load"
            )
        engine.execute(
            f"INSERT INTO {store.SCHEMA}.batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                batch_id,
                table,
                step,
                str(path),
                sha256,
                received,
                loaded,
                quarantined,
                json.dumps([to_plain(d) for d in drift]),
                None,
            ),
        )
    return BatchLoad(batch_id, table, received, loaded, quarantined, drift)


def replay_quarantine(
    engine: Engine, contract: Contract, adapter: Adapter | None, step: int
) -> tuple[int, int]:
    """Run a table's open quarantine through its current contract. Returns (replayed, still open).

    The caller holds the transaction, so the replay and its audit record commit together.
    Malformed records are not replayed: no contract can read them.
    """
    judge = judge_for(engine)
    if judge.stage_open_quarantine(contract.table) == 0:
        return 0, 0
    judge.check(contract, adapter)
    judge.insert_conforming(contract, step)
    judge.mark_replayed(contract.table, step, contract.version)
    return judge.count("reason = ''"), judge.count("reason <> ''")


def trial_replay(engine: Engine, contract: Contract, adapter: Adapter | None) -> tuple[int, int, list[str]]:
    """How many open quarantined rows a contract would accept, without loading any.

    Returns (would load, would stay, the most common remaining reasons).
    """
    judge = judge_for(engine)
    if judge.stage_open_quarantine(contract.table) == 0:
        return 0, 0, []
    judge.check(contract, adapter)
    reasons = [
        r[0]
        for r in judge.duck.query(
            f"SELECT reason FROM {CHECKED} WHERE reason <> '' "
            "GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 3"
        )
    ]
    return judge.count("reason = ''"), judge.count("reason <> ''"), reasons


def trial_load_into(engine: Engine, table: str, shadow: Contract, adapter: Adapter | None) -> int:
    """Load the open quarantine of `table` into the shadow table `shadow.table`; count its rows.

    The quarantine itself is not touched: this only proves the contract and DDL would work.
    """
    judge = judge_for(engine)
    judge.stage_open_quarantine(table)
    judge.check(shadow, adapter)
    return judge.insert_conforming(shadow, 0)


def profile_open_quarantine(
    engine: Engine, table: str, kind: str = "schema"
) -> tuple[int, tuple[ObservedField, ...]]:
    """The open quarantined records of one kind, profiled like a batch: (rows, fields)."""
    judge = judge_for(engine)
    judge.stage_open_quarantine(table, (kind,))
    return _valid_objects(judge.duck), observed_fields(judge.duck, STAGE)


def held_values(engine: Engine, field: str, limit: int = 1000) -> list[str]:
    """Distinct values of a field among the records last staged by profile_open_quarantine."""
    path = duckdb_sql.json_path(field)
    rows = judge_for(engine).duck.query(
        f"SELECT DISTINCT raw ->> {path} FROM {STAGE} WHERE {duckdb_sql.IS_OBJECT} "
        f"AND raw ->> {path} IS NOT NULL LIMIT {int(limit)}"
    )
    return [str(r[0]) for r in rows]
