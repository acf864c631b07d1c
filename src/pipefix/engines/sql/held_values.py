"""The statements that try every conversion on held values (engines/conversions.py): the trial
verdicts of a contract carrying one column per candidate conversion, and what each column could
not type. DuckDB, the judge's; a variant's row count in the warehouse's dialect."""

from __future__ import annotations

from dataclasses import replace

from pipefix.engines.sql import records, verdicts
from pipefix.engines.sql.dialects import DUCKDB, Dialect
from pipefix.engines.sql.staging import scratch_table_as
from pipefix.pipeline.contracts import Adapter, ColumnSpec, Contract
from pipefix.pipeline.conversions import candidates, may_have_variant, transform_for, variants

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
            tries.append(f"CASE WHEN v_{index} IS NOT NULL THEN {DUCKDB.string(option)} END")
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
        return scratch_table_as(TRIAL, "SELECT 1 AS nothing"), nothing
    # No key: whether a record is a duplicate says nothing about its values' form.
    trial = replace(contract, key=None, columns=(*contract.columns, *tried))
    checked = verdicts.checked_records_sql(trial, Adapter(contract.table, 0, tuple(transforms)), source)
    return (
        scratch_table_as(TRIAL, checked),
        " UNION ALL ".join(selects) + " ORDER BY i, n DESC, sample",
    )


def variant_rows(d: Dialect, table: str, variant: str) -> str:
    """The rows of a table holding a value in a variant column."""
    return f"SELECT count({d.ident(variant)}) FROM {d.ident(table)}"
