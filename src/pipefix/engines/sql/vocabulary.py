"""The statement reading the held texts a vocabulary change may explain (engines/vocabulary.py):
the judge's own verdicts (DuckDB) over the staged held records."""

from __future__ import annotations

from dataclasses import replace

from pipefix.engines.sql import records, verdicts
from pipefix.engines.sql.dialects import DUCKDB
from pipefix.pipeline.contracts import Adapter, Contract

# Distinct texts read per column: a vocabulary has a few words; a column with more held texts
# than this is decided on its most common ones (an unknown word among them stops any guess).
MAX_TEXTS = 200


def held_texts_sql(contract: Contract, adapter: Adapter | None, source: str) -> str | None:
    """(column index, text sent, rows) of the values a vocabulary may explain; None when the
    contract has no boolean or enum column."""
    selects = []
    for i, column in enumerate(contract.columns):
        transform = adapter.transform_for(column.name) if adapter else None
        path = records.json_path(transform.source if transform else column.name)
        sent = f"json_type(raw, {path})"
        if column.type == "boolean":
            unread = f"{sent} IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE') AND v_{i} IS NULL"
        elif column.values is not None and column.type == "varchar":
            allowed = ", ".join(DUCKDB.string(v) for v in column.values)
            unread = f"v_{i} IS NOT NULL AND NOT list_contains([{allowed}], v_{i}::VARCHAR)"
        else:
            continue
        selects.append(
            f"SELECT {i} AS i, raw ->> {path} AS s, count(*) AS n FROM checked "
            f"WHERE kind <> 'malformed' AND {unread} GROUP BY ALL"
        )
    if not selects:
        return None
    # No key: whether a record is a duplicate says nothing about its words.
    checked = verdicts.checked_records_sql(replace(contract, key=None), adapter, source)
    texts = " UNION ALL ".join(selects)
    return (
        f"WITH checked AS ({checked}) SELECT i, s, n FROM ({texts}) "
        f"QUALIFY row_number() OVER (PARTITION BY i ORDER BY n DESC, s) <= {MAX_TEXTS} ORDER BY i, s"
    )
