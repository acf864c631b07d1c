"""What a batch being judged must know of its table in another warehouse than the judge
(engines/base.existing_rows_by_lists, engines/postgres_probe.py): its rows of some batches, by
lineage, and the rows whose key, as text, is one the batch sends."""

from __future__ import annotations

from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders

PROBE = "_pipefix_probe_keys"


def _key_text(d: Dialect, key: str | None) -> str:
    return f"CAST({d.ident(key)} AS VARCHAR)" if key else "CAST(NULL AS VARCHAR)"


def rows_where(d: Dialect, table: str, key: str | None, column: str | None, values: int) -> str:
    """(key as text, batch, line) of a table's rows whose `column` (a column name, or the key
    as text when it is None) is one of `values` values (?, ...)."""
    marks = placeholders(values)
    compared = _key_text(d, key) if column is None else d.ident(column)
    return (
        f"SELECT {_key_text(d, key)}, _pipefix_batch, _pipefix_line FROM {d.ident(table)} "
        f"WHERE {compared} IN ({marks})"
    )


def drop_probe(d: Dialect) -> str:
    return f"DROP TABLE IF EXISTS {d.temp_table(PROBE)}"


def create_probe(d: Dialect) -> str:
    return f"CREATE TEMP TABLE {d.ident(PROBE)} (v VARCHAR)"


def rows_probed(d: Dialect, table: str, key: str) -> str:
    """(key as text, batch, line) of a table's rows whose key, as text, is in the probe table."""
    key_text = _key_text(d, key)
    return (
        f"SELECT {key_text}, t._pipefix_batch, t._pipefix_line FROM {d.ident(table)} AS t "
        f"JOIN {d.temp_table(PROBE)} AS p ON {key_text} = p.v"
    )
