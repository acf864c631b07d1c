"""The loss guard counts what a load wrote, where it wrote it: an INSERT that drops a row refuses
the load whole (nothing of the batch in the table or the quarantine, no batch row), on DuckDB,
PostgreSQL and Spark. The fault is a test-only engine subclass that writes the accepted rows
without line 3, as a driver losing a row would; once the fault is gone, the same file loads."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines import batch_history, loader, store
from pipefix.engines.base import Engine, EngineError, scalar
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.engines.spark import STATE_FILE, SparkEngine
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext
from tests.conftest import clock, orders_contract, settled, v1_order
from tests.engines.conftest import SPARK_URL

DROPPED_LINE = 3


class Fault:
    """On while `dropping`: the accepted rows of `orders` are written without DROPPED_LINE."""

    dropping = True

    def skip_line(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> Iterable[Sequence[Any]]:
        if not self.dropping or table != "orders":
            return rows
        line = list(columns).index("_pipefix_line")
        return [row for row in rows if row[line] != DROPPED_LINE]


class DroppingDuckDB(Fault, DuckDBEngine):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        # The loader's INSERT INTO "orders" ... SELECT ... FROM _pipefix_checked AS c WHERE ...
        if self.dropping and sql.startswith('INSERT INTO "orders"') and "_pipefix_checked AS c" in sql:
            sql += f" AND c.line_no <> {DROPPED_LINE}"
        super().execute(sql, params)


class DroppingPostgres(Fault, PostgresEngine):
    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        return super().copy_rows(table, columns, self.skip_line(table, columns, rows))

    def copy_csv(self, table: str, columns: Sequence[str], path: Path) -> None:
        """Conforming rows arrive as a CSV file: the fault drops the line from it."""
        with path.open(newline="", encoding="utf-8") as source:
            rows = [
                [int(v) if n == "_pipefix_line" else v for n, v in zip(columns, r, strict=True)]
                for r in csv.reader(source)
            ]
        self.copy_rows(table, columns, [[v if v != "" else None for v in r] for r in rows])


class DroppingSpark(Fault, SparkEngine):
    """Spark receives accepted rows as Arrow record batches: the fault filters those."""

    def copy_record_batches(self, table: str, columns: Sequence[str], batches: Iterable[Any]) -> int:
        if self.dropping and table == "orders":
            import pyarrow.compute as pc

            line = list(columns).index("_pipefix_line")
            batches = [b.filter(pc.not_equal(b.column(line), DROPPED_LINE)) for b in batches]
        return super().copy_record_batches(table, columns, batches)


FaultyEngine = DroppingDuckDB | DroppingPostgres | DroppingSpark


@pytest.fixture(
    params=["duckdb", "postgres", pytest.param("spark", marks=pytest.mark.slow)],
)
def faulty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FaultyEngine]:
    engine: FaultyEngine
    if request.param == "duckdb":
        engine = DroppingDuckDB(tmp_path / "warehouse.duckdb")
    elif request.param == "postgres":
        engine = DroppingPostgres(request.getfixturevalue("pg_url"))
    else:
        engine = DroppingSpark(
            SPARK_URL,
            tmp_path / "warehouse",
            tmp_path / STATE_FILE,
            session=request.getfixturevalue("spark_session"),
            database=f"pipefix_guard_{tmp_path.name[-20:].replace('-', '_')}",
        )
    store.ensure_schema(engine)
    ingest.setup(PipelineContext(engine, ("orders",), clock, 60), {"orders": orders_contract()})
    yield engine
    engine.close()


def write_batch(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "landing" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    settled(path)
    return path


def in_warehouse(engine: Engine) -> tuple[int, int, int]:
    """(rows in orders, rows in the quarantine, batch rows) of the orders table."""
    return (
        int(scalar(engine, 'SELECT count(*) FROM "orders"')),
        int(scalar(engine, "SELECT count(*) FROM pipefix.quarantine WHERE table_name = 'orders'")),
        int(scalar(engine, "SELECT count(*) FROM pipefix.batches WHERE table_name = 'orders'")),
    )


def test_an_insert_that_drops_a_row_is_refused_whole(faulty: FaultyEngine, tmp_path: Path) -> None:
    # Lines 1-5 conform; line 6 breaks the contract (held).
    path = write_batch(tmp_path, [v1_order(i) for i in range(1, 6)] + [v1_order(6, price=-1)])
    with pytest.raises(EngineError, match=r"6 records in, but 4 found in orders and 1 in the quarantine"):
        loader.load_batch(faulty, path, "orders", 1)
    if isinstance(faulty, SparkEngine):
        # No transaction on Spark: the rows written before the refusal stay, but the batch is
        # neither recorded nor its held row kept, so it loads again (below) and lineage keeps
        # those rows from landing twice.
        assert in_warehouse(faulty)[1:] == (0, 0)
    else:
        assert in_warehouse(faulty) == (0, 0, 0)

    faulty.dropping = False
    load = loader.load_batch(faulty, path, "orders", 2)
    assert load is not None
    assert (load.received, load.loaded, load.quarantined) == (6, 5, 1)
    assert in_warehouse(faulty) == (5, 1, 1)
    lines = faulty.query('SELECT _pipefix_line FROM "orders" ORDER BY _pipefix_line')
    assert [int(r[0]) for r in lines] == [1, 2, 3, 4, 5]


def test_rows_already_written_by_a_load_cut_short_count_as_loaded(tmp_path: Path, pg_url: str) -> None:
    """A re-judged batch whose rows a load cut short already wrote (on Spark, which has no
    transaction; the judge of a warehouse other than DuckDB skips them by lineage, so PostgreSQL
    shows it quickly): the guard counts them with the rows written now, and the load commits."""
    engine = PostgresEngine(pg_url)
    store.ensure_schema(engine)
    ingest.setup(PipelineContext(engine, ("orders",), clock, 60), {"orders": orders_contract()})
    path = write_batch(tmp_path, [v1_order(i) for i in range(1, 4)])
    batch_id = batch_history.batch_id_of("orders/a.jsonl", batch_history.file_sha256(path))
    engine.execute(
        'INSERT INTO "orders" (order_id, price_usd, status, created_at, _pipefix_batch, _pipefix_line, '
        "_pipefix_loaded_step) VALUES (1, 10.5, 'new', '2026-11-01 00:00:30', ?, 1, 1)",
        (batch_id,),
    )
    load = loader.load_batch(engine, path, "orders", 1)
    assert load is not None
    assert (load.loaded, load.quarantined) == (3, 0)
    assert in_warehouse(engine) == (3, 0, 1)
    engine.close()
