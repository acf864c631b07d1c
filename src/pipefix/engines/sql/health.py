"""Statements of the health figures (engines/health.py): one aggregate query per table, the
physical schema lookup, and the bookkeeping reads its report needs.

A figure is `(label, aggregate, predicate)`: `count(*)` of the rows meeting the predicate, or the
aggregate itself when the predicate is empty; the labels say how to read the statement's row.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders
from pipefix.pipeline.contracts import Contract
from pipefix.pipeline.conversions import variants

LOADED_STEP = "_pipefix_loaded_step"


def physical_schemas_sql(tables: int) -> str:
    """information_schema's columns of `tables` named tables (parameters) of the current schema.
    The catalog's name stays bare: engines recognise it as written (Spark reads it from a view)."""
    marks = placeholders(tables)
    return (
        "SELECT table_name, column_name, data_type, numeric_precision, numeric_scale "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        f"AND table_name IN ({marks}) ORDER BY table_name, ordinal_position"
    )


def measures(
    d: Dialect, contract: Contract, physical: Mapping[str, str], partial: bool
) -> list[tuple[str, str, str]]:
    """(label, aggregate, predicate) per figure."""
    found = [("rows", "count(*)", "")]
    kept_in = variants(contract)
    for column in (c for c in contract.columns if c.name in physical):
        name = d.ident(column.name)
        # A value kept in the column's variant is no null: a required column with a variant is
        # required unless its variant holds the row's value.
        variant = kept_in.get(column.name, "")
        null = f"{name} IS NULL" + (f" AND {d.ident(variant)} IS NULL" if variant in physical else "")
        found.append((f"nulls:{column.name}", "count(*)", null))
        if column.min is not None:  # a number in SQL's own form, never a Python repr
            found.append((f"below_min:{column.name}", "count(*)", f"{name} < {d.number(column.min)}"))
        if column.max is not None:
            found.append((f"above_max:{column.name}", "count(*)", f"{name} > {d.number(column.max)}"))
        if column.values is not None:
            allowed = ", ".join(d.string(v) for v in column.values)
            predicate = f"CAST({name} AS {d.column_type('varchar')}) NOT IN ({allowed})"
            found.append((f"not_allowed:{column.name}", "count(*)", predicate))
    if contract.key and contract.key in physical and partial:
        key = d.ident(contract.key)
        found += [("keys", f"count({key})", ""), ("distinct_keys", f"count(DISTINCT {key})", "")]
    if contract.freshness_column and contract.freshness_column in physical:
        found.append(("newest", f"max({d.ident(contract.freshness_column)})", ""))
    return found


def _aggregate(function: str, predicate: str, condition: str) -> str:
    both = " AND ".join(p for p in (condition, predicate) if p)
    return f"{function} FILTER (WHERE {both})" if both else function


def figures_sql(
    d: Dialect,
    contract: Contract,
    physical: Mapping[str, str],
    after: int | None,
    step: int,
    split: bool = True,
    set_probe: bool = False,
) -> str:
    """One statement measuring the table's rows loaded after step `after` (all rows when None).

    Its one row holds the figures `a_*` of all those rows, then (`split`) the figures `b_*` of
    those loaded before `step`: what is saved, since rows of `step` may still arrive. A whole
    table's duplicate keys are counted on the sorted keys (`a_dup`, `b_dup`); a partial read
    counts new keys and distinct new keys (in the figures) and probes the older rows with the new
    distinct keys (`a_seen`, `b_seen`): a correlated EXISTS, which DuckDB and Spark run as one
    join, or with `set_probe` (an engine whose plans may rest on statistics from before the load:
    Capabilities.stale_plan_risk) an INTERSECT, which no plan turns into a nested loop.
    """
    table = d.table(contract.table)
    loaded_step = d.ident(LOADED_STEP)
    early = f"{loaded_step} < {int(step)}" if LOADED_STEP in physical else "FALSE"
    figures = measures(d, contract, physical, partial=after is not None)
    selects = [f"{_aggregate(f, p, '')} AS a_{i}" for i, (_, f, p) in enumerate(figures)]
    if split:
        selects += [f"{_aggregate(f, p, early)} AS b_{i}" for i, (_, f, p) in enumerate(figures)]
    key = d.ident(contract.key) if contract.key and contract.key in physical else None
    if key and after is None:
        selects.append(f"({_duplicates_sql(table, key, '')}) AS a_dup")
        if split:
            selects.append(f"({_duplicates_sql(table, key, early)}) AS b_dup")
    where = f" WHERE {loaded_step} > {int(after)}" if after is not None else ""
    scan = f"SELECT {', '.join(selects)} FROM {table}{where}"
    if key is None or after is None:
        return scan
    if set_probe:
        probe = _intersect_probe(table, key, loaded_step, after, early)
        return f"SELECT * FROM ({scan}) AS m CROSS JOIN ({probe}) AS p"
    new_keys = (
        f"SELECT {key} AS k, bool_or({early}) AS early FROM {table} "
        f"WHERE {loaded_step} > {int(after)} AND {key} IS NOT NULL GROUP BY {key}"
    )
    seen = (
        f"SELECT n.early, EXISTS (SELECT 1 FROM {table} AS o WHERE o.{loaded_step} <= {int(after)} "
        f"AND o.{key} = n.k) AS seen FROM ({new_keys}) AS n"
    )
    probe = (
        "SELECT count(*) FILTER (WHERE seen) AS a_seen, count(*) FILTER (WHERE seen AND early) AS b_seen "
        f"FROM ({seen}) AS s"
    )
    return f"SELECT * FROM ({scan}) AS m CROSS JOIN ({probe}) AS p"


