"""A `timestamp` column (no time zone) loading times sent with a UTC offset keeps the instant as
its UTC time, and not the offset: said once per column, in its contract version's note and in
history, with what keeps it (`timestamptz`)."""

from __future__ import annotations

from pipefix.engines import store
from pipefix.engines.base import Engine
from pipefix.engines.dialect_of import dialect_of, state_dialect_of
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.sql import utc_notes as sql
from pipefix.engines.sql import verdicts
from pipefix.engines.sql.staging import CHECKED
from pipefix.pipeline.contracts import Adapter, Contract

KIND = "utc_note"


def offsets_loaded(duck: DuckDBEngine, contract: Contract, adapter: Adapter | None) -> dict[str, list[str]]:
    """Timestamp column -> the offsets other than UTC its values just judged to load were sent
    with (a few), for the records last checked."""
    texts = verdicts.timestamp_texts(contract, adapter)
    if not texts:
        return {}
    rows = duck.query(sql.offsets_sql(dialect_of(duck), texts.values(), CHECKED))
    found = rows[0] if rows else ()
    return {name: sorted(sent)[:3] for name, sent in zip(texts, found, strict=True) if sent}


def note_offsets(
    engine: Engine, duck: DuckDBEngine, contract: Contract, adapter: Adapter | None, step: int
) -> list[str]:
    """Record, once per column, that a timestamp column stores times sent with offsets as UTC.
    Returns the notes recorded now."""
    notes = []
    for column, offsets in offsets_loaded(duck, contract, adapter).items():
        key = f"{KIND}.{contract.table}.{column}"
        if store.recall(engine, key) is not None:
            continue
        text = (
            f"{contract.table}.{column} stores UTC: a timestamp without time zone, it keeps the "
            f"instant of times sent with offsets ({', '.join(offsets)}) as their UTC time, not the "
            "offset (type: timestamptz keeps each time as the instant it is)"
        )
        store.remember(engine, step, key, {"table": contract.table, "column": column, "offsets": offsets})
        store.audit(engine, step, KIND, {"target": contract.table, "column": column, "text": text})
        statement = sql.append_note_sql(state_dialect_of(engine), store.SCHEMA)
        engine.execute(statement, (f"; {text}", contract.table, contract.version))
        notes.append(text)
    return notes
