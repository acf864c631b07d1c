"""One benchmark case per process: `python benchmarks/cases.py CASE ARG...`.

Each case imports only what it uses, does its work, and prints one JSON object on its last line
of stdout: `seconds` (the work itself, timed inside the process) and what it found, so the runner
can check that the tools agree. The runner times the whole process and reads its peak memory.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import data

CASES: dict[str, Callable[..., dict[str, Any]]] = {}


def case(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    CASES[function.__name__.replace("_", "-")] = function
    return function


def _warehouse_file(folder: str) -> str:
    return str(Path(folder) / "orders.duckdb")


@contextmanager
def _tmp_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="pipefix-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- 1. full check: the same 9 checks ------------------------------------------------------------


def handwritten_sql() -> str:
    statuses = ", ".join(f"'{s}'" for s in data.STATUSES)
    low, high = data.PRICE_RANGE
    qlow, qhigh = data.QUANTITY_RANGE
    nulls = ", ".join(f"count(*) - count({c}) AS null_{c}" for c in data.COLUMNS)
    return f"""
    SELECT count(*) AS rows, {nulls},
      count(order_id) - count(DISTINCT order_id) AS duplicate_keys,
      count(*) FILTER (WHERE price_usd < {low} OR price_usd > {high}) AS price_out,
      count(*) FILTER (WHERE quantity < {qlow} OR quantity > {qhigh}) AS quantity_out,
      count(*) FILTER (WHERE status NOT IN ({statuses})) AS status_out,
      max(created_at) AS newest
    FROM orders"""


def judge_figures(figures: dict[str, Any], types: dict[str, str]) -> dict[str, bool]:
    """The 9 checks from the figures a pass measured (shared by the hand-written pass, pipefix's
    verification and Polars)."""
    rows = figures["rows"]
    null_fraction = figures["nulls"]["coupon"] / rows if rows else None
    newest = figures["newest"]
    return {
        "schema": all(types.get(c, "").upper() == t for c, t in data.COLUMNS.items()),
        "not_null": all(figures["nulls"][c] == 0 for c in data.NOT_NULL),
        "unique_key": figures["duplicate_keys"] == 0,
        "null_fraction": null_fraction is None or null_fraction <= data.MAX_COUPON_NULL_FRACTION,
        "price_range": figures["price_out"] == 0,
        "quantity_range": figures["quantity_out"] == 0,
        "allowed_values": figures["status_out"] == 0,
        "row_count": rows >= data.MIN_ROWS,
        "freshness": newest is not None and data.NOW - newest <= data.FRESHNESS,
    }


@case
def duckdb_sql(folder: str) -> dict[str, Any]:
    """The hand-written baseline: one aggregate query plus the column types."""
    start = time.perf_counter()
    import duckdb

    con = duckdb.connect(_warehouse_file(folder), read_only=True)
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders'"
        ).fetchall()
    )
    cursor = con.execute(handwritten_sql())
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchone() or (), strict=True))
    con.close()
    return _judged(row, types, start)


def pipefix_figures(folder: str, full: bool) -> dict[str, Any]:
    """pipefix's figures of the orders table, as its health module measures them (for the
    runner's agreement checks; not timed)."""
    from pipefix.api import Pipeline
    from pipefix.engines import health, store

    config = Path(folder) / "pipefix.yaml"
    with Pipeline.open(config, read_only=True, clock=data.fixed_clock) as pipeline:
        engine = pipeline.engine
        contract = store.active_contract(engine, "orders")
        physical = health.physical_schemas(engine, ("orders",))["orders"]
        step = max((s.step for s in store.recent_steps(engine, 1)), default=0)
        saved = health.saved_figures(engine).get("orders")
        known = None if full else health.known_for(saved, health.signature(contract, physical))
        measured = health.measure_table(engine, contract, physical, step, known, keep=False)
        mismatches = health.schema_mismatches(contract, physical, engine.capabilities.dialect)
    figures = measured.figures
    thresholds = health.Thresholds(data.MIN_ROWS, {"coupon": data.MAX_COUPON_NULL_FRACTION})
    pipefix_checks = health.judge(contract, figures, mismatches, data.NOW, thresholds)
    return {
        "rows": figures.rows,
        "nulls": figures.nulls,
        "duplicate_keys": figures.duplicate_keys,
        "price_out": figures.below_min["price_usd"] + figures.above_max["price_usd"],
        "quantity_out": figures.below_min["quantity"] + figures.above_max["quantity"],
        "status_out": figures.not_allowed["status"],
        "newest": str(figures.newest),
        "read_after_step": measured.scanned_after,
        "pipefix_checks": pipefix_checks,
        "schema_mismatches": list(mismatches),
    }


@case
def pipefix_verify(folder: str, mode: str) -> dict[str, Any]:
    start = time.perf_counter()
    figures = pipefix_figures(folder, full=mode == "full")
    return {"seconds": time.perf_counter() - start, "figures": figures}


