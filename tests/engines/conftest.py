"""Engines shared by the engine tests: `any_engine`, each test once per engine (DuckDB on a
file, PostgreSQL on the session's server, Spark local: slow); and for Spark one local session
(one JVM) for the whole test session, and per test an engine with a catalog database of its own,
so tests never see each other's tables."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.engines.spark import STATE_FILE, SparkEngine, open_session

SPARK_URL = "spark://local[2]"
_databases = count(1)


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("pyspark")
    session = open_session(SPARK_URL, str(tmp_path_factory.mktemp("spark-warehouse")))
    yield session
    session.stop()


@pytest.fixture
def spark(spark_session: Any, tmp_path: Path) -> Iterator[SparkEngine]:
    engine = SparkEngine(
        SPARK_URL,
        tmp_path / "warehouse",
        tmp_path / STATE_FILE,
        session=spark_session,
        database=f"pipefix_test_{next(_databases)}",
    )
    yield engine
    engine.close()


def engine_of(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DuckDBEngine | PostgresEngine]:
    """A fixture's engine of `request.param` ("duckdb": a file under tmp_path; "postgres": a
    database of the session's server), closed after the test."""
    engine: DuckDBEngine | PostgresEngine
    if request.param == "duckdb":
        engine = DuckDBEngine(tmp_path / "warehouse.duckdb")
    else:
        engine = PostgresEngine(request.getfixturevalue("pg_url"))
    yield engine
    engine.close()


@pytest.fixture(params=["duckdb", "postgres", pytest.param("spark", marks=pytest.mark.slow)])
def any_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[DuckDBEngine | PostgresEngine | SparkEngine]:
    if request.param == "spark":  # the shared session's engine (above) closes itself
        yield request.getfixturevalue("spark")
        return
    yield from engine_of(request, tmp_path)
