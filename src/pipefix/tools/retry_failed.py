"""apply_fix(retry_failed): replay a table's quarantine through its current contract and adapter.
Each row lands at most once (lineage anti-join); rows that still fail stay held, reasons updated."""

from __future__ import annotations

from pipefix.engines import loader, store
from pipefix.engines.base import quote, scalar
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected


def accounting_gap(ctx: PipelineContext, table: str) -> int:
    """received - loaded - held for one table: 0 unless a row was lost or doubled."""
    engine = ctx.engine
    received = scalar(
        engine,
        f"SELECT coalesce(sum(received), 0) FROM {store.SCHEMA}.batches WHERE table_name = ?",
        (table,),
    )
    loaded = scalar(engine, f"SELECT count(*) FROM {quote(table)}")
    held = scalar(
        engine,
        f"SELECT count(*) FROM {store.SCHEMA}.quarantine WHERE table_name = ? AND replayed_step IS NULL",
        (table,),
    )
    return int(received) - int(loaded) - int(held)


def duplicate_lineage(ctx: PipelineContext, table: str) -> int:
    return int(
        scalar(
            ctx.engine,
            f"SELECT count(*) - count(DISTINCT (_pipefix_batch, _pipefix_line)) FROM {quote(table)}",
        )
    )


def apply_retry_failed(ctx: PipelineContext, table: str, step: int) -> tuple[str, int]:
    engine = ctx.engine
    contract = store.active_contract(engine, table)
    adapter = store.active_adapter(engine, table)
    with engine.transaction():
        replayed, still_open = loader.replay_quarantine(engine, contract, adapter, step)
        gap, doubled = accounting_gap(ctx, table), duplicate_lineage(ctx, table)
        if gap != 0 or doubled != 0:
            raise FixRejected(f"post-check: replay would lose {gap} and double {doubled} rows")
        store.audit(
            engine,
            step,
            "fix",
            {
                "fix_type": "retry_failed",
                "target": table,
                "replayed": replayed,
                "still_held": still_open,
                "contract_version": contract.version,
                "inverse": "none needed: replayed rows keep their quarantine record",
            },
        )
    return (
        f"replayed {replayed} held rows into {table} ({contract.label}); {still_open} still held",
        replayed,
    )