@case
def pipefix_check(folder: str, mode: str, times: str = "1") -> dict[str, Any]:
    """What `pipefix check [--full]` does: open the pipeline read-only and measure every check.
    `times=2` checks once more in the same process: what each step of a running agent pays."""
    config = Path(folder) / "pipefix.yaml"
    session: dict[str, float] = {}
    start = time.perf_counter()
    from pipefix.api import Pipeline

    if data.SPARK_URL in config.read_text(encoding="utf-8"):
        _time_spark_session(session)
    imported = time.perf_counter()
    with Pipeline.open(config, read_only=True, clock=data.fixed_clock) as pipeline:
        opened = time.perf_counter()
        result = pipeline.check(full=mode == "full")
        checked = time.perf_counter()
        if times == "2":
            pipeline.check(full=mode == "full")
        again = time.perf_counter()
    table = result.metrics.table("orders")
    assert table is not None
    return {
        "seconds": checked - start,
        "import_seconds": imported - start,
        "open_seconds": opened - imported,  # on Spark: the JVM's start and the catalog
        "check_seconds": checked - opened,
        "warm_check_seconds": again - checked,
        "checks": table.checks,
        **session,
        **_jvm_memory(),
    }


def _time_spark_session(into: dict[str, float]) -> None:
    """Time the start of the Spark session (the JVM's) inside pipefix's open, into
    `into["session_seconds"]`: the rest of the open is pipefix's (its state, the catalog)."""
    from pipefix.engines import spark

    open_session = spark.open_session

    def timed(*args: Any) -> Any:
        began = time.perf_counter()
        try:
            return open_session(*args)
        finally:
            into["session_seconds"] = time.perf_counter() - began

    spark.open_session = timed


SODA_CHECKS = """
checks for orders:
  - schema:
      name: schema
      fail:
        when required column missing: [order_id, customer_id, price_usd, quantity, status, coupon, created_at]
        when wrong column type:
          order_id: bigint
          customer_id: integer
          price_usd: double
          quantity: integer
          status: varchar
          coupon: varchar
          created_at: timestamp
{not_null}
  - duplicate_count(order_id) = 0:
      name: unique_key
  - missing_percent(coupon) <= {null_percent}:
      name: null_fraction
  - invalid_count(price_usd) = 0:
      name: price_range
      valid min: {price_min}
      valid max: {price_max}
  - invalid_count(quantity) = 0:
      name: quantity_range
      valid min: {quantity_min}
      valid max: {quantity_max}
  - invalid_count(status) = 0:
      name: allowed_values
      valid values: [{statuses}]
  - row_count >= {min_rows}:
      name: row_count
  - freshness(created_at) < 1d:
      name: freshness
"""


def soda_checks_yaml() -> str:
    not_null = "\n".join(f"  - missing_count({c}) = 0:\n      name: not_null {c}" for c in data.NOT_NULL)
    return SODA_CHECKS.format(
        not_null=not_null,
        null_percent=data.MAX_COUPON_NULL_FRACTION * 100,
        price_min=data.PRICE_RANGE[0],
        price_max=data.PRICE_RANGE[1],
        quantity_min=int(data.QUANTITY_RANGE[0]),
        quantity_max=int(data.QUANTITY_RANGE[1]),
        statuses=", ".join(data.STATUSES),
        min_rows=data.MIN_ROWS,
    )


@case
def soda(folder: str) -> dict[str, Any]:
    start = time.perf_counter()
    from soda.common.config_helper import ConfigHelper

    # Soda's usage statistics are on by default (an HTTP exporter): off, from a private config
    # file read before anything else asks for one, rather than the user's ~/.soda/config.yml.
    private = Path(tempfile.mkdtemp(prefix="pipefix-bench-soda-")) / "config.yml"
    private.write_text("send_anonymous_usage_stats: false\n", encoding="utf-8")
    ConfigHelper.get_instance(str(private))
    from soda.scan import Scan

    scan = Scan()
    scan.set_data_source_name("bench")
    scan.add_configuration_yaml_str(
        f"data_source bench:\n  type: duckdb\n  path: {_warehouse_file(folder)}\n  read_only: true\n"
    )
    scan.add_variables({"NOW": data.NOW.strftime("%Y-%m-%dT%H:%M:%S")})
    scan.add_sodacl_yaml_str(soda_checks_yaml())
    scan.execute()
    results = scan.get_scan_results()
    seconds = time.perf_counter() - start
    outcomes: dict[str, list[str]] = {}
    for check in results["checks"]:
        name = str(check["name"]).split(" ")[0]
        outcomes.setdefault(name, []).append(str(check["outcome"]))
    checks = {name: all(o == "pass" for o in seen) for name, seen in outcomes.items()}
    errors = [str(log["message"])[:200] for log in results.get("logs", []) if log.get("level") == "ERROR"]
    return {"seconds": seconds, "checks": checks, "errors": errors[:5], "outcomes": outcomes}


