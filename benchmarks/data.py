"""The benchmarks' data, generated with DuckDB SQL from fixed seeds and cached under
benchmarks/.data/ (gitignored): orders Parquet files, pipefix warehouses built from them (DuckDB,
and Spark local[2] for `--spark`), a 10k-row batch for the incremental step, and a 1M-row JSONL
batch with 1% non-conforming records.

Every value is a function of the row number (DuckDB's `hash`), so the same files come out on any
machine and with any number of threads.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
FORMAT_VERSION = 3  # bump to regenerate every cached file

# The contract all tools check: the same 9 checks.
COLUMNS = {
    "order_id": "BIGINT",
    "customer_id": "INTEGER",
    "price_usd": "DOUBLE",
    "quantity": "INTEGER",
    "status": "VARCHAR",
    "coupon": "VARCHAR",
    "created_at": "TIMESTAMP",
}
NOT_NULL = ("order_id", "customer_id", "price_usd", "quantity", "status", "created_at")
KEY = "order_id"
STATUSES = ("pending", "paid", "shipped", "cancelled", "refunded")
PRICE_RANGE = (0.0, 10000.0)
QUANTITY_RANGE = (1.0, 100.0)
MAX_COUPON_NULL_FRACTION = 0.9
MIN_ROWS = 1
FRESHNESS = timedelta(days=1)
NEWEST = datetime(2026, 11, 30)  # the newest created_at of the table
NOW = datetime(2026, 11, 30, 6)  # "now" for the freshness check, for every tool
CHECKS = (
    "schema",
    "not_null",
    "unique_key",
    "null_fraction",
    "price_range",
    "quantity_range",
    "allowed_values",
    "row_count",
    "freshness",
)

SIZES = {"1m": 1_000_000, "10m": 10_000_000}
BATCH_ROWS = 10_000
INGEST_ROWS = 1_000_000

SPARK_URL = "spark://local[2]"
PIPEFIX_YAML = """\
warehouse: {warehouse}
landing: {landing}
tables:
  orders:
    key: order_id
    columns:
      order_id:    {{type: bigint, nullable: false}}
      customer_id: {{type: integer, nullable: false}}
      price_usd:   {{type: double, nullable: false, min: 0, max: 10000}}
      quantity:    {{type: integer, nullable: false, min: 1, max: 100}}
      status:      {{type: varchar, nullable: false, values: [pending, paid, shipped, cancelled, refunded]}}
      coupon:      {{type: varchar}}
      created_at:  {{type: timestamp, nullable: false}}
    freshness: 24h
