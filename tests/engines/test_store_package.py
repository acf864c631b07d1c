"""engines/store is a package of one module per concern behind the one name callers use:
`store.name(...)` reaches every public name, no module grows past ~400 lines, none imports upward,
and ensure_schema still builds pipefix's 16 bookkeeping tables on every warehouse."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import cast

import pytest
import sqlglot

from pipefix.engines import store
from pipefix.engines.base import Engine
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.engines.spark import SparkEngine
from pipefix.engines.spark_router import SparkRouter
from pipefix.engines.sql import (
    bookkeeping_batches,
    bookkeeping_contracts,
    bookkeeping_escalation,
    bookkeeping_memory,
    bookkeeping_schema,
    bookkeeping_steps,
)
from pipefix.engines.sql.dialects import DUCKDB, POSTGRES, dialect_named
from pipefix.errors import EngineError
from tests.engines.conftest import engine_of

TABLES = {
    "contracts",
    "active_contracts",
    "adapters",
    "active_adapters",
    "batches",
    "quarantine",
    "goals",
    "audit",
    "knowledge",
    "steps",
    "settings",
    "journal",
    "ledger",
    "decisions",
    "table_states",
    "alerts",
}
# What a store module may import: the standard library, the pure layers, errors, the engine protocol,
# the SQL seam and its own package. Nothing from tools/, planners/, agent/, cli or report (they
# import the store).
ALLOWED = (
    "pipefix.domain.",
    "pipefix.pipeline.",
    "pipefix.errors",
    "pipefix.engines.base",
    "pipefix.engines.dialect_of",  # which dialect user-table statements are sent in
    "pipefix.engines.sql",  # the statements, built per dialect
    "pipefix.engines.store",
)


def modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{store.__name__}.{info.name}")
        for info in pkgutil.iter_modules(store.__path__)
    ]


def public_names(module: ModuleType) -> set[str]:
    tree = ast.parse(Path(str(module.__file__)).read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    names |= {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
    }
    return {n for n in names if not n.startswith("_")}


def test_every_public_name_of_every_store_module_is_reexported_once() -> None:
    found = [name for module in modules() for name in public_names(module)]
    assert len(found) == len(set(found)) == 65  # no name defined in two modules
    assert sorted(store.__all__) == sorted(found)
    for module in modules():
        for name in public_names(module):
            assert getattr(store, name) is getattr(module, name), f"store.{name}"


def test_store_modules_are_small_documented_and_import_nothing_upward() -> None:
    for module in modules():
        path = Path(str(module.__file__))
        tree = ast.parse(path.read_text())
        assert len(path.read_text().splitlines()) <= 400, path.name
        assert ast.get_docstring(tree), f"{path.name} says its concern"
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        upward = {m for m in imported if m.startswith("pipefix") and not m.startswith(ALLOWED)}
        assert upward == set(), path.name


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from engine_of(request, tmp_path)


def test_ensure_schema_builds_the_bookkeeping_tables_once(warehouse: Engine) -> None:
    assert not store.has_schema(warehouse)
    store.ensure_schema(warehouse)
    store.ensure_schema(warehouse)  # every command runs it: a second time changes nothing
    assert store.has_schema(warehouse)
    rows = warehouse.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", (store.SCHEMA,)
    )
    assert {str(r[0]) for r in rows} == TABLES
    columns = warehouse.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        (store.SCHEMA, "batches"),
    )
    assert tuple(str(c[0]) for c in columns) == store.BATCH_COLUMNS
    store.record_batch(warehouse, batch_id="orders/a.jsonl@1", table_name="orders", step=1, received=3)
    with pytest.raises(EngineError, match=r"(?i)duplicate|unique|constraint"):  # the batch key holds
        store.record_batch(warehouse, batch_id="orders/a.jsonl@1", table_name="orders", step=2, received=3)
    assert warehouse.query(f"SELECT count(*) FROM {store.SCHEMA}.batches")[0][0] == 1


def test_bookkeeping_statements_quote_and_qualify_every_name() -> None:
    """Built in engines/sql/bookkeeping_*.py over the dialect: the schema, its tables, the batch
    key index and a column list built from names all quoted; values stay `?` parameters."""
    for d in (DUCKDB, POSTGRES):
        statements = bookkeeping_schema.ddl(d)
        assert statements[0] == 'CREATE SCHEMA IF NOT EXISTS "pipefix"'
        created = [s for s in statements if s.startswith("CREATE TABLE")]
        assert [s.split()[5] for s in created] == [
            f'"pipefix"."{t}"' for t in bookkeeping_schema.BOOKKEEPING_TABLES
        ]
        assert set(bookkeeping_schema.BOOKKEEPING_TABLES) == TABLES
        assert (
            statements[-1] == 'ALTER TABLE "pipefix"."batches" ADD COLUMN IF NOT EXISTS "csv_dialect" VARCHAR'
        )
        assert bookkeeping_schema.create_batch_key(d) == (
            'CREATE UNIQUE INDEX IF NOT EXISTS "batches_batch_id" ON "pipefix"."batches" (batch_id)'
        )
        assert bookkeeping_batches.insert_batch(d, ("batch_id", "step")) == (
            'INSERT INTO "pipefix"."batches" ("batch_id", "step") VALUES (?, ?)'
        )
        assert bookkeeping_batches.first_drift_step(d) == (
            """SELECT min(step) FROM "pipefix"."batches" WHERE drift <> '[]'"""
        )


def test_each_engine_names_the_dialect_its_state_is_kept_in() -> None:
    assert DuckDBEngine.capabilities.state_dialect == "duckdb"
    assert PostgresEngine.capabilities.state_dialect == "postgres"
    assert SparkEngine.capabilities.state_dialect == "duckdb"  # the state DuckDB file beside Spark


def test_spark_routes_the_quoted_bookkeeping_statements_to_its_state() -> None:
    """Spark's router sends a statement to the state DuckDB when every table it names is in the
    `pipefix` schema: quoted names included (no JVM here: the routing decision alone)."""
    d = dialect_named(SparkEngine.capabilities.state_dialect)
    statements = [
        *bookkeeping_schema.ddl(d),
        bookkeeping_schema.create_batch_key(d),
        bookkeeping_schema.batches_recorded_twice(d),
        bookkeeping_contracts.state_before(d, 2),
        bookkeeping_contracts.insert_table_state(d),
        bookkeeping_steps.insert_audit(d),
        bookkeeping_memory.recall_latest(d, 3),
        bookkeeping_escalation.decisions(d),
        bookkeeping_batches.insert_batch(d, store.BATCH_COLUMNS),
    ]
    router = cast(SparkRouter, object())
    for statement in statements:
        spark_tables, state_tables = SparkRouter._split(router, sqlglot.parse_one(statement, read="duckdb"))
        assert spark_tables == [], statement
        assert state_tables, statement


def test_every_batch_column_round_trips_through_the_quoted_insert(warehouse: Engine) -> None:
    store.ensure_schema(warehouse)
    values: dict[str, object] = {c: f"{c}-value" for c in store.BATCH_COLUMNS}
    numbers = ("step", "received", "loaded", "quarantined", "size_bytes")
    values |= {c: i for i, c in enumerate(numbers, start=1)}
    store.record_batch(warehouse, **values)
    inserted = warehouse.statement_log[-1]
    rows = warehouse.query(f"SELECT {', '.join(store.BATCH_COLUMNS)} FROM {store.SCHEMA}.batches")
    assert rows == [tuple(values[c] for c in store.BATCH_COLUMNS)]
    assert 'INSERT INTO "pipefix"."batches" ("batch_id", "table_name", "step"' in inserted
