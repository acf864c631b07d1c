"""Rows into a Spark table as Arrow: one typed Arrow table per Spark job, never a Python object
per value on the way from the judge's DuckDB.

A batch's accepted rows leave DuckDB as Arrow record batches (`DuckDBEngine.record_batches`),
are cast to the target's types column by column (a DuckDB timestamp, naive, is an instant in UTC,
as on PostgreSQL) and written with `createDataFrame(arrow table)` + `insertInto`, one job per
record batch, so the Python process holds one batch of Arrow columns at a time, whatever the
size of the load. Columns the rows do not carry are written as typed NULLs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pipefix.engines.spark_session import column_functions

# Rows per Spark job: a job costs a fraction of a second to plan and schedule; a batch this size
# holds tens of MB of Arrow columns.
ROWS_PER_JOB = 250_000


def _bq(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def target_types(spark: Any, physical: str) -> dict[str, Any]:
    """The target's columns, in order: name -> its Arrow type (a timestamp as UTC)."""
    from pyspark.sql.pandas.types import to_arrow_type

    fields = spark.table(physical).schema.fields
    return {f.name: (f, to_arrow_type(f.dataType, timezone="UTC")) for f in fields}


def insert_table(spark: Any, physical: str, table: Any, targets: dict[str, Any]) -> None:
    """One job: an Arrow table, typed like the target, appended to `physical`."""
    F = column_functions(spark)
    frame = spark.createDataFrame(table)
    given = set(table.column_names)
    frame.select(
        *[
            F.col(_bq(name)) if name in given else F.lit(None).cast(field.dataType).alias(name)
            for name, (field, _) in targets.items()
        ]
    ).write.insertInto(physical)


def insert_rows(spark: Any, physical: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Python rows (small: the state's own copies, adopted rows) as one Arrow table, one job."""
    import pyarrow as pa

    targets = target_types(spark, physical)
    arrays = [
        pa.array(values, type=targets[c][1])
        for c, values in zip(columns, zip(*rows, strict=True), strict=True)
    ]
    insert_table(spark, physical, pa.Table.from_arrays(arrays, names=list(columns)), targets)


def insert_batches(spark: Any, physical: str, columns: Sequence[str], batches: Iterable[Any]) -> int:
    """Arrow record batches (their columns in the order of `columns`, whatever their names), each
    cast to the target's types and written as one job. Returns the rows written."""
    import pyarrow as pa

    targets = target_types(spark, physical)
    written = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        arrays = [_cast(batch.column(i), targets[c][1]) for i, c in enumerate(columns)]
        insert_table(spark, physical, pa.Table.from_arrays(arrays, names=list(columns)), targets)
        written += batch.num_rows
    return written


def _cast(array: Any, target: Any) -> Any:
    import pyarrow as pa

    if array.type == target:
        return array
    if isinstance(array.type, pa.ExtensionType):  # DuckDB's JSON: text underneath
        array = array.storage
    # A naive timestamp cast to one in UTC keeps its wall time: naive means UTC, as on PostgreSQL.
    return array.cast(target)
