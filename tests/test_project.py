"""`init_project` on real folders: the written config loads, its example batches obey the contracts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipefix.config import ConfigError, load_config
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.project import init_project

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def rows_of(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert all(isinstance(row, dict) for row in rows)
    return rows


def conforms(value: Any, column: ColumnSpec) -> bool:
    if value is None:
        return column.nullable
    if column.type in ("bigint", "integer"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif column.type == "double" or column.type.startswith("decimal"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and column.type.startswith("decimal"):
            ok = -Decimal(str(value)).as_tuple().exponent <= 2  # type: ignore[operator]
    elif column.type == "varchar":
        ok = isinstance(value, str) and (column.values is None or value in column.values)
    elif column.type == "timestamp":
        ok = isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    else:
        ok = False
    if ok and column.min is not None:
        ok = value >= column.min
    if ok and column.max is not None:
        ok = value <= column.max
    return ok


def test_init_writes_config_and_one_batch_per_table(tmp_path: Path) -> None:
    project = tmp_path / "new" / "pipeline"
    written = init_project(project, now=NOW)
    assert written == [
        project / "pipefix.yaml",
        project / "landing" / "orders" / "example-0001.jsonl",
        project / "landing" / "customers" / "example-0001.jsonl",
    ]
    assert all(path.is_file() for path in written)


def test_written_config_loads_into_the_described_contracts(tmp_path: Path) -> None:
    init_project(tmp_path, now=NOW)
    loaded = load_config(tmp_path / "pipefix.yaml")
    contracts = loaded.contracts()
    assert contracts["orders"] == Contract(
        "orders",
        1,
        (
            ColumnSpec("order_id", "bigint", nullable=False),
            ColumnSpec("customer_id", "bigint"),
            ColumnSpec("price_usd", "decimal(12,2)", min=0),
            ColumnSpec("status", "varchar", values=("new", "paid", "shipped")),
            ColumnSpec("created_at", "timestamp"),
        ),
        key="order_id",
        freshness_column="created_at",
        freshness_seconds=24 * 3600,
    )
    assert contracts["customers"] == Contract(
        "customers",
        1,
        (
            ColumnSpec("customer_id", "bigint", nullable=False),
            ColumnSpec("email", "varchar", nullable=False),
            ColumnSpec("country", "varchar"),
            ColumnSpec("signup_at", "timestamp"),
        ),
        key="customer_id",
    )
    target = loaded.warehouse()
    assert (target.kind, target.path) == ("duckdb", tmp_path.resolve() / "warehouse.duckdb")
    assert loaded.landing_dir() == tmp_path.resolve() / "landing"
    assert loaded.config.budget.max_fixes == 15
    policies = loaded.config.policies.model_dump()
    assert policies.pop("add_table") == "approve"  # a new table is a new commitment
    assert set(policies.values()) == {"auto"}


def test_example_batches_conform_to_their_contracts(tmp_path: Path) -> None:
    init_project(tmp_path, now=NOW)
    loaded = load_config(tmp_path / "pipefix.yaml")
    for table, contract in loaded.contracts().items():
        batches = sorted((loaded.landing_dir() / table).glob("*.jsonl"))
        assert len(batches) == 1
        rows = rows_of(batches[0])
        assert 5 <= len(rows) <= 8
        for row in rows:
            assert list(row) == list(contract.column_names), row
            for column in contract.columns:
                assert conforms(row[column.name], column), (table, column.name, row[column.name])
        if contract.key:
            keys = [row[contract.key] for row in rows]
            assert len(set(keys)) == len(keys)


def test_example_orders_refer_to_example_customers_and_are_fresh(tmp_path: Path) -> None:
    init_project(tmp_path, now=NOW)
    landing = tmp_path / "landing"
    customers = {row["customer_id"] for row in rows_of(landing / "customers" / "example-0001.jsonl")}
    orders = rows_of(landing / "orders" / "example-0001.jsonl")
    assert {row["customer_id"] for row in orders} <= customers
    newest = max(datetime.fromisoformat(row["created_at"]) for row in orders)
    assert NOW - timedelta(hours=24) < newest <= NOW
    assert {row["status"] for row in orders} == {"new", "paid", "shipped"}


def test_every_setting_is_explained_in_a_comment(tmp_path: Path) -> None:
    init_project(tmp_path, now=NOW)
    path = tmp_path / "pipefix.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    body = "\n".join(line.partition("#")[0] for line in lines)
    comments = "\n".join(line.partition("#")[2] for line in lines)
    tables = load_config(path).config.tables
    names = set(tables) | {column for table in tables.values() for column in table.columns}
    settings = set(re.findall(r"([a-z_]+):\s", body)) - names
    assert settings == {
        "warehouse",
        "landing",
        "tables",
        "key",
        "columns",
        "type",
        "nullable",
        "min",
        "values",
        "freshness",
        "policies",
        "add_column",
        "remove_column",
        "rename_column",
        "type_change",
        "budget",
        "max_fixes",
        "goal",
        "health",
        "error_rate",
    }
    commented_lines = "\n".join(line for line in lines if "#" in line)
    for setting in settings:
        named = re.search(rf"\b{setting}\b", comments)
        annotated = re.search(rf"^\s*{setting}:.*#", commented_lines, flags=re.MULTILINE)
        assert named or annotated, f"{setting} is not explained"


def test_init_refuses_to_overwrite_a_config(tmp_path: Path) -> None:
    config = tmp_path / "pipefix.yaml"
    config.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        init_project(tmp_path, now=NOW)
    assert str(info.value).startswith(f"{config}: already exists; pipefix init does not overwrite it")
    assert config.read_text(encoding="utf-8") == "# mine\n"
    assert not (tmp_path / "landing").exists()


def test_init_refuses_to_overwrite_a_batch_and_writes_nothing(tmp_path: Path) -> None:
    batch = tmp_path / "landing" / "customers" / "example-0001.jsonl"
    batch.parent.mkdir(parents=True)
    batch.write_text("{}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        init_project(tmp_path, now=NOW)
    assert str(info.value).startswith(f"{batch}: already exists")
    assert not (tmp_path / "pipefix.yaml").exists()
    assert batch.read_text(encoding="utf-8") == "{}\n"


def test_init_on_a_file_is_a_config_error(tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError):
        init_project(occupied, now=NOW)


def test_init_without_a_clock_stamps_rows_near_now(tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    init_project(tmp_path)
    orders = rows_of(tmp_path / "landing" / "orders" / "example-0001.jsonl")
    newest = max(datetime.fromisoformat(row["created_at"]) for row in orders)
    assert before - timedelta(hours=1) < newest <= datetime.now(UTC)
