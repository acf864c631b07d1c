"""A `timestamp` column (no time zone) loading times sent with a UTC offset keeps the instant as
its UTC time, and not the offset: said once per column, in its contract version's note and in
history, with what keeps it (`timestamptz`)."""

from __future__ import annotations

from pipefix.engines import store
from pipefix.engines.base import Engine, literal
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.judge import CHECKED
from pipefix.engines.sql import verdicts
from pipefix.pipeline.contracts import Adapter, Contract

# A time of day followed by an offset other than +00:00, somewhere in a record: the one test
# every loaded record gets (a producer sending UTC times costs no more).
_NOT_UTC = r"[+-]([0-9][1-9]|[1-9][0-9]|00:?([0-9][1-9]|[1-9][0-9]))"
_MAYBE = literal(r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?" + _NOT_UTC)
# The offset ending a time; +00:00 (and Z) are UTC already.
_OFFSET = literal(r"[0-9]:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?([+-][0-9]{2}(?::?[0-9]{2})?)$")
_UTC = literal(r"[+-]00(:?00)?")
KIND = "utc_note"


def offsets_loaded(duck: DuckDBEngine, contract: Contract, adapter: Adapter | None) -> dict[str, list[str]]:
    """Timestamp column -> the offsets other than UTC its values just judged to load were sent
    with (a few), for the records last checked."""
    texts = verdicts.timestamp_texts(contract, adapter)
    if not texts:
        return {}
    offsets = []
    for i in texts.values():
        offset = f"regexp_extract(s_{i}, {_OFFSET}, 1)"
        utc = f"regexp_full_match({offset}, {_UTC})"
        offsets.append(
            f"list(DISTINCT {offset}) FILTER (WHERE regexp_matches(s_{i}, {_MAYBE}) AND {offset} <> '' "
            f"AND NOT {utc})"
        )
    rows = duck.query(f"SELECT {', '.join(offsets)} FROM {CHECKED} WHERE reason = ''")
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
        engine.execute(
            f"UPDATE {store.SCHEMA}.contracts SET note = note || ? WHERE table_name = ? AND version = ?",
            (f"; {text}", contract.table, contract.version),
        )
        notes.append(text)
    return notes
