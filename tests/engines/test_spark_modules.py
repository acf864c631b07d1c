"""The Spark engine in modules of one concern each: spark.py the engine (protocol, versions,
registry), spark_shapes.py the typed changes of a table's shape, spark_session.py start-up,
spark_types.py the type map, spark_router.py routing and translating text. No JVM here: the
split, the names callers import, and the pure parts on real values."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlglot import exp

from pipefix.engines import spark, spark_router, spark_session, spark_shapes, spark_types
from pipefix.engines.spark_router import _is_state_name
from pipefix.engines.spark_types import _bq, _spark_value, _type_name

MODULES = (spark, spark_session, spark_types, spark_router, spark_shapes)


def test_spark_modules_are_small_documented_and_load_no_pyspark_at_import() -> None:
    for module in MODULES:
        path = Path(str(module.__file__))
        tree = ast.parse(path.read_text())
        assert len(path.read_text().splitlines()) <= 400, path.name
        assert ast.get_docstring(tree), f"{path.name} says its one concern"
        imported = [n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith("pyspark")], path.name
    # a DuckDB or PostgreSQL warehouse never pays for pyspark: importing the engine does not load it
    probe = "import sys, pipefix.engines.spark; print('pyspark' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"


def test_the_engine_routes_through_the_router_and_keeps_its_names() -> None:
    assert issubclass(spark.SparkEngine, spark_router.SparkRouter)
    assert spark.SparkEngine._run_spark is spark_router.SparkRouter._run_spark  # the benchmarks time it
    for name in (
        "open_session",
        "connect_builder",
        "is_connect",
        "column_functions",
        "parse_url",
        "INSTALL_HINT",
    ):
        assert getattr(spark, name) is getattr(spark_session, name), name
    assert spark.DEFAULT_SCHEMA == spark_router.DEFAULT_SCHEMA == "default"
    assert sorted(spark.__all__) == [
        "DEFAULT_SCHEMA",
        "INSTALL_HINT",
        "STATE_FILE",
        "SparkEngine",
        "column_functions",
        "connect_builder",
        "is_connect",
        "open_session",
        "parse_url",
    ]


@pytest.mark.parametrize(
    ("written", "on_spark"),
    [
        ("varchar", "STRING"),
        ("text", "STRING"),
        ("integer", "INT"),
        ("bigint", "BIGINT"),
        ("timestamp", "TIMESTAMP"),
        ("decimal(12, 2)", "DECIMAL(12,2)"),
        ("boolean", "BOOLEAN"),
    ],
)
def test_a_column_type_is_named_as_pipefix_names_it_on_spark(written: str, on_spark: str) -> None:
    assert _type_name(exp.DataType.build(written, dialect="duckdb")) == on_spark


def test_spark_type_names_read_back_with_the_instant_type_apart() -> None:
    types = pytest.importorskip("pyspark.sql.types")
    read = spark_types._spark_type_name
    assert read(types.TimestampNTZType()) == "TIMESTAMP"
    assert read(types.TimestampType()) == "TIMESTAMP_LTZ"  # Spark's instant: pipefix's timestamptz
    assert read(types.IntegerType()) == "INT"
    assert read(types.DecimalType(12, 2)) == "DECIMAL(12,2)"


def test_values_and_identifiers_as_spark_takes_them() -> None:
    paris = timezone(timedelta(hours=2))
    assert _spark_value(datetime(2026, 11, 1, 10, 0, tzinfo=paris)) == datetime(2026, 11, 1, 8, 0)
    assert _spark_value(datetime(2026, 11, 1, 10, 0, tzinfo=UTC)) == datetime(2026, 11, 1, 10, 0)
    assert _spark_value(datetime(2026, 11, 1, 10, 0)) == datetime(2026, 11, 1, 10, 0)
    assert _spark_value(7) == 7
    assert _bq("order") == "`order`"
    assert _bq("we`ird") == "`we``ird`"


def test_state_names_route_to_the_state_duckdb() -> None:
    assert _is_state_name("pipefix.batches")
    assert _is_state_name('temp."shadow"')
    assert _is_state_name("_pipefix_probe")
    assert not _is_state_name("orders")
    assert not _is_state_name("default.orders")


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("spark://local", True),
        ("spark://local[4]", True),
        ("spark://local[*]", True),
        ("sc://spark.example:15002", True),
        ("spark://cluster:7077", False),
        ("sc://", False),
    ],
)
def test_spark_urls(url: str, accepted: bool) -> None:
    if accepted:
        assert spark_session.parse_url(url) == url
    else:
        with pytest.raises(ValueError, match="unsupported Spark URL"):
            spark_session.parse_url(url)