# The type names GX's SQL path reports through SQLAlchemy (DOUBLE comes back as FLOAT).
GX_TYPES = {
    "BIGINT": "BigInteger",
    "INTEGER": "Integer",
    "DOUBLE": "FLOAT",
    "VARCHAR": "String",
    "TIMESTAMP": "TIMESTAMP",
}


@case
def gx(folder: str) -> dict[str, Any]:
    start = time.perf_counter()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.execution_engine import sqlalchemy_execution_engine as sql_engine

    def execute_query(self: Any, query: Any) -> Any:
        # GX fetches a query's rows after closing its connection, which duckdb-engine does not
        # survive (every metric comes back empty: great_expectations issues #10738, #11579).
        # The same query, its rows buffered before the connection closes.
        with self.get_connection() as connection:
            return self._execute_query_with_recovery(connection, query).freeze()()

    sql_engine.SqlAlchemyExecutionEngine.execute_query = execute_query
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(
        name="bench", connection_string=f"duckdb:///{_warehouse_file(folder)}"
    )
    asset = source.add_table_asset(name="orders", table_name="orders")
    batch = asset.add_batch_definition_whole_table("all")
    suite = context.suites.add(gx.ExpectationSuite(name="orders"))
    expectations: list[tuple[str, Any]] = [
        ("schema", gxe.ExpectTableColumnsToMatchSet(column_set=list(data.COLUMNS), exact_match=False))
    ]
    expectations += [
        ("schema", gxe.ExpectColumnValuesToBeOfType(column=c, type_=GX_TYPES[t]))
        for c, t in data.COLUMNS.items()
    ]
    expectations += [("not_null", gxe.ExpectColumnValuesToNotBeNull(column=c)) for c in data.NOT_NULL]
    expectations += [
        ("unique_key", gxe.ExpectColumnValuesToBeUnique(column=data.KEY)),
        (
            "null_fraction",
            gxe.ExpectColumnValuesToNotBeNull(column="coupon", mostly=1 - data.MAX_COUPON_NULL_FRACTION),
        ),
        (
            "price_range",
            gxe.ExpectColumnValuesToBeBetween(
                column="price_usd", min_value=data.PRICE_RANGE[0], max_value=data.PRICE_RANGE[1]
            ),
        ),
        (
            "quantity_range",
            gxe.ExpectColumnValuesToBeBetween(
                column="quantity", min_value=data.QUANTITY_RANGE[0], max_value=data.QUANTITY_RANGE[1]
            ),
        ),
        ("allowed_values", gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(data.STATUSES))),
        ("row_count", gxe.ExpectTableRowCountToBeBetween(min_value=data.MIN_ROWS)),
        (
            "freshness",
            gxe.ExpectColumnMaxToBeBetween(column="created_at", min_value=data.NOW - data.FRESHNESS),
        ),
    ]
    for name, expectation in expectations:
        expectation.meta = {"check": name}
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="orders", data=batch, suite=suite)
    )
    result = validation.run(result_format="BOOLEAN_ONLY")
    seconds = time.perf_counter() - start
    outcomes: dict[str, list[bool]] = {}
    errors = []
    for item in result.results:
        name = (item.expectation_config.meta or {}).get("check", "?")
        outcomes.setdefault(name, []).append(bool(item.success))
        if item.exception_info and item.exception_info.get("raised_exception"):
            errors.append(str(item.exception_info.get("exception_message"))[:200])
    checks = {name: all(seen) for name, seen in outcomes.items()}
    return {"seconds": seconds, "checks": checks, "errors": errors[:5]}


@case
def polars_lazy(size: str) -> dict[str, Any]:
    """Polars, one lazy pass over the Parquet file (a different source: no warehouse)."""
    start = time.perf_counter()
    import polars as pl

    frame = pl.scan_parquet(data.parquet(size))
    schema = frame.collect_schema()
    names = {pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Float64: "DOUBLE", pl.String: "VARCHAR"}
    types = {
        c: names.get(t, "TIMESTAMP" if isinstance(t, pl.Datetime) else str(t)) for c, t in schema.items()
    }
    col = pl.col
    row = (
        frame.select(
            pl.len().alias("rows"),
            *[col(c).null_count().alias(f"null_{c}") for c in data.COLUMNS],
            (col("order_id").count() - col("order_id").drop_nulls().n_unique()).alias("duplicate_keys"),
            ((col("price_usd") < data.PRICE_RANGE[0]) | (col("price_usd") > data.PRICE_RANGE[1]))
            .sum()
            .alias("price_out"),
            ((col("quantity") < data.QUANTITY_RANGE[0]) | (col("quantity") > data.QUANTITY_RANGE[1]))
            .sum()
            .alias("quantity_out"),
            (~col("status").is_in(list(data.STATUSES))).sum().alias("status_out"),
            col("created_at").max().alias("newest"),
        )
        .collect()
        .row(0, named=True)
    )
    return _judged(row, types, start)


