"""The statements a rename's figures are measured with (engines/rename_figures.py): an old
column's values in its table (in the warehouse's dialect) and a new field's among the staged held
records (DuckDB, the judge's)."""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders
from pipefix.engines.sql.records import IS_OBJECT, json_path
from pipefix.engines.sql.staging import STAGE


def _text(d: Dialect, column: str) -> str:
    return f"CAST({d.ident(column)} AS VARCHAR)"


def column_profile(d: Dialect, table: str, column: str, numeric: bool) -> str:
    """Values, distinct values, numeric range and text lengths of a column."""
    name, text = d.ident(column), _text(d, column)
    number = f"CAST({name} AS DOUBLE PRECISION)" if numeric else "NULL"
    return (
        f"SELECT count({name}), count(DISTINCT {text}), min({number}), max({number}), "
        f"min(length({text})), max(length({text})) FROM {d.ident(table)}"
    )


def column_sample(d: Dialect, table: str, column: str, limit: int) -> str:
    return (
        f"SELECT DISTINCT {_text(d, column)} AS v FROM {d.ident(table)} WHERE {d.ident(column)} "
        f"IS NOT NULL ORDER BY v LIMIT {int(limit)}"
    )


def column_novelty(d: Dialect, table: str, column: str) -> str:
    """Per load step, its distinct values and how many no earlier step held."""
    return (
        f"WITH v AS (SELECT DISTINCT {_text(d, column)} AS v, _pipefix_loaded_step AS s FROM "
        f"{d.ident(table)} WHERE {d.ident(column)} IS NOT NULL), f AS (SELECT v, min(s) AS "
        "first_step FROM v GROUP BY v) SELECT v.s, count(*), sum(CASE WHEN f.first_step = v.s "
        "THEN 1 ELSE 0 END) FROM v JOIN f ON f.v = v.v GROUP BY v.s ORDER BY v.s"
    )


def _value(field: str) -> str:
    return f"raw ->> {json_path(field)}"


def field_profile(field: str) -> str:
    """A field's values, distinct values, numeric range and lengths among the staged records."""
    value = _value(field)
    return (
        f"SELECT count({value}), count(DISTINCT {value}), min(TRY_CAST({value} AS DOUBLE)), "
        f"max(TRY_CAST({value} AS DOUBLE)), min(length({value})), max(length({value})) "
        f"FROM {STAGE} WHERE {IS_OBJECT}"
    )


def field_sample(field: str, limit: int) -> str:
    value = _value(field)
    return (
        f"SELECT DISTINCT {value} AS v FROM {STAGE} WHERE {IS_OBJECT} "
        f"AND {value} IS NOT NULL ORDER BY v LIMIT {int(limit)}"
    )


def carrying_per_batch() -> str:
    """Per staged batch, its records carrying a field (?) and all its records."""
    return (
        "SELECT batch_id, count(*) FILTER (WHERE list_contains(json_keys(raw), ?)), count(*) "
        f"FROM {STAGE} WHERE {IS_OBJECT} GROUP BY batch_id"
    )


def values_loaded(d: Dialect, table: str, column: str, batches: int) -> str:
    """A column's values in the rows of `batches` batches (?, ...)."""
    marks = placeholders(batches)
    return f"SELECT count({d.ident(column)}) FROM {d.ident(table)} WHERE _pipefix_batch IN ({marks})"
