"""Conversions and variants in the warehouse: which conversions read the held values exactly,
and what the variant columns keep.

Every held value a column cannot type is tried under each conversion that may read it, by the
judge's own SQL, in one pass: the trial contract carries, beside each column, one column per
candidate conversion (the same type, read from the same field through that conversion), and a
value is read by a conversion when its trial column is not NULL.
"""

from __future__ import annotations

from dataclasses import replace

from pipefix.engines import store
from pipefix.engines.base import Engine, literal, quote
from pipefix.engines.judge import judge_for
from pipefix.engines.sql import records, verdicts
from pipefix.engines.sql.staging import STAGE
from pipefix.pipeline.contracts import Adapter, ColumnSpec, Contract
from pipefix.pipeline.conversions import HeldValues, candidates, may_have_variant, transform_for, variants
from pipefix.pipeline.drift import Drift, with_conversions

TRIAL = "_pipefix_trial"


def untyped_values_sql(contract: Contract, adapter: Adapter | None, source: str) -> tuple[str, str]:
    """Per column, JSON type and conversions reading it: the rows of `source` whose value the
    column cannot type (present, but NULL once judged), with how many and one sample.

    Two statements: the trial verdicts into the temp table TRIAL, then the figures read from it.
    A table spills to disk under the memory limit; a CTE read once per column was held in
    memory whole, and ran a small buffer pool out of memory on a few thousand held records."""
    tried: list[ColumnSpec] = []
    transforms = list(adapter.transforms) if adapter else []
    selects = []
    kept_in = variants(contract).values()
    for i, column in enumerate(contract.columns):
        options = candidates(column.type)
        if column.name in kept_in or not (options or may_have_variant(contract, column.name)):
            continue
        current = adapter.transform_for(column.name) if adapter else None
        field = current.source if current else column.name
        tries = []
        for option in options:
            name = f"_pipefix_try_{i}_{len(tried)}"
            tried.append(ColumnSpec(name, column.type))
            transforms.append(transform_for(name, field, option))
            index = len(contract.columns) + len(tried) - 1
            tries.append(f"CASE WHEN v_{index} IS NOT NULL THEN {literal(option)} END")
        read_by = f"list_filter([{', '.join(tries)}], lambda x: x IS NOT NULL)" if tries else "[]::VARCHAR[]"
        path = records.json_path(field)
        sent = f"json_type(raw, {path}) AS t, raw ->> {path} AS s"
        values = f"SELECT *, {sent} FROM {TRIAL} WHERE kind <> 'malformed'"
        selects.append(
            f"SELECT {i} AS i, t, {read_by} AS read_by, count(*) AS n, min(s) AS sample FROM ({values}) "
            f"WHERE t IS NOT NULL AND t <> 'NULL' AND v_{i} IS NULL GROUP BY ALL"
        )
    if not selects:
        nothing = "SELECT NULL AS i, NULL AS t, []::VARCHAR[] AS read_by, 0 AS n, NULL AS sample WHERE false"
        return f"CREATE OR REPLACE TEMP TABLE {TRIAL} AS SELECT 1 AS nothing", nothing
    # No key: whether a record is a duplicate says nothing about its values' form.
    trial = replace(contract, key=None, columns=(*contract.columns, *tried))
    checked = verdicts.checked_records_sql(trial, Adapter(contract.table, 0, tuple(transforms)), source)
    return (
        f"CREATE OR REPLACE TEMP TABLE {TRIAL} AS {checked}",
        " UNION ALL ".join(selects) + " ORDER BY i, n DESC, sample",
    )


def untyped_values(engine: Engine, contract: Contract, adapter: Adapter | None) -> tuple[HeldValues, ...]:
    """untyped_values_sql() of the records staged last (loader.profile_open_quarantine)."""
    duck = judge_for(engine).duck
    trial, figures = untyped_values_sql(contract, adapter, STAGE)
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
    """The diagnosis' drifts with each retyped column as its held values show it (drift.py
    with_conversions): a conversion, a variant, or why neither."""
    return with_conversions(contract, adapter, drifts, untyped_values(engine, contract, adapter))


def variant_rows(engine: Engine, contract: Contract) -> int:
    """Of the records the judge accepted last (a trial replay), those a variant column keeps a
    value of: they load, but not as their column's type."""
    kept = [f"v_{contract.column_names.index(v)} IS NOT NULL" for v in variants(contract).values()]
    if not kept:
        return 0
    return judge_for(engine).count(f"reason = '' AND ({' OR '.join(kept)})")


def variant_figures(engine: Engine, tables: tuple[str, ...]) -> list[dict[str, object]]:
    """Each variant column of the tables' active contracts: the column it keeps values of, and
    how many rows hold one (the column itself is NULL on those rows)."""
    found: list[dict[str, object]] = []
    for table in tables:
        contract = store.active_contract(engine, table)
        for column, variant in variants(contract).items():
            rows = engine.query(f"SELECT count({quote(variant)}) FROM {quote(table)}")
            found.append({"table": table, "column": column, "variant": variant, "rows": int(rows[0][0])})
    return found


def variant_note(figure: dict[str, object]) -> str:
    return (
        f"{figure['table']} carries a variant: {figure['variant']} keeps {figure['rows']} value(s) of "
        f"{figure['column']} that no conversion can type, exactly as sent ({figure['column']} is NULL there)"
    )