def _intersect_probe(table: str, key: str, loaded_step: str, after: int, early: str) -> str:
    """`a_seen`, `b_seen` as set operations: the distinct new keys (of the rows loaded before the
    step, for `b_seen`) that the older rows hold. PostgreSQL runs INTERSECT by hashing or sorting,
    never as a nested loop: a plan costed on statistics from before the load (which see no new
    rows) turned the correlated probe into one scan of the older rows per new key, quadratic."""
    new = f"{loaded_step} > {int(after)} AND {key} IS NOT NULL"
    old = f"SELECT {key} FROM {table} WHERE {loaded_step} <= {int(after)}"

    def seen(where: str) -> str:
        return f"(SELECT count(*) FROM (SELECT {key} FROM {table} WHERE {where} INTERSECT {old}) AS i)"

    return f"SELECT {seen(new)} AS a_seen, {seen(f'{new} AND {early}')} AS b_seen"


def _duplicates_sql(table: str, key: str, condition: str) -> str:
    """Rows whose key equals the previous key in key order: each repeat of a key counts once,
    null keys never. Sorting the keys costs less than hashing every distinct one."""
    where = f" WHERE {condition}" if condition else ""
    return (
        f"SELECT count(*) FROM (SELECT {key} AS k, lag({key}) OVER (ORDER BY {key}) AS p "
        f"FROM {table}{where}) AS d WHERE k = p"
    )


# --- bookkeeping reads (pipefix's state schema) --------------------------------------------------


def step_loads_sql(d: Dialect, schema: str) -> str:
    """Every batch of a step (a parameter), per table in batch order."""
    return (
        "SELECT table_name, received, loaded, quarantined, drift, batch_id, duplicate_of "
        f"FROM {d.table(schema, 'batches')} WHERE step = ? ORDER BY table_name, batch_id"
    )


def loaded_histories_sql(d: Dialect, schema: str) -> str:
    """Rows loaded per table and step, before a step (a parameter)."""
    return (
        f"SELECT table_name, step, sum(loaded) FROM {d.table(schema, 'batches')} WHERE step < ? "
        "GROUP BY table_name, step ORDER BY table_name, step"
    )


def first_contracts_sql(d: Dialect, schema: str) -> str:
    return f"SELECT table_name, spec FROM {d.table(schema, 'contracts')} WHERE version = 1"


def open_quarantine_sql(d: Dialect, schema: str) -> str:
    return (
        f"SELECT table_name, kind, count(*) FROM {d.table(schema, 'quarantine')} "
        "WHERE replayed_step IS NULL GROUP BY table_name, kind"
    )


def active_adapter_versions_sql(d: Dialect, schema: str) -> str:
    return f"SELECT table_name, version FROM {d.table(schema, 'active_adapters')} WHERE version IS NOT NULL"


def received_totals_sql(d: Dialect, schema: str) -> str:
    return (
        f"SELECT table_name, sum(loaded) + sum(quarantined) FROM {d.table(schema, 'batches')} "
        "GROUP BY table_name"
    )
