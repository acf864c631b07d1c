"""The loss guard of a load: what the warehouse holds of a batch after its writes, counted there.

The judge's verdicts say how many records it accepted and held; an INSERT that wrote fewer (a
driver dropping a row, a filter rewritten) would pass a check of the verdicts against themselves.
So the rows are counted where they landed: in the table by lineage and in the quarantine.
"""

from __future__ import annotations

from pipefix.engines import store
from pipefix.engines.base import Engine, EngineError, scalar
from pipefix.engines.dialect_of import dialect_of, state_dialect_of
from pipefix.engines.sql import load_guard as sql


def written_rows(engine: Engine, table: str, batch_id: str) -> tuple[int, int]:
    """What the warehouse holds of a batch, counted where it was written: rows in the table by
    lineage (those a load cut short before already wrote, too) and rows in the quarantine.
    Two statements: on Spark the table and the quarantine live in different engines."""
    d = dialect_of(engine)
    present = scalar(engine, sql.rows_of_batch_sql(d, table), (batch_id,))
    held = scalar(engine, sql.held_of_batch_sql(state_dialect_of(engine), store.SCHEMA), (table, batch_id))
    return int(present or 0), int(held or 0)


def refuse_unless_written(
    engine: Engine, table: str, batch_id: str, received: int, loaded: int, quarantined: int
) -> None:
    """The loss guard: every record received is in the table or in the quarantine, counted in
    the warehouse after the writes, not from the judge's verdicts, so a row an INSERT never
    wrote (or wrote twice) refuses the load. Raised inside the load's transaction, it rolls the
    batch back whole; on Spark, whose rows are written before the bookkeeping, the batch is not
    recorded and loads again later (lineage keeps the rows already written from landing twice)."""
    present, held = written_rows(engine, table, batch_id)
    if present + held != received or present != loaded or held != quarantined:
        raise EngineError(
            f"batch {batch_id}: {received} records in, but {present} found in {table} and {held} "
            f"in the quarantine after the load (the judge accepted {loaded} and held {quarantined}); "
            "refusing to commit a load that does not account for every record"
        )
