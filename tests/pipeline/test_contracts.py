"""Contracts: type validation, decimal scales, versions and adapters."""

from __future__ import annotations

import pytest

from pipefix.pipeline.contracts import (
    SIMPLE_TYPES,
    Adapter,
    ColumnSpec,
    ColumnTransform,
    TransformKind,
    decimal_scale,
    is_valid_type,
)
from tests.conftest import orders_contract


@pytest.mark.parametrize(
    "logical", [*sorted(SIMPLE_TYPES), "decimal(12,2)", "decimal(18, 6)", "decimal(38,0)"]
)
def test_valid_types_are_accepted(logical: str) -> None:
    assert is_valid_type(logical)
    assert ColumnSpec("c", logical).type == logical


@pytest.mark.parametrize(
    "logical",
    [
        "",
        "text",
        "int",
        "BIGINT",
        "DECIMAL(12,2)",
        "decimal",
        "decimal(12)",
        "decimal(a,b)",
        "decimal(12,2) x",
    ],
)
def test_invalid_types_are_rejected(logical: str) -> None:
    assert not is_valid_type(logical)
    with pytest.raises(ValueError, match=r"column 'price': unknown type"):
        ColumnSpec("price", logical)


@pytest.mark.parametrize("logical", ["decimal(2,5)", "decimal(39,2)", "decimal(0,0)"])
def test_impossible_decimals_are_rejected(logical: str) -> None:
    # DuckDB: "scale cannot be greater than width", "width must be between 1 and 38".
    assert not is_valid_type(logical)


@pytest.mark.parametrize(
    ("logical", "scale"),
    [("decimal(12,2)", (12, 2)), ("decimal(18, 6)", (18, 6)), ("decimal(38,0)", (38, 0))],
)
def test_decimal_scale_reads_precision_and_scale(logical: str, scale: tuple[int, int]) -> None:
    assert decimal_scale(logical) == scale


@pytest.mark.parametrize("logical", ["bigint", "double", "decimal", "DECIMAL(12,2)"])
def test_decimal_scale_is_none_for_other_types(logical: str) -> None:
    assert decimal_scale(logical) is None


def test_next_version_bumps_the_version_and_keeps_everything_else() -> None:
    contract = orders_contract()
    columns = (*contract.columns, ColumnSpec("currency_code", "varchar"))
    following = contract.next_version(columns)
    assert following.version == contract.version + 1
    assert following.label == "v2.0"
    assert following.columns == columns
    assert (following.table, following.key, following.freshness_column, following.freshness_seconds) == (
        contract.table,
        contract.key,
        contract.freshness_column,
        contract.freshness_seconds,
    )
    assert contract.version == 1


def test_column_lookup() -> None:
    contract = orders_contract()
    assert contract.column_names == ("order_id", "price_usd", "status", "created_at")
    price = contract.column("price_usd")
    assert price is not None
    assert price.type == "decimal(12,2)"
    assert contract.column("price") is None


def test_an_adapter_knows_its_transforms_and_the_fields_it_reads() -> None:
    rename = ColumnTransform("price_usd", TransformKind.RENAME, "price")
    epoch = ColumnTransform("created_at", TransformKind.EPOCH_MS_TO_TIMESTAMP, "created_ms")
    adapter = Adapter("orders", 2, (rename, epoch))
    assert adapter.transform_for("price_usd") == rename
    assert adapter.transform_for("status") is None
    assert adapter.consumed_fields == frozenset({"price", "created_ms"})
    assert rename.describe() == "price_usd <- price"
    assert epoch.describe() == "created_at <- epoch_ms_to_timestamp(created_ms)"
    assert Adapter("orders", 1).consumed_fields == frozenset()
