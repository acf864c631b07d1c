"""A table's open quarantine run through a contract: replayed for real, tried without loading
any row (how many a contract or adapter would accept), loaded into a shadow table, or profiled
like a batch for a diagnosis; and the drift profile of a set of staged records."""

from __future__ import annotations

from pipefix.engines import utc_notes
from pipefix.engines.base import Engine, scalar
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.judge import judge_for
from pipefix.engines.sql import loads as sql
from pipefix.engines.sql import profile
from pipefix.engines.sql.staging import ACCEPTED, HELD, STAGE
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.observed_types import ObservedField


def observed_fields(duck: DuckDBEngine, source: str) -> tuple[ObservedField, ...]:
    rows = duck.query(profile.observed_fields_sql(source))
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


def _valid_objects(duck: DuckDBEngine) -> int:
    return int(scalar(duck, sql.valid_objects()))


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
    utc_notes.note_offsets(engine, judge.duck, contract, adapter, step)
    judge.insert_conforming(contract, step)
    judge.mark_replayed(contract.table, step, contract.version)
    return judge.count(ACCEPTED), judge.count(HELD)


def trial_replay(engine: Engine, contract: Contract, adapter: Adapter | None) -> tuple[int, int, list[str]]:
    """How many open quarantined rows a contract would accept, without loading any.

    Returns (would load, would stay, the most common remaining reasons).
    """
    judge = judge_for(engine)
    if judge.stage_open_quarantine(contract.table) == 0:
        return 0, 0, []
    judge.check(contract, adapter)
    reasons = [r[0] for r in judge.duck.query(sql.top_reasons(3))]
    return judge.count(ACCEPTED), judge.count(HELD), reasons


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
    rows = judge_for(engine).duck.query(sql.staged_values(field, limit))
    return [str(r[0]) for r in rows]