"""


def orders_sql(rows: int, first: int = 0) -> str:
    """Orders with a few genuine problems: a duplicated key per 1,000,003 rows, a negative price
    per 100,003, an unknown status per 250,007; 70% of coupons are null."""
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    return f"""
    SELECT
      (CASE WHEN i % 1000003 = 500 THEN i - 1 ELSE i END)::BIGINT AS order_id,
      (hash(i, 1) % 100000)::INTEGER AS customer_id,
      (CASE WHEN i % 100003 = 7 THEN -1.0 ELSE (hash(i, 2) % 1000000) / 100.0 END)::DOUBLE AS price_usd,
      (1 + hash(i, 3) % 100)::INTEGER AS quantity,
      CASE WHEN i % 250007 = 11 THEN 'teleported'
           ELSE [{statuses}][(1 + hash(i, 4) % 5)::BIGINT] END AS status,
      CASE WHEN hash(i, 5) % 10 < 3 THEN 'WINTER' || (hash(i, 6) % 100)::VARCHAR END AS coupon,
      TIMESTAMP '{NEWEST:%Y-%m-%d %H:%M:%S}' - to_seconds(({first + rows} - 1 - i) * 3) AS created_at
    FROM range({first}, {first + rows}) AS t(i)
    """


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _fresh(path: Path) -> bool:
    stamp = path.with_name(path.name + ".ok")
    return path.exists() and stamp.exists() and stamp.read_text() == str(FORMAT_VERSION)


def _done(path: Path) -> None:
    path.with_name(path.name + ".ok").write_text(str(FORMAT_VERSION))


def parquet(size: str) -> Path:
    path = DATA / f"orders-{size}.parquet"
    if not _fresh(path):
        DATA.mkdir(parents=True, exist_ok=True)
        con = _connect()
        con.execute(f"COPY ({orders_sql(SIZES[size])}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 122880)")
        con.close()
        _done(path)
    return path


def batch_jsonl() -> Path:
    """10,000 new orders (keys after every table's) for the incremental step."""
    path = DATA / "batch-10k.jsonl"
    if not _fresh(path):
        _write_jsonl(path, orders_sql(BATCH_ROWS, first=20_000_000), 20_000_000, bad=False)
        _done(path)
    return path


def ingest_jsonl() -> Path:
    """1,000,000 orders as JSONL, 1% non-conforming: per 100 rows one record with a negative
    price, an unknown status, a quantity sent as text, or no customer_id (in turn)."""
    path = DATA / "ingest-1m.jsonl"
    if not _fresh(path):
        _write_jsonl(path, orders_sql(INGEST_ROWS, first=30_000_000), 30_000_000, bad=True)
        _done(path)
    return path


BAD_ROWS = INGEST_ROWS // 100


def _write_jsonl(path: Path, source: str, first: int, bad: bool) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    kind = "(i // 100) % 4" if bad else "-1"
    hit = "i % 100 = 13" if bad else "false"
    select = f"""
    SELECT
      i AS order_id,
      CASE WHEN {hit} AND {kind} = 3 THEN NULL ELSE customer_id END AS customer_id,
      CASE WHEN {hit} AND {kind} = 0 THEN -5.0 ELSE abs(price_usd) END AS price_usd,
      CASE WHEN {hit} AND {kind} = 2 THEN '"many"'::JSON ELSE to_json(quantity) END AS quantity,
      CASE WHEN {hit} AND {kind} = 1 THEN 'teleported'
           WHEN status = 'teleported' THEN 'paid' ELSE status END AS status,
      coupon,
      strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at
    FROM (SELECT *, row_number() OVER (ORDER BY created_at) - 1 + {first} AS i FROM ({source}))
    """
    con = _connect()
    con.execute(f"COPY ({select} ORDER BY order_id) TO '{path}' (FORMAT json)")
    con.close()


def config_for(folder: Path, warehouse: str) -> Path:
    """pipefix.yaml of the orders pipeline: `warehouse` a DuckDB file name beside it, or a URL."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "landing" / "orders").mkdir(parents=True, exist_ok=True)
    path = folder / "pipefix.yaml"
    url = warehouse if "://" in warehouse else f"duckdb:///{warehouse}"
    path.write_text(PIPEFIX_YAML.format(warehouse=url, landing="landing"), encoding="utf-8")
    return path


def fixed_clock(step: int) -> datetime:
    return NOW.replace(tzinfo=UTC)


def warehouse(size: str, with_batch: bool = False) -> Path:
    """A pipefix warehouse holding the orders Parquet as if loaded at step 0, with the figures
    of those rows saved (as an agent step saves them). `with_batch`: the 10k batch then loaded
    by pipefix's loader at step 1. Returns the folder holding pipefix.yaml."""
    folder = DATA / f"wh-{size}{'-step1' if with_batch else ''}"
    config = folder / "pipefix.yaml"
    if _fresh(config):
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    if with_batch:
        shutil.copytree(warehouse(size), folder)
        config.with_name(config.name + ".ok").unlink()
        _load_batch(config)
    else:
        _seed_warehouse(config_for(folder, "orders.duckdb"), parquet(size), SIZES[size])
    _done(config)
    return folder


def _seed_warehouse(config: Path, source: Path, rows: int) -> None:
    from pipefix.api import Pipeline
    from pipefix.tools.check_health import measure

    with Pipeline.open(config, clock=fixed_clock) as pipeline:
        engine = pipeline.engine
        with engine.transaction():
            engine.execute(
                "INSERT INTO orders SELECT order_id, customer_id, price_usd, quantity, status, coupon, "
                "created_at, 'orders/seed.parquet', file_row_number + 1, 0 "
                "FROM read_parquet(?, file_row_number = true)",
                (str(source),),
            )
            seed_batch(engine, source, rows)
        measure(pipeline.context, 1)  # saves the figures of the rows loaded before step 1


def seed_batch(engine: Any, source: Path, rows: int) -> None:
    """The batch row of the seed rows: loaded at step 0, every row loaded."""
    from pipefix.engines import store

    store.record_batch(
        engine,
        batch_id="orders/seed.parquet",
        table_name="orders",
        step=0,
        path=str(source),
        sha256="seed",
        received=rows,
        loaded=rows,
        quarantined=0,
        drift="[]",
    )


def spark_warehouse(size: str) -> Path:
    """The same orders, as `warehouse(size)` holds them, in a pipefix warehouse on Spark
    local[2] (`spark-warehouse/` beside pipefix.yaml: the Parquet table `orders__v1` behind the
    view `orders`, pipefix's state in `pipefix-state.duckdb`), with the figures of step 0 saved.
    Returns the folder holding pipefix.yaml."""
    folder = DATA / f"wh-spark-{size}"
    config = folder / "pipefix.yaml"
    if _fresh(config):
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    _seed_spark_warehouse(config_for(folder, SPARK_URL), parquet(size), SIZES[size])
    _done(config)
    return folder


def _seed_spark_warehouse(config: Path, source: Path, rows: int) -> None:
    """pipefix creates the table (its first version); Spark copies the Parquet rows into it with
    the lineage the DuckDB seed gives them (file, row number from 1, step 0)."""
    from pipefix.api import Pipeline
    from pipefix.tools.check_health import measure

    with Pipeline.open(config, clock=fixed_clock) as pipeline:
        engine: Any = pipeline.engine
        spark = engine.spark
        physical = engine.active_version("orders")
        target = spark.table(physical).schema
        frame = spark.read.parquet(str(source)).selectExpr(
            *COLUMNS, "'orders/seed.parquet' AS _pipefix_batch", "_metadata.row_index + 1 AS _pipefix_line"
        )
        frame = frame.selectExpr(
            *(f"CAST({f.name} AS {f.dataType.simpleString()})" for f in target.fields[:-1]),
            f"CAST(0 AS {target.fields[-1].dataType.simpleString()})",
        )
        frame.write.insertInto(physical)
        held = spark.table(physical).count()
        if held != rows:
            raise RuntimeError(f"the Spark seed holds {held} rows, not {rows}")
        seed_batch(engine, source, rows)
        measure(pipeline.context, 1)  # saves the figures of the rows loaded before step 1


def _load_batch(config: Path) -> None:
    from pipefix.api import Pipeline
    from pipefix.engines import loader

    with Pipeline.open(config, clock=fixed_clock) as pipeline:
        result = loader.load_batch(pipeline.engine, batch_jsonl(), "orders", 1)
        if result is None or result.loaded != BATCH_ROWS:
            raise RuntimeError(f"the 10k batch did not load whole: {result}")


def prepare_all(spark_sizes: Sequence[str] = ()) -> dict[str, str]:
    """Every cached input; returns what was built, for the report. `spark_sizes`: also the Spark
    warehouses of these sizes (built by Spark, in this process)."""
    built = {}
    for size in SIZES:
        built[f"orders-{size}.parquet"] = str(parquet(size))
        built[f"warehouse-{size}"] = str(warehouse(size))
        built[f"warehouse-{size}+10k"] = str(warehouse(size, with_batch=True))
    built["batch-10k.jsonl"] = str(batch_jsonl())
    built["ingest-1m.jsonl"] = str(ingest_jsonl())
    for size in spark_sizes:
        built[f"spark-warehouse-{size}"] = str(spark_warehouse(size))
    return built


if __name__ == "__main__":
    # `python benchmarks/data.py [--spark SIZE...]`
    arguments = sys.argv[1:]
    spark = arguments[arguments.index("--spark") + 1 :] if "--spark" in arguments else []
    print(json.dumps(prepare_all(spark), indent=2))
