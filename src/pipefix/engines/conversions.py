"""Conversions and variants in the warehouse: which conversions read the held values exactly,
and what the variant columns keep.

Every held value a column cannot type is tried under each conversion that may read it, by the
judge's own SQL, in one pass: the trial contract carries, beside each column, one column per
candidate conversion (the same type, read from the same field through that conversion), and a
value is read by a conversion when its trial column is not NULL.
"""

from __future__ import annotations

from pipefix.engines import store
from pipefix.engines.base import Engine
from pipefix.engines.dialect_of import dialect_of
from pipefix.engines.judge import judge_for
from pipefix.engines.sql import held_values as sql
from pipefix.engines.sql.staging import STAGE, accepted_with_value
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.conversions import HeldValues, variants
from pipefix.pipeline.drift import Drift
from pipefix.pipeline.drift_diagnosis import with_conversions


def untyped_values(engine: Engine, contract: Contract, adapter: Adapter | None) -> tuple[HeldValues, ...]:
    """untyped_values_sql() of the records staged last (replays.profile_open_quarantine)."""
    duck = judge_for(engine).duck
    trial, figures = sql.untyped_values_sql(contract, adapter, STAGE)
    duck.execute(trial)
    rows = duck.query(figures)
    found: dict[int, list[tuple[str, tuple[str, ...], int, str]]] = {}
    for i, json_type, read_by, count, sample in rows:
        found.setdefault(int(i), []).append((str(json_type), tuple(read_by), int(count), str(sample)))
    held = []
    for i, groups in found.items():
        merged: dict[tuple[str, ...], tuple[int, str]] = {}
        for _, read_by, count, sample in groups:
            before = merged.get(read_by, (0, sample))
            merged[read_by] = (before[0] + count, before[1])
        held.append(
            HeldValues(
                contract.columns[i].name,
                frozenset(t for t, _, _, _ in groups),
                tuple((read_by, count, sample) for read_by, (count, sample) in merged.items()),
            )
        )
    return tuple(held)


def held_conversions(
    engine: Engine, contract: Contract, adapter: Adapter | None, drifts: tuple[Drift, ...]
) -> tuple[Drift, ...]:
    """The diagnosis' drifts with each retyped column as its held values show it (drift_diagnosis.py
    with_conversions): a conversion, a variant, or why neither."""
    return with_conversions(contract, adapter, drifts, untyped_values(engine, contract, adapter))


def variant_rows(engine: Engine, contract: Contract) -> int:
    """Of the records the judge accepted last (a trial replay), those a variant column keeps a
    value of: they load, but not as their column's type."""
    kept = [contract.column_names.index(v) for v in variants(contract).values()]
    if not kept:
        return 0
    return judge_for(engine).count(accepted_with_value(kept))


def variant_figures(engine: Engine, tables: tuple[str, ...]) -> list[dict[str, object]]:
    """Each variant column of the tables' active contracts: the column it keeps values of, and
    how many rows hold one (the column itself is NULL on those rows)."""
    found: list[dict[str, object]] = []
    for table in tables:
        contract = store.active_contract(engine, table)
        for column, variant in variants(contract).items():
            rows = engine.query(sql.variant_rows(dialect_of(engine), table, variant))
            found.append({"table": table, "column": column, "variant": variant, "rows": int(rows[0][0])})
    return found


def variant_note(figure: dict[str, object]) -> str:
    return (
        f"{figure['table']} carries a variant: {figure['variant']} keeps {figure['rows']} value(s) of "
        f"{figure['column']} that no conversion can type, exactly as sent ({figure['column']} is NULL there)"
    )
