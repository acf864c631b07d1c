"""PostgreSQL: the rows of a table a batch's verdicts depend on, found in one pass.

The keys a chunk of a batch sends are copied into a temporary table and joined with the table
(a hash join: one scan of the table, whatever the number of keys). Lists of keys in `IN (...)`
scanned the table once per 5,000 keys (the key compared as text uses no index): a 1M-row load
into a growing table spent minutes there.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipefix.engines.base import Engine, existing_rows_of, iter_chunks
from pipefix.engines.sql import probe
from pipefix.engines.sql.dialects import POSTGRES


def existing_rows_by_join(
    engine: Engine, table: str, key: str | None, keys: Sequence[str], batches: Sequence[str]
) -> list[tuple[str | None, str, int]]:
    """`Engine.existing_rows`: rows of `batches` (by lineage) and rows whose key, as text, is one
    of `keys`; as (key text, batch, line), a row from before pipefix with line NO_LINE."""
    d = POSTGRES
    queries: list[tuple[str, Sequence[str]]] = []
    for chunk in iter_chunks(batches, 5000):  # a chunk's batches: one, or a replay's few
        queries.append((probe.rows_where(d, table, key, "_pipefix_batch", len(chunk)), chunk))
    if key and keys:
        engine.execute(probe.drop_probe(d))
        engine.execute(probe.create_probe(d))
        engine.copy_rows(f"{d.temp_schema}.{probe.PROBE}", ("v",), ((k,) for k in keys))
        queries.append((probe.rows_probed(d, table, key), ()))
    return existing_rows_of(engine, queries)
