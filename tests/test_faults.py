"""Faults a real deployment meets: an unreachable warehouse, hostile names, a database error in
the middle of a fix. Each gives a clear outcome and leaves nothing half-done."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from pipefix.cli import main
from pipefix.domain.actions import Action, FixType, Tool
from pipefix.engines import loader, store
from pipefix.engines.base import EngineError
from pipefix.tools.check_health import measure
from pipefix.tools.context import PipelineContext
from pipefix.tools.registry import execute_once
from tests.conftest import v1_order, v2_order


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_warehouse_is_exit_2_without_the_password(tmp_path: Path) -> None:
    config = tmp_path / "pipefix.yaml"
    config.write_text(
        f"warehouse: postgresql://pipefix:s3cret@127.0.0.1:{closed_port()}/db\n"
        "tables:\n  t:\n    columns:\n      id: {type: bigint}\n"
    )
    for command in (["check"], ["run"], ["history"]):
        result = CliRunner().invoke(main, [*command, "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert "cannot reach PostgreSQL warehouse" in result.output
        assert "s3cret" not in result.output
        assert "Traceback" not in result.output


def test_check_changes_nothing_in_the_warehouse(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(tmp_path / "shop")]).exit_code == 0
    config = tmp_path / "shop" / "pipefix.yaml"
    assert CliRunner().invoke(main, ["run", "--config", str(config)]).exit_code == 0
    warehouse = tmp_path / "shop" / "warehouse.duckdb"
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    result = CliRunner().invoke(main, ["check", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["healthy"] is True
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    "name", ['orders"; DROP TABLE users; --', "orders;", "ordérs", "оrders", "_pipefix_x", "a b"]
)
def test_hostile_table_names_in_a_config_are_refused_with_the_line(tmp_path: Path, name: str) -> None:
    config = tmp_path / "pipefix.yaml"
    config.write_text(
        "warehouse: duckdb:///w.duckdb\ntables:\n  " + json.dumps(name) + ":\n    columns:\n"
        "      id: {type: bigint}\n"
    )
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "pipefix.yaml:3" in result.output
    assert not (tmp_path / "w.duckdb").exists()


def test_a_database_error_mid_migration_rolls_the_fix_back_and_is_recorded(
    ctx: PipelineContext, write_batch: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = ctx.engine
    loader.load_batch(engine, write_batch("orders", "a.jsonl", [v1_order(1)]), "orders", 1)
    loader.load_batch(
        engine, write_batch("orders", "b.jsonl", [v2_order(2, 7.25), v2_order(3, 8.5)]), "orders", 2
    )
    columns_before = engine.table_columns("orders")
    real_save = store.save_contract

    def failing_save(*args: object, **kwargs: object) -> None:
        raise EngineError("disk I/O error (injected)")

    monkeypatch.setattr(store, "save_contract", failing_save)
    migrate = Action(Tool.APPLY_FIX, "orders", FixType.SCHEMA_MIGRATION)
    result = execute_once(ctx, migrate, 3, 0, measure(ctx, 2), ())
    assert (result.ok, "disk I/O error (injected)" in result.detail) == (False, True)
    assert engine.table_columns("orders") == columns_before  # the ALTERs were rolled back
    assert store.active_contract(engine, "orders").version == 1
    assert store.ledger_entry(engine, 3, 0) is None
    monkeypatch.setattr(store, "save_contract", real_save)
    retried = execute_once(ctx, migrate, 4, 0, measure(ctx, 3), ())  # the next step re-plans and succeeds
    assert retried.ok, retried.detail
    assert store.active_contract(engine, "orders").version == 2


def test_a_password_never_reaches_output_audit_or_checkpoints(tmp_path: Path, pg_url: str) -> None:
    secret = "s3cret-pw"
    assert CliRunner().invoke(main, ["init", str(tmp_path / "shop")]).exit_code == 0
    config = tmp_path / "shop" / "pipefix.yaml"
    warehouse = pg_url.replace("postgres@", f"postgres:{secret}@")  # trust auth ignores it
    lines = config.read_text().splitlines()
    config.write_text(
        "\n".join(f"warehouse: {warehouse}" if line.startswith("warehouse:") else line for line in lines)
    )
    outputs = [
        CliRunner().invoke(main, [*command, "--config", str(config)])
        for command in (["run", "--steps", "2"], ["run", "--json"], ["check", "--json"], ["history"])
    ]
    assert [result.exit_code for result in outputs] == [0, 0, 0, 0], [r.output for r in outputs]
    assert json.loads(outputs[1].output)["warehouse"].count("***") == 1
    for result in outputs:
        assert secret not in result.output
    with psycopg.connect(pg_url) as con:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'pipefix'"
        ).fetchall()
        assert {("checkpoints",), ("audit",)} <= set(tables)
        for (table,) in tables:
            for row in con.execute(f'SELECT * FROM pipefix."{table}"').fetchall():
                for value in row:
                    text = value if isinstance(value, bytes) else str(value).encode()
                    assert secret.encode() not in text, f"pipefix.{table} holds the password"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of its own (tmpfs), so a test can make it read-only under a warehouse."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], check=False)
    if mounted.returncode != 0:
        pytest.skip("this machine does not let the tests mount a filesystem (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_read_only_disk_is_a_clear_error_and_check_still_reads(small_disk: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(small_disk / "shop")]).exit_code == 0
    config = small_disk / "shop" / "pipefix.yaml"
    assert CliRunner().invoke(main, ["run", "--config", str(config)]).exit_code == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        result = CliRunner().invoke(main, ["run", "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert "Read-only file system" in result.output
        assert "warehouse.duckdb" in result.output
        assert "Traceback" not in result.output
        checked = CliRunner().invoke(main, ["check", "--config", str(config), "--json"])
        assert checked.exit_code == 0, checked.output
        assert json.loads(checked.output)["healthy"] is True
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    again = CliRunner().invoke(main, ["run", "--config", str(config), "--json"])
    assert again.exit_code == 0, again.output
    rows = json.loads(again.output)["rows"]
    assert rows["lost"] == 0
    assert rows["received"] == rows["loaded"] + rows["quarantined"] > 0
