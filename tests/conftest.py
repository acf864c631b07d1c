"""Shared fixtures: a real DuckDB file per test, a small contract, and a network guard."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipefix.cli import show_demo
from pipefix.engines import store
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.planners import models
from pipefix.report.console import make_console
from pipefix.scenario.demo import DemoOptions, prepare
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext
from tests.demo_checks import PrintedDemo

pytest_plugins = ["tests.tiers", "tests.parallel", "tests.pg_server", "tests.spark_server"]

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def settled(*paths: Path) -> None:
    """Date batch files a minute back: written in full before the run, the way a producer's
    files are once `landing.settle` (5 s by default) has passed. A file modified more recently
    is still being written for pipefix (tests/test_landing_files.py); a run would wait for it."""
    then = time.time() - 60
    for path in paths:
        os.utime(path, (then, then))


@pytest.fixture(autouse=True)
def no_real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests drive the LLM paths with scripted models only: a real model request fails loudly,
    and provider keys in the environment do not switch the demo to a live model."""
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", False)
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session", autouse=True)
def crash_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A bug's traceback goes to this session's temp folder (each xdist worker has its own),
    not to the machine's shared pipefix-crash.log, where parallel workers would interleave;
    subprocesses the tests start inherit it."""
    path = tmp_path_factory.getbasetemp() / "pipefix-crash.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPEFIX_CRASH_LOG", str(path))
        yield path


@pytest.fixture(scope="session")
def default_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrintedDemo]:
    """The demo with `pipefix demo`'s defaults (25 steps, seed 7, drift at step 8), run once per
    session and printed through the CLI's own code as `--no-color` prints it: test_demo.py checks
    its warehouse, test_readme.py that the README's excerpt is this output."""
    folder = tmp_path_factory.mktemp("default-demo")
    with pytest.MonkeyPatch.context() as patch:  # the autouse guards are per test; this runs once
        patch.setattr(models, "ALLOW_MODEL_REQUESTS", False)
        for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
            patch.delenv(key, raising=False)
        run = prepare(DemoOptions(db=folder / "pipeline.duckdb"))
        console = make_console(no_color=True)
        with console.capture() as captured:
            summary = show_demo(run, console)
    yield PrintedDemo(run, captured.get(), summary)
    run.pipeline.engine.close()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network: any connection off this machine fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if self.family == socket.AF_UNIX or str(host) in ("127.0.0.1", "::1", "localhost"):
            return real_connect(self, address)
        raise RuntimeError(f"test tried to reach the network: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    warehouse = DuckDBEngine(tmp_path / "warehouse.duckdb")
    store.ensure_schema(warehouse)
    yield warehouse
    warehouse.close()


def orders_contract() -> Contract:
    """A small contract used across tests: orders with a key, money, an enum and a timestamp."""
    return Contract(
        "orders",
        1,
        (
            ColumnSpec("order_id", "bigint", nullable=False),
            ColumnSpec("price_usd", "decimal(12,2)", nullable=False, min=0),
            ColumnSpec("status", "varchar", nullable=False, values=("new", "paid")),
            ColumnSpec("created_at", "timestamp", nullable=False),
        ),
        key="order_id",
        freshness_column="created_at",
        freshness_seconds=600,
    )


def clock(step: int) -> datetime:
    return T0 + timedelta(seconds=60 * step)


@pytest.fixture
def ctx(engine: DuckDBEngine) -> PipelineContext:
    """A one-table pipeline (orders, contract v1) on a real DuckDB file."""
    context = PipelineContext(engine, ("orders",), clock, 60)
    ingest.setup(context, {"orders": orders_contract()})
    return context


@pytest.fixture
def write_batch(tmp_path: Path) -> Callable[..., Path]:
    """Write a JSONL batch under tmp_path/landing/<table>/<name>; rows may be dicts or raw lines."""

    def write(table: str, name: str, rows: list[dict[str, Any] | str]) -> Path:
        folder = tmp_path / "landing" / table
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        settled(path)
        return path

    return write


def v1_order(order_id: int, price: float = 10.5, status: str = "new") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "price_usd": price,
        "status": status,
        "created_at": "2026-11-01T00:00:30Z",
    }


def v2_order(order_id: int, price: float = 10.5, currency: str = "EUR") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "price": price,
        "currency_code": currency,
        "status": "paid",
        "created_at": "2026-11-01T00:00:30Z",
    }
