"""apply_fix(retry_failed): replay a table's quarantine through its current contract and adapter.
Each row lands at most once (lineage anti-join); rows that still fail stay held, reasons updated."""

from __future__ import annotations

from pipefix.engines import replays, store
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected


def accounting_gap(ctx: PipelineContext, table: str) -> int:
    """received - loaded - held for one table: 0 unless a row was lost or doubled."""
    return store.row_accounting(ctx.engine, (table,))["lost"]


def duplicate_lineage(ctx: PipelineContext, table: str) -> int:
    return store.row_accounting(ctx.engine, (table,))["duplicated"]


def replay_held(ctx: PipelineContext, table: str, step: int) -> tuple[int, int]:
    """Replay a table's held rows through its active contract and adapter, inside the caller's
    transaction, post-checked: (replayed, still held). Raises FixRejected if a row would be lost
    or doubled."""
    engine = ctx.engine
    contract = store.active_contract(engine, table)
    adapter = store.active_adapter(engine, table)
    replayed, still_open = replays.replay_quarantine(engine, contract, adapter, step)
    gap, doubled = accounting_gap(ctx, table), duplicate_lineage(ctx, table)
    if gap != 0 or doubled != 0:
        raise FixRejected(f"post-check: replay would lose {gap} and double {doubled} rows")
    return replayed, still_open


def apply_retry_failed(ctx: PipelineContext, table: str, step: int) -> tuple[str, int]:
    engine = ctx.engine
    contract = store.active_contract(engine, table)
    with engine.transaction():
        replayed, still_open = replay_held(ctx, table, step)
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