# Spark's type names as the DuckDB names of the contract (timestamp_ntz: a timestamp without zone).
SPARK_TYPES = {
    "bigint": "BIGINT",
    "int": "INTEGER",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "timestamp_ntz": "TIMESTAMP",
}


def _spark_session(master: str, warehouse_dir: Path) -> Any:
    """A local Spark session configured as pipefix configures its own (`spark://local[N]`): no
    UI, as many shuffle partitions as cores, naive timestamps in UTC."""
    from pyspark.sql import SparkSession

    cores = master.removeprefix("local[").removesuffix("]")
    session = (
        SparkSession.builder.master(master)
        .appName("pipefix-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", cores)
        .config("spark.default.parallelism", cores)
        .config("spark.sql.warehouse.dir", str(warehouse_dir))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _jvm_memory() -> dict[str, float]:
    """The peak resident memory of this process's Spark JVM (a child the runner's accounting of
    this process does not include: it is not reaped before the process ends), if one runs."""
    if "pyspark" not in sys.modules:
        return {}
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    if process is None:
        return {}
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return {"jvm_rss_mib": int(line.split()[1]) / 1024}
    return {}


def spark_table_location(folder: str) -> str:
    """Where the Spark warehouse keeps the orders table's active version (its Parquet files), as
    pipefix's state records it."""
    import duckdb

    state = Path(folder) / "spark-warehouse" / "pipefix-state.duckdb"
    con = duckdb.connect(str(state), read_only=True)
    row = con.execute(
        "SELECT t.location FROM pipefix.spark_active AS a JOIN pipefix.spark_tables AS t "
        "ON t.physical = a.physical WHERE a.table_name = 'orders'"
    ).fetchone()
    con.close()
    assert row is not None, f"no orders table in {state}"
    return str(row[0])


@case
def spark_sql(folder: str) -> dict[str, Any]:
    """The hand-written Spark pass: a local[2] session, the table's Parquet files as a view, the
    hand-written DuckDB pass's aggregate query (Spark SQL reads it unchanged) and the types."""
    location = spark_table_location(folder)  # found before the clock starts
    with _tmp_dir() as scratch:
        start = time.perf_counter()
        spark = _spark_session("local[2]", scratch)
        started = time.perf_counter()
        frame = spark.read.parquet(location)
        frame.createOrReplaceTempView("orders")
        types = {f.name: SPARK_TYPES.get(f.dataType.simpleString(), "?") for f in frame.schema.fields}
        row = spark.sql(handwritten_sql()).collect()[0].asDict()
        result = _judged(row, types, start)
        memory = _jvm_memory()
    return {
        **result,
        "jvm_seconds": started - start,
        "query_seconds": result["seconds"] - (started - start),
        **memory,
    }


# --- 2. incremental step -------------------------------------------------------------------------


@case
def pipefix_load_batch(size: str) -> dict[str, Any]:
    """The rest of a step: pipefix's loader judges and loads the 10k batch into a copy of the
    table (the copy is not timed)."""
    from pipefix.api import Pipeline
    from pipefix.engines import loader

    with (
        _copy_of(data.warehouse(size)) as folder,
        Pipeline.open(folder / "pipefix.yaml", clock=data.fixed_clock) as pipeline,
    ):
        start = time.perf_counter()
        result = loader.load_batch(pipeline.engine, data.batch_jsonl(), "orders", 1)
        seconds = time.perf_counter() - start
    assert result is not None
    return {"seconds": seconds, "loaded": result.loaded, "quarantined": result.quarantined}


@contextmanager
def _copy_of(folder: Path) -> Iterator[Path]:
    with _tmp_dir() as tmp:
        target = tmp / folder.name
        shutil.copytree(folder, target)
        yield target


# --- 3. ingestion --------------------------------------------------------------------------------


# Rows a loader without the contract lets in: the non-conforming records, or their NULLs.
NONCONFORMING = "price_usd < 0 OR status = 'teleported' OR quantity IS NULL OR customer_id IS NULL"


@case
def ingest_file(kind: str, folder: str) -> dict[str, Any]:
    """Write an ingestion file into `folder` (a temp dir the runner deletes): `clean` (1M orders,
    every record conforming) or `10m` (10M orders, 1% non-conforming as the 1M file)."""
    rows, bad = {"clean": (data.INGEST_ROWS, False), "10m": (10 * data.INGEST_ROWS, True)}[kind]
    path = Path(folder) / f"ingest-{kind}.jsonl"
    start = time.perf_counter()
    data._write_jsonl(path, data.orders_sql(rows, first=30_000_000), 30_000_000, bad=bad)
    return {
        "seconds": time.perf_counter() - start,
        "path": str(path),
        "rows": rows,
        "bytes": path.stat().st_size,
    }


def _fresh_postgres(url: str) -> None:
    """A PostgreSQL warehouse as new: the orders table and pipefix's state dropped."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS orders, orders_raw CASCADE")
        con.execute("DROP SCHEMA IF EXISTS pipefix CASCADE")


@case
def ingest_pipefix(warehouse: str = "duckdb", path: str = "") -> dict[str, Any]:
    """pipefix's loader on the 1M-row file (or `path`), into a new warehouse: DuckDB, (`spark`)
    Spark local[2] (the batch judged by DuckDB, the verdicts written to Spark's Parquet table and
    to pipefix's state), or a PostgreSQL URL (its tables dropped first). Timed from the open
    warehouse to the committed load; the statements that took longest are reported."""
    from pipefix.api import Pipeline
    from pipefix.engines import loader
    from pipefix.engines.duckdb import DuckDBEngine

    slowest: list[tuple[float, str]] = []

    def timing(cls: Any, method: str, describe: Callable[..., str]) -> None:
        original = getattr(cls, method)

        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                slowest.append((time.perf_counter() - began, describe(*args)[:70]))

        setattr(cls, method, timed)

    timing(DuckDBEngine, "_run", lambda sql, *_: " ".join(sql.split()))
    if warehouse == "spark":
        from pipefix.engines.spark import SparkEngine

        timing(SparkEngine, "_run_spark", lambda tree, sql, *_: "Spark: " + " ".join(sql.split()))
        timing(
            SparkEngine,
            "copy_rows",
            lambda table, *_: (
                f"state DuckDB: write the held records into {table}"
                if table.startswith("pipefix.")
                else f"Spark: write the conforming rows into {table}"
            ),
        )
        timing(
            SparkEngine,
            "copy_record_batches",
            lambda table, *_: f"Spark: write the conforming rows into {table} (Arrow record batches)",
        )
        timing(SparkEngine, "existing_rows", lambda table, *_: f"Spark: probe {table} for the batch's keys")

    if warehouse.startswith("postgresql://"):
        from pipefix.engines.postgres import PostgresEngine

        _fresh_postgres(warehouse)
        timing(PostgresEngine, "execute", lambda sql, *_: "PostgreSQL: " + " ".join(sql.split()))
        timing(PostgresEngine, "copy_rows", lambda table, *_: f"PostgreSQL: copy rows into {table}")
    url = {"spark": data.SPARK_URL, "duckdb": "wh.duckdb"}.get(warehouse, warehouse)
    batch = Path(path) if path else data.ingest_jsonl()
    with _tmp_dir() as folder:
        config = data.config_for(folder, url)
        opening = time.perf_counter()
        with Pipeline.open(config, clock=data.fixed_clock) as pipeline:
            slowest.clear()  # the warehouse's set-up is not the load
            start = time.perf_counter()
            result = loader.load_batch(pipeline.engine, batch, "orders", 1)
            seconds = time.perf_counter() - start
            rows = pipeline.engine.query("SELECT count(*) FROM orders")[0][0]
            held = pipeline.engine.query("SELECT count(*) FROM pipefix.quarantine")[0][0]
            memory = _jvm_memory()
    assert result is not None
    slowest.sort(reverse=True)
    return {
        "seconds": seconds,
        "open_seconds": start - opening,
        "loaded": int(rows),
        "quarantined": int(held),
        "received": result.received,
        "slowest": [[round(t, 2), sql] for t, sql in slowest[:3]],
        **memory,
    }


@case
def ingest_duckdb(path: str = "") -> dict[str, Any]:
    """Raw DuckDB: INSERT ... SELECT * FROM read_json(...), no contract (a record that cannot be
    typed would abort the load, so errors are ignored: such values become NULL)."""
    import duckdb  # imported before the clock starts: only the load is timed, as for pipefix

    batch = Path(path) if path else data.ingest_jsonl()

    columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in data.COLUMNS.items()) + "}"
    with _tmp_dir() as folder:
        con = duckdb.connect(str(folder / "raw.duckdb"))
        con.execute("SET enable_progress_bar = false")
        definition = ", ".join(f"{c} {t}" for c, t in data.COLUMNS.items())
        con.execute(f"CREATE TABLE orders ({definition})")
        start = time.perf_counter()
        con.execute(
            "INSERT INTO orders SELECT * FROM read_json(?, format = 'newline_delimited', "
            f"columns = {columns}, ignore_errors = true)",
            [str(batch)],
        )
        seconds = time.perf_counter() - start
        rows, bad = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {NONCONFORMING}) FROM orders"
        ).fetchone() or (0, 0)
        con.close()
    return {"seconds": seconds, "loaded": int(rows), "quarantined": 0, "nonconforming_loaded": int(bad)}


@case
def ingest_postgres_raw(url: str, path: str = "") -> dict[str, Any]:
    """Raw path into PostgreSQL: DuckDB `read_json` of the file written as CSV (`COPY ... TO`),
    then psycopg `COPY orders_raw FROM STDIN` of that CSV, no contract (errors ignored, as the
    raw DuckDB insert)."""
    import duckdb
    import psycopg

    batch = Path(path) if path else data.ingest_jsonl()
    columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in data.COLUMNS.items()) + "}"
    _fresh_postgres(url)
    definition = ", ".join(f"{c} {t.replace('DOUBLE', 'DOUBLE PRECISION')}" for c, t in data.COLUMNS.items())
    with _tmp_dir() as folder, psycopg.connect(url) as pg:
        pg.execute(f"CREATE TABLE orders_raw ({definition})")
        pg.commit()
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        start = time.perf_counter()
        spool = folder / "rows.csv"
        con.execute(
            f"COPY (SELECT * FROM read_json(?, format = 'newline_delimited', columns = {columns}, "
            f"ignore_errors = true)) TO '{spool}' (FORMAT csv, HEADER false)",
            [str(batch)],
        )
        with (
            pg.cursor() as cur,
            cur.copy("COPY orders_raw FROM STDIN (FORMAT csv)") as copy,
            spool.open("rb") as f,
        ):
            while block := f.read(1 << 20):
                copy.write(block)
        pg.commit()
        seconds = time.perf_counter() - start
        con.close()
        rows, bad = pg.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {NONCONFORMING}) FROM orders_raw"
        ).fetchone() or (0, 0)
    return {"seconds": seconds, "loaded": int(rows), "quarantined": 0, "nonconforming_loaded": int(bad)}


@case
def ingest_spark() -> dict[str, Any]:
    """Raw Spark: `spark.read.json` with the table's schema (PERMISSIVE: a value that cannot be
    typed becomes NULL) and `insertInto` a Parquet table; no contract."""
    with _tmp_dir() as folder:
        opening = time.perf_counter()
        spark = _spark_session("local[2]", folder)
        definition = ", ".join(f"{c} {SPARK_DDL[t]}" for c, t in data.COLUMNS.items())
        spark.sql(f"CREATE TABLE orders ({definition}) USING parquet")
        schema = spark.table("orders").schema
        start = time.perf_counter()
        spark.read.json(str(data.ingest_jsonl()), schema=schema).write.insertInto("orders")
        seconds = time.perf_counter() - start
        rows, bad, no_time = spark.sql(
            f"SELECT count(*), count_if({NONCONFORMING}), count_if(created_at IS NULL) FROM orders"
        ).collect()[0]
        memory = _jvm_memory()
    return {
        "seconds": seconds,
        "open_seconds": start - opening,
        "loaded": int(rows),
        "quarantined": 0,
        "nonconforming_loaded": int(bad),
        "null_timestamps": int(no_time),
        **memory,
    }


# The raw Spark table's types. Its timestamp is TIMESTAMP_LTZ: read into a TIMESTAMP_NTZ column,
# a value with a zone (`...Z`) becomes NULL, silently, in every record.
SPARK_DDL = {
    "BIGINT": "BIGINT",
    "INTEGER": "INT",
    "DOUBLE": "DOUBLE",
    "VARCHAR": "STRING",
    "TIMESTAMP": "TIMESTAMP_LTZ",
}


@case
def ingest_dlt(limit: str = "") -> dict[str, Any]:
    """dlt: a resource reading the JSONL file (its first `limit` records when given), typed by
    column hints, non-conforming data types discarded by its contract (`discard_row`), into
    DuckDB."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt  # imported before the clock starts: only the load is timed, as for pipefix

    start = time.perf_counter()

    types = {
        "BIGINT": "bigint",
        "INTEGER": "bigint",
        "DOUBLE": "double",
        "VARCHAR": "text",
        "TIMESTAMP": "timestamp",
    }
    # A null in a column declared not-nullable fails dlt's whole load (it has no row-level
    # not-null rule), so every column is declared nullable: those rows are loaded.
    columns = {c: {"data_type": types[t], "nullable": True} for c, t in data.COLUMNS.items()}

    @dlt.resource(name="orders", columns=columns, schema_contract={"data_type": "discard_row"})
    def orders() -> Iterator[dict[str, Any]]:
        with open(data.ingest_jsonl(), encoding="utf-8") as handle:
            for line in itertools.islice(handle, int(limit) if limit else None):
                yield json.loads(line)

    with _tmp_dir() as folder:
        pipeline = dlt.pipeline(
            pipeline_name="bench",
            destination=dlt.destinations.duckdb(str(folder / "dlt.duckdb")),
            dataset_name="bench",
            pipelines_dir=str(folder / "dlt"),
        )
        error = ""
        try:
            pipeline.run(orders())
        except Exception as failure:  # a contract violation may abort the load: report it
            error = str(failure).splitlines()[0][:300]
        seconds = time.perf_counter() - start
        import duckdb

        con = duckdb.connect(str(folder / "dlt.duckdb"), read_only=True)
        try:
            rows = con.execute(f"SELECT count(*), count(*) FILTER (WHERE {NONCONFORMING}) FROM bench.orders")
            loaded, bad = rows.fetchone() or (0, 0)
        except duckdb.Error:
            loaded = bad = 0
        con.close()
    return {
        "seconds": seconds,
        "rows": int(limit) if limit else data.INGEST_ROWS,
        "loaded": int(loaded),
        "quarantined": 0,
        "nonconforming_loaded": int(bad),
        "error": error,
    }


# --- 4. the demo, and 5. scaling ------------------------------------------------------------------


class _DatabaseClock:
    """Time spent inside DuckDB (statement execution and fetching), summed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def wrap(self, engine: Any) -> None:
        engine._con = _TimedConnection(engine._con, self)


class _TimedConnection:
    def __init__(self, con: Any, clock: _DatabaseClock) -> None:
        self._con = con
        self._clock = clock

    def _timed(self, method: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self._con, method)(*args)
        finally:
            self._clock.seconds += time.perf_counter() - start
            self._clock.statements += method in ("execute", "executemany")

    def execute(self, *args: Any) -> Any:
        self._timed("execute", *args)
        return self

    def executemany(self, *args: Any) -> Any:
        self._timed("executemany", *args)
        return self

    def fetchall(self) -> Any:
        return self._timed("fetchall")

    def fetchone(self) -> Any:
        return self._timed("fetchone")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@case
def demo(steps: str) -> dict[str, Any]:
    """`pipefix demo` in-process, with the time spent in DuckDB and in the producer counted, so
    that what is left is the agent's own overhead."""
    from pipefix.scenario import demo as scenario
    from pipefix.scenario.producer import Producer

    database = _DatabaseClock()
    produce = {"seconds": 0.0}
    write_step = Producer.write_step

    def timed_write(self: Any, step: int) -> Any:
        start = time.perf_counter()
        try:
            return write_step(self, step)
        finally:
            produce["seconds"] += time.perf_counter() - start

    Producer.write_step = timed_write  # type: ignore[method-assign]
    with _tmp_dir() as folder:
        options = scenario.DemoOptions(db=folder / "demo.duckdb", steps=int(steps))
        run = scenario.prepare(options)
        database.wrap(run.pipeline.engine)
        start = time.perf_counter()
        scenario.execute(run)
        seconds = time.perf_counter() - start
        rows = run.pipeline.engine.query(
            "SELECT coalesce(sum(received), 0), coalesce(sum(loaded), 0) FROM pipefix.batches"
        )[0]
        run.pipeline.engine.close()
    tables = len(run.pipeline.tables)
    overhead = seconds - database.seconds - produce["seconds"]
    return {
        "seconds": seconds,
        "steps": int(steps),
        "tables": tables,
        "database_seconds": database.seconds,
        "statements": database.statements,
        "producer_seconds": produce["seconds"],
        "overhead_per_step_ms": overhead / int(steps) * 1000,
        "overhead_per_table_step_ms": overhead / int(steps) / tables * 1000,
        "received": int(rows[0]),
        "loaded": int(rows[1]),
    }


SCALE_YAML_TABLE = """\
  t{n:04d}:
    key: id
    columns:
      id:     {{type: bigint, nullable: false}}
      amount: {{type: double, min: 0}}
      kind:   {{type: varchar, values: [a, b, c]}}
      at:     {{type: timestamp}}
    freshness: 24h
"""


@case
def scaling(tables: str, load: str = "yes") -> dict[str, Any]:
    """N tables. Step 1 (no data) sets up every table's state. With `load=yes`, each table then
    receives one 20-row batch and step 2 is timed (a loaded step); then a step with nothing new is
    timed (a quiet step: every table checked, the agent evaluates and plans). Time per table-step,
    split into time inside DuckDB and the rest (pipefix's own work)."""
    from pipefix.api import Pipeline

    count = int(tables)
    result: dict[str, Any] = {"tables": count}
    with _tmp_dir() as folder:
        body = "".join(SCALE_YAML_TABLE.format(n=n) for n in range(count))
        config = folder / "pipefix.yaml"
        # settle 0s: each batch is written in full before the timed step starts.
        landing = "{path: landing, settle: 0s}"
        config.write_text(f"warehouse: duckdb:///wh.duckdb\nlanding: {landing}\ntables:\n{body}")
        with Pipeline.open(config, clock=data.fixed_clock) as pipeline:
            pipeline.run(1)
            database = _DatabaseClock()
            database.wrap(pipeline.engine)
            kinds = ["loaded", "quiet"] if load == "yes" else ["quiet"]
            for kind in kinds:
                if kind == "loaded":
                    for n in range(count):
                        batch = folder / "landing" / f"t{n:04d}" / "step-2.jsonl"
                        batch.parent.mkdir(parents=True, exist_ok=True)
                        rows = [
                            {
                                "id": i,
                                "amount": i * 1.5,
                                "kind": "abc"[i % 3],
                                "at": f"2026-11-30T02:00:{i:02d}Z",
                            }
                            for i in range(20)
                        ]
                        batch.write_text("".join(json.dumps(r) + "\n" for r in rows))
                before, statements = database.seconds, database.statements
                start = time.perf_counter()
                summary = pipeline.run(1)
                seconds = time.perf_counter() - start
                inside = database.seconds - before
                result[kind] = {
                    "seconds": seconds,
                    "statements": database.statements - statements,
                    "per_table_step_ms": seconds / count * 1000,
                    "database_per_table_step_ms": inside / count * 1000,
                    "overhead_per_table_step_ms": (seconds - inside) / count * 1000,
                }
            result["loaded_rows"] = summary["rows"]["loaded"]
            result["lost"] = summary["rows"]["lost"]
    result["seconds"] = sum(result[k]["seconds"] for k in kinds)
    return result


def _judged(row: dict[str, Any], types: Any, start: float) -> dict[str, Any]:
    """The 9 checks judged from one aggregate row (hand-written DuckDB and Polars alike)."""
    figures = {
        "rows": row["rows"],
        "nulls": {c: row[f"null_{c}"] for c in data.COLUMNS},
        "duplicate_keys": row["duplicate_keys"],
        "price_out": row["price_out"],
        "quantity_out": row["quantity_out"],
        "status_out": row["status_out"],
        "newest": row["newest"],
    }
    checks = judge_figures(figures, types)
    seconds = time.perf_counter() - start
    figures["newest"] = str(figures["newest"])
    return {"seconds": seconds, "checks": checks, "figures": figures}


# --- PostgreSQL: the incremental check's key probe ---------------------------------------------------


@case
def postgres_prepare(folder: str, url: str, rows: str, batch: str) -> dict[str, Any]:
    """A pipeline on PostgreSQL: `orders` with `rows` rows loaded at step 1 and their figures saved
    (as an agent step saves them), its statistics gathered; then `batch` rows at step 2 whose keys
    repeat (each 4 times, half of them among the older rows' keys), written after the statistics
    as a load is, and measured at once."""
    from pipefix.api import Pipeline
    from pipefix.tools.check_health import measure

    config = data.config_for(Path(folder), url)  # the orders pipeline of sections 1 and 2
    older, newer = int(rows), int(batch)
    insert = (
        "INSERT INTO orders SELECT k, k % 100000, (k % 1000) / 10.0, 1 + k % 100, 'paid', "
        "CASE WHEN k % 10 < 3 THEN 'WINTER' END, TIMESTAMP '2026-11-29 12:00:00' "
        "+ (k % 43200) * INTERVAL '1 second', 'bench', k, {step} FROM {source}"
    )
    start = time.perf_counter()
    with Pipeline.open(config, clock=data.fixed_clock) as pipeline:
        engine = pipeline.engine
        engine.execute(insert.format(step=1, source=f"generate_series(1, {older}) AS k"))
        measure(pipeline.context, 2)  # saves the figures of step 1's rows
        engine.execute("ANALYZE orders")
        keys = f"generate_series({older - newer // 8 + 1}, {older + newer // 8}) AS k, generate_series(1, 4)"
        engine.execute(insert.format(step=2, source=keys))
        total = int(engine.query("SELECT count(*) FROM orders")[0][0])
    return {"seconds": time.perf_counter() - start, "rows": total}


@case
def postgres_exists_probe(folder: str, timeout: str) -> dict[str, Any]:
    """The correlated EXISTS probe the incremental check used on PostgreSQL before (DuckDB's form
    still), on the same table: cancelled after `timeout` seconds."""
    import psycopg

    from pipefix.api import Pipeline
    from pipefix.engines import health, store
    from pipefix.engines.base import EngineError

    with Pipeline.open(Path(folder) / "pipefix.yaml", read_only=True, clock=data.fixed_clock) as pipeline:
        engine = pipeline.engine
        contract = store.active_contract(engine, "orders")
        physical = health.physical_schemas(engine, ("orders",))["orders"]
        known = health.known_for(health.saved_figures(engine)["orders"], health.signature(contract, physical))
        planned = health.plan_measure(contract, physical, 3, known, keep=False, set_probe=False)
        engine.execute(f"SET statement_timeout = '{int(timeout)}s'")
        start = time.perf_counter()
        try:
            engine.query(planned.sql)
            cancelled = False
        except EngineError as error:
            if not isinstance(error.__cause__, psycopg.errors.QueryCanceled):
                raise
            cancelled = True
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "cancelled": cancelled}


def main() -> None:
    name, *args = sys.argv[1:]
    result = CASES[name](*args)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
