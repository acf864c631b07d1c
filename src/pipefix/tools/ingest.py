"""The pipeline's own work each step: load every batch file not loaded before, then refresh
derived tables. Not an agent action: this is what the agent watches."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipefix.engines import derived, health, loader, readers, store
from pipefix.engines.duckdb_sql import create_table_sql
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.tools import adopt
from pipefix.tools.context import PipelineContext
from pipefix.tools.throughput import capacity


def setup(
    ctx: PipelineContext, contracts: dict[str, Contract], adapters: Mapping[str, Adapter] | None = None
) -> None:
    """Create pipefix's state and each table at its first contract version (and adapter, for
    columns read from another field), once. A table another tool already loaded is adopted in
    place (tools/adopt.py); if one does not match its contract, nothing at all is created and
    the columns that differ are reported."""
    engine = ctx.engine
    known = store.has_schema(engine)
    new = {t: c for t, c in contracts.items() if not known or store.latest_contract_version(engine, t) == 0}
    # Another tool's tables: those without pipefix's lineage columns (one with them is pipefix's
    # own, whatever its columns: health's schema check judges it).
    foreign = {
        t: columns
        for t in new
        if (columns := adopt.existing_columns(engine, t)) and not adopt.has_lineage(columns)
    }
    adopt.refuse_mismatches(engine, {t: (new[t], columns) for t, columns in foreign.items()})
    store.ensure_schema(engine)
    for table, contract in new.items():
        with engine.transaction():
            if table in foreign:
                rows = adopt.adopt(engine, contract, foreign[table])
                note, cause = (
                    f"initial contract; adopted {rows} rows loaded before pipefix",
                    adopt.ADOPTED_CAUSE,
                )
            else:
                engine.execute(create_table_sql(contract, engine.capabilities.dialect))
                note, cause = "initial contract", "setup"
            store.save_contract(engine, contract, 0, note)
            adapter = (adapters or {}).get(table)
            if adapter is not None:
                described = ", ".join(t.describe() for t in adapter.transforms)
                store.save_adapter(
                    engine, adapter, 0, f"initial adapter (source: in pipefix.yaml): {described}"
                )
            store.record_table_state(engine, 0, table, sorted(health.physical_columns(engine, table)), cause)


def pending_files(ctx: PipelineContext, landing: Path, table: str) -> list[Path]:
    """Batch files not accounted for yet, oldest name first: new bytes, and known bytes under a
    new name (a re-send, recorded as such). A file seen before under its own name is not."""
    folder = landing / table
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir() if readers.batch_format(p) and p.is_file())
    recorded = loader.recorded_batches(ctx.engine, table)
    return [p for p in files if loader.batch_id_of(table, p, _sha256(ctx, p)) not in recorded]


def _sha256(ctx: PipelineContext, path: Path) -> str:
    """Content hash, computed again only when the file's size or mtime changes."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in ctx.hash_cache:
        ctx.hash_cache[key] = loader.file_sha256(path)
    return ctx.hash_cache[key]


def ingest_step(ctx: PipelineContext, landing: Path, step: int) -> list[loader.BatchLoad]:
    loads = []
    limit = capacity(ctx)
    for table in ctx.source_tables:
        for path in pending_files(ctx, landing, table)[:limit]:
            result = loader.load_batch(ctx.engine, path, table, step)
            if result is not None:
                loads.append(result)
    for table, metrics in ctx.derived.items():
        with ctx.engine.transaction():
            derived.refresh(ctx.engine, table, metrics, step, ctx.clock(step))
    return loads
