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
from pipefix.engines.base import quote, scalar
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.drift import Drift, ObservedField, diff

STAGE = "_pipefix_stage"
CHECKED = "_pipefix_checked"


@dataclass(frozen=True)
class BatchLoad:
    batch_id: str
    table: str
    received: int
    loaded: int
    quarantined: int
    drift: tuple[Drift, ...]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def already_loaded(engine: DuckDBEngine, table: str, sha256: str) -> bool:
    return bool(
        scalar(
            engine,
            f"SELECT count(*) FROM {store.SCHEMA}.batches WHERE table_name = ? AND sha256 = ?",
            (table, sha256),
        )
    )


def loaded_hashes(engine: DuckDBEngine, table: str) -> set[str]:
    rows = engine.query(f"SELECT DISTINCT sha256 FROM {store.SCHEMA}.batches WHERE table_name = ?", (table,))
    return {r[0] for r in rows}


def observed_fields(engine: DuckDBEngine, source: str) -> tuple[ObservedField, ...]:
    rows = engine.query(duckdb_sql.observed_fields_sql(source))
    return tuple(
        ObservedField(
            name=name,
            json_types=frozenset(types),
            rows=int(count),
            min_number=low,
            max_number=high,
            max_decimals=int(decimals),
            samples=tuple(s for s in samples if s is not None),
        )
        for name, types, count, low, high, decimals, samples in rows
    )


def _valid_objects(engine: DuckDBEngine, source: str) -> int:
    return int(
        scalar(
            engine,
            f"SELECT count(*) FROM {source} WHERE {duckdb_sql.IS_OBJECT}",
        )
    )


def _check(engine: DuckDBEngine, contract: Contract, adapter: Adapter | None, source: str) -> None:
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS "
        + duckdb_sql.checked_records_sql(contract, adapter, source)
    )


def load_batch(
    engine: DuckDBEngine, path: Path, table: str, step: int, batch_id: str | None = None
) -> BatchLoad | None:
    """Load one JSONL batch file; None if a file with the same content was loaded before."""
    sha256 = file_sha256(path)
    if already_loaded(engine, table, sha256):
        return None
    batch_id = batch_id or f"{table}/{path.name}"
    contract = store.active_contract(engine, table)
    adapter = store.active_adapter(engine, table)
    with engine.transaction():
        received = engine.stage_jsonl(path, batch_id, STAGE)
        _check(engine, contract, adapter, STAGE)
        drift: tuple[Drift, ...] = ()
        # Only a batch with rows of the wrong shape can show drift; profiling costs a scan.
        if scalar(engine, f"SELECT count(*) FROM {CHECKED} WHERE kind = 'schema'"):
            drift = diff(contract, observed_fields(engine, STAGE), _valid_objects(engine, STAGE), adapter)
        engine.execute(duckdb_sql.insert_conforming_sql(contract, CHECKED, step))
        loaded = int(scalar(engine, f"SELECT count(*) FROM {CHECKED} WHERE reason = ''"))
        engine.execute(
            f"INSERT INTO {store.SCHEMA}.quarantine SELECT ?, batch_id, line_no, raw, reason, kind, ?, ?, "
            f"NULL, NULL FROM {CHECKED} WHERE reason <> ''",
            (table, contract.version, step),
        )
        quarantined = received - loaded
        engine.execute(
            f"INSERT INTO {store.SCHEMA}.batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )
    return BatchLoad(batch_id, table, received, loaded, quarantined, drift)


def _stage_open_quarantine(engine: DuckDBEngine, table: str) -> int:
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT batch_id, line_no, raw "
        f"FROM {store.SCHEMA}.quarantine WHERE table_name = ? AND replayed_step IS NULL",
        (table,),
    )
    return int(scalar(engine, f"SELECT count(*) FROM {STAGE}"))


def replay_quarantine(
    engine: DuckDBEngine, contract: Contract, adapter: Adapter | None, step: int
) -> tuple[int, int]:
    """Run a table's open quarantine through its current contract. Returns (replayed, still open).

    The caller holds the transaction, so the replay and its audit record commit together.
    """
    table = contract.table
    if _stage_open_quarantine(engine, table) == 0:
        return 0, 0
    _check(engine, contract, adapter, STAGE)
    engine.execute(duckdb_sql.insert_conforming_sql(contract, CHECKED, step))
    quarantine = f"{store.SCHEMA}.quarantine"
    engine.execute(
        f"UPDATE {quarantine} AS q SET replayed_step = ?, replayed_version = ? FROM {CHECKED} AS c "
        "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.batch_id = c.batch_id "
        "AND q.line_no = c.line_no AND c.reason = ''",
        (step, contract.version, table),
    )
    engine.execute(
        f"UPDATE {quarantine} AS q SET reason = c.reason, kind = c.kind FROM {CHECKED} AS c "
        "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.batch_id = c.batch_id "
        "AND q.line_no = c.line_no AND c.reason <> ''",
        (table,),
    )
    replayed = int(scalar(engine, f"SELECT count(*) FROM {CHECKED} WHERE reason = ''"))
    still_open = int(scalar(engine, f"SELECT count(*) FROM {CHECKED} WHERE reason <> ''"))
    return replayed, still_open


def trial_replay(
    engine: DuckDBEngine, contract: Contract, adapter: Adapter | None
) -> tuple[int, int, list[str]]:
    """How many open quarantined rows a contract would accept, without loading any.

    Returns (would load, would stay, the most common remaining reasons).
    """
    if _stage_open_quarantine(engine, contract.table) == 0:
        return 0, 0, []
    _check(engine, contract, adapter, STAGE)
    ok = int(scalar(engine, f"SELECT count(*) FROM {CHECKED} WHERE reason = ''"))
    bad = int(scalar(engine, f"SELECT count(*) FROM {CHECKED} WHERE reason <> ''"))
    reasons = [
        r[0]
        for r in engine.query(
            f"SELECT reason FROM {CHECKED} WHERE reason <> '' GROUP BY reason "
            "ORDER BY count(*) DESC, reason LIMIT 3"
        )
    ]
    return ok, bad, reasons


def profile_open_quarantine(
    engine: DuckDBEngine, table: str, kind: str = "schema"
) -> tuple[int, tuple[ObservedField, ...]]:
    """The open quarantined records of one kind, profiled like a batch: (rows, fields)."""
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT batch_id, line_no, raw "
        f"FROM {store.SCHEMA}.quarantine WHERE table_name = ? AND kind = ? "
        "AND replayed_step IS NULL",
        (table, kind),
    )
    return _valid_objects(engine, STAGE), observed_fields(engine, STAGE)


def trial_load_into(engine: DuckDBEngine, table: str, contract: Contract, adapter: Adapter | None) -> int:
    """Load the open quarantine of `table` into the (shadow) table `contract.table`; count rows.

    The quarantine itself is not touched: this only proves the contract and DDL would work.
    """
    _stage_open_quarantine(engine, table)
    _check(engine, contract, adapter, STAGE)
    engine.execute(duckdb_sql.insert_conforming_sql(contract, CHECKED, 0))
    return int(scalar(engine, f"SELECT count(*) FROM {quote(contract.table)}"))
