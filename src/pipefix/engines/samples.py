"""Sample batches for `pipefix init --from`: read exactly as the loader reads them, and a guessed
contract tried on them by loading them into a scratch in-memory warehouse.

Reading goes through the loader's own staging (engines/judge.py): JSONL lines as text (DuckDB's
`read_json(..., ignore_errors=true)` would turn a broken line into a row of NULLs), CSV through
readers.py, Parquet through DuckDB with each row as JSON. The record texts are then read by
pipeline/sample_values.py, numbers as their digits. A line that is no JSON object is held by any
contract; it is reported, not guessed from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipefix.engines import loader, readers, store, table_shape
from pipefix.engines.base import EngineError
from pipefix.engines.dialect_of import dialect_of, state_dialect_of
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.judge import Judge
from pipefix.engines.sql import samples as sql
from pipefix.engines.sql.migration import CreateTable
from pipefix.engines.sql.records import IS_OBJECT
from pipefix.engines.sql.staging import STAGE
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.field_profiles import Sample
from pipefix.pipeline.sample_values import parse_record

# Parquet's declared types that name a contract type exactly; VARCHAR is read from its text
# (timestamps, dates), and anything else is read from the values as JSON gives them.
_DECLARED = {
    "BOOLEAN": "boolean",
    "TINYINT": "integer",
    "SMALLINT": "integer",
    "INTEGER": "integer",
    "UTINYINT": "integer",
    "USMALLINT": "integer",
    "BIGINT": "bigint",
    "UINTEGER": "bigint",
    "UBIGINT": "decimal(20,0)",
    "FLOAT": "double",
    "DOUBLE": "double",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "JSON": "json",
}


@dataclass(frozen=True)
class Unreadable:
    file: str
    line: int
    reason: str


@dataclass(frozen=True)
class SampleRead:
    """A table's sample files as the loader would see them."""

    table: str
    files: tuple[Path, ...]
    records: int  # every record the loader would count as received
    samples: tuple[Sample, ...]  # the JSON objects among them
    declared: dict[str, str]  # Parquet: field -> the logical type its schema declares
    unreadable: tuple[Unreadable, ...]  # held by any contract: no JSON object


def _declared_type(duckdb_type: str) -> str | None:
    upper = duckdb_type.upper()
    if upper.startswith("DECIMAL("):
        return upper.lower().replace(" ", "")
    if upper.startswith(("STRUCT", "MAP", "UNION")) or upper.endswith("]"):
        return "json"
    return _DECLARED.get(upper)


def read_samples(table: str, files: Sequence[Path]) -> SampleRead:
    """Every record of the files, staged as the loader stages a batch (in a private in-memory
    DuckDB), then read as text."""
    duck = DuckDBEngine(":memory:")
    judge = Judge(duck)
    samples: list[Sample] = []
    unreadable: list[Unreadable] = []
    declared: dict[str, str] = {}
    records = 0
    try:
        for path in files:
            kind = readers.batch_format(path)
            records += judge.stage_file(path, f"{table}/{path.name}", None)
            rows = duck.query(sql.staged_records_sql(dialect_of(duck), STAGE, IS_OBJECT))
            for line, raw, error, is_object in rows:
                fields = parse_record(raw) if is_object else None
                if fields is None:
                    why = error or ("not a JSON object" if raw.strip() else "empty record")
                    unreadable.append(Unreadable(path.name, int(line), str(why)[:200]))
                    continue
                samples.append(Sample(fields, textual=kind == "csv"))
            if kind == "parquet":
                for name, logical in _parquet_types(duck, path).items():
                    declared.setdefault(name, logical)
    finally:
        duck.close()
    return SampleRead(table, tuple(files), records, tuple(samples), declared, tuple(unreadable))


def _parquet_types(duck: DuckDBEngine, path: Path) -> dict[str, str]:
    """Field -> the contract type a Parquet file's schema names exactly ({} if unreadable)."""
    try:
        rows = duck.query(sql.parquet_schema_sql(), (str(path),))
    except EngineError:
        return {}
    types = {str(name): _declared_type(str(kind)) for name, kind in rows}
    return {name: logical for name, logical in types.items() if logical is not None}


@dataclass(frozen=True)
class TrialLoad:
    table: str
    received: int
    loaded: int
    held: dict[str, int]  # reason -> rows, of the records a contract could change (shape, values)
    unreadable: int  # records no contract loads


def trial_load(
    tables: Sequence[tuple[Contract, Adapter | None, Sequence[Path]]],
) -> dict[str, TrialLoad]:
    """Load the sample files under the guessed contracts into a scratch in-memory warehouse, with
    the loader itself: what it holds, the samples refuse. Nothing else is touched."""
    engine = DuckDBEngine(":memory:")
    try:
        store.ensure_schema(engine)
        results = {}
        for contract, adapter, files in tables:
            table_shape.apply(engine, CreateTable.of(contract))
            store.save_contract(engine, contract, 0, "trial")
            if adapter is not None:
                store.save_adapter(engine, adapter, 0, "trial")
            received = loaded = 0
            for path in files:
                load = loader.load_batch(engine, path, contract.table, step=1)
                if load is not None:
                    received, loaded = received + load.received, loaded + load.loaded
            held = engine.query(
                sql.held_by_reason_sql(state_dialect_of(engine), store.SCHEMA), (contract.table,)
            )
            results[contract.table] = TrialLoad(
                contract.table,
                received,
                loaded,
                {str(r): int(n) for r, k, n in held if k in ("schema", "value")},
                sum(int(n) for _, k, n in held if k not in ("schema", "value")),
            )
        return results
    finally:
        engine.close()
