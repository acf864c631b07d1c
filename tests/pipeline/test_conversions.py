"""Choosing a conversion from the held values, the drifts it makes, and the fixes they lead to:
an adapter transform per conversion, a variant column for the rest. Pure."""

from __future__ import annotations

import pytest

from pipefix.pipeline.contracts import Adapter, ColumnSpec, ColumnTransform, Contract, TransformKind
from pipefix.pipeline.conversions import (
    FROM_TEXT,
    VARIANT,
    HeldValues,
    candidates,
    choose,
    describe_hint,
    is_conversion,
    may_have_variant,
    swapped,
    transform_for,
    variants,
)
from pipefix.pipeline.drift import Drift, DriftKind, diff
from pipefix.pipeline.drift_diagnosis import with_conversions
from pipefix.pipeline.observed_types import ObservedField
from pipefix.pipeline.policy import adapter_fixes, migration_fixes
from pipefix.tools.adapter import plan_adapter
from pipefix.tools.schema_migration import plan_schema_migration
from tests.conftest import orders_contract

MDY, DMY = "format:%m/%d/%Y", "format:%d/%m/%Y"
DATES = candidates("date")


def test_candidates_by_column_type() -> None:
    assert candidates("bigint") == candidates("decimal(12,2)") == candidates("boolean") == (FROM_TEXT,)
    assert candidates("timestamp")[:3] == ("epoch_s", "epoch_ms", "epoch_us")
    assert "format:%a, %d %b %Y %H:%M:%S %z" in candidates("timestamp")
    assert MDY in DATES
    assert DMY in DATES
    assert candidates("varchar") == candidates("json") == ()


def test_day_and_month_swapped_are_twins() -> None:
    assert swapped("%m/%d/%Y %I:%M:%S %p") == "%d/%m/%Y %I:%M:%S %p"
    assert swapped("%d.%m.%Y") is None  # dotted dates are day-first only
    assert swapped("%a, %d %b %Y %H:%M:%S %z") is None


def test_a_day_above_12_decides_the_reading() -> None:
    both = ((MDY, DMY), 5, "01/02/2023")
    assert choose((both, ((DMY,), 1, "13/02/2023")), DATES).conversion == DMY
    assert choose((both, ((MDY,), 2, "02/13/2023")), DATES).conversion == MDY


def test_dates_no_value_decides_are_ambiguous() -> None:
    choice = choose((((MDY, DMY), 5, "01/02/2023"),), DATES)
    assert choice.conversion is None
    assert choice.ambiguity == (
        "ambiguous: '01/02/2023' reads as '%m/%d/%Y' or as '%d/%m/%Y', "
        "and no value has a day above 12 to decide"
    )


def test_dates_read_one_way_and_the_other_are_ambiguous() -> None:
    groups = (((MDY,), 3, "02/13/2023"), ((DMY,), 1, "13/02/2023"), ((MDY, DMY), 4, "01/02/2023"))
    choice = choose(groups, DATES)
    assert choice.conversion is None
    assert choice.ambiguity is not None
    assert "others only as '%d/%m/%Y' ('13/02/2023')" in choice.ambiguity


def test_the_conversion_reading_the_most_rows_is_chosen() -> None:
    groups = ((("epoch_ms",), 7, "1687184423123"), (("epoch_s",), 2, "1687184423"), ((), 1, "x"))
    assert choose(groups, candidates("timestamp")) == choose(groups[:1], candidates("timestamp"))
    assert choose(groups, candidates("timestamp")).rows == 7
    assert choose((((), 3, "x"),), (FROM_TEXT,)).conversion is None  # none reads anything


@pytest.mark.parametrize(
    ("hint", "transform"),
    [
        (FROM_TEXT, ColumnTransform("x", TransformKind.FROM_TEXT, "x")),
        ("epoch_s", ColumnTransform("x", TransformKind.EPOCH_S_TO_TIMESTAMP, "x")),
        ("epoch_us", ColumnTransform("x", TransformKind.EPOCH_US_TO_TIMESTAMP, "x")),
        (MDY, ColumnTransform("x", TransformKind.STRPTIME, "x", "%m/%d/%Y")),
    ],
)
def test_each_conversion_hint_is_an_adapter_transform(hint: str, transform: ColumnTransform) -> None:
    assert is_conversion(hint)
    assert transform_for("x", "x", hint) == transform


def test_neither_a_variant_nor_an_ambiguity_is_a_conversion() -> None:
    assert not is_conversion(VARIANT)
    assert not is_conversion("ambiguous: ...")
    assert not is_conversion(None)


def test_a_zone_less_format_says_its_values_are_stored_as_written() -> None:
    stamp = ColumnTransform("at", TransformKind.STRPTIME, "at", "%m/%d/%Y %I:%M:%S %p")
    assert stamp.describe() == "at <- strptime(at, '%m/%d/%Y %I:%M:%S %p'; no zone: stored as written)"
    zoned = ColumnTransform("at", TransformKind.STRPTIME, "at", "%a, %d %b %Y %H:%M:%S %z")
    assert zoned.describe() == "at <- strptime(at, '%a, %d %b %Y %H:%M:%S %z')"
    assert describe_hint(MDY) == "text written as '%m/%d/%Y'; no zone: stored as written"


ORDERS = orders_contract()


def held(column: str, *groups: tuple[tuple[str, ...], int, str], types: str = "VARCHAR") -> HeldValues:
    return HeldValues(column, frozenset(types.split()), groups)


def retyped(column: str, expected: str, rows: int, hint: str | None, observed: str = "varchar") -> Drift:
    return Drift(DriftKind.RETYPED, "orders", column, expected, observed, rows, hint)


def test_held_values_make_a_conversion_and_a_variant_for_the_rest() -> None:
    drifts = (retyped("price_usd", "decimal(12,2)", 10, None),)
    values = held("price_usd", ((FROM_TEXT,), 8, "403.00"), ((), 2, "403.005"))
    assert with_conversions(ORDERS, None, drifts, (values,)) == (
        retyped("price_usd", "decimal(12,2)", 8, FROM_TEXT),
        retyped("price_usd", "decimal(12,2)", 2, VARIANT),
    )


def test_a_timestamp_in_another_format_is_found_though_text_fits_its_column() -> None:
    values = held("created_at", (("format:%a, %d %b %Y %H:%M:%S %z",), 4, "Mon, 19 Jun 2023 14:20:23 -0400"))
    (drift,) = with_conversions(ORDERS, None, (), (values,))
    assert drift == retyped("created_at", "timestamp", 4, "format:%a, %d %b %Y %H:%M:%S %z")
    assert str(drift) == (
        "orders.created_at type changed timestamp -> varchar (4 rows, text written as "
        "'%a, %d %b %Y %H:%M:%S %z')"
    )


def test_an_ambiguous_column_gets_neither_a_conversion_nor_a_variant() -> None:
    contract = Contract("orders", 1, (*ORDERS.columns, ColumnSpec("day", "date")))
    (drift,) = with_conversions(contract, None, (), (held("day", ((MDY, DMY), 3, "01/02/2023")),))
    assert drift.hint is not None
    assert drift.hint.startswith("ambiguous:")
    assert not adapter_fixes(drift)
    assert not migration_fixes(drift)


def test_a_column_its_adapter_converts_gets_only_a_variant() -> None:
    adapter = Adapter("orders", 1, (ColumnTransform("price_usd", TransformKind.FROM_TEXT, "price_usd"),))
    values = held("price_usd", ((), 2, "403.005"))
    assert with_conversions(ORDERS, adapter, (), (values,)) == (
        retyped("price_usd", "decimal(12,2)", 2, VARIANT),
    )


def test_the_key_gets_no_variant_and_text_columns_are_left_alone() -> None:
    key = held("order_id", ((), 2, "x"))
    (drift,) = with_conversions(ORDERS, None, (retyped("order_id", "bigint", 2, None),), (key,))
    assert drift.hint is None
    assert not may_have_variant(ORDERS, "order_id")
    status = retyped("status", "varchar", 2, None, observed="bigint")
    assert with_conversions(ORDERS, None, (status,), (held("status", ((), 2, "5"), types="BIGINT"),)) == (
        status,
    )


def test_numbers_a_lossless_widening_takes_are_left_to_it() -> None:
    contract = Contract("orders", 1, (ColumnSpec("qty", "integer"),))
    widened = Drift(DriftKind.RETYPED, "orders", "qty", "integer", "bigint", 3)
    values = held("qty", ((), 3, "5000000000"), types="BIGINT")
    assert with_conversions(contract, None, (widened,), (values,)) == (widened,)


def seen(
    name: str, *types: str, low: float | None = None, high: float | None = None, decimals: int = 0
) -> ObservedField:
    return ObservedField(name, frozenset(types), 5, low, high, decimals)


@pytest.mark.parametrize(
    ("field", "hint"),
    [
        (seen("created_at", "DOUBLE", low=1687184423.5, high=1687184424.25, decimals=6), "epoch_s"),
        (seen("created_at", "UBIGINT", low=1687184423123, high=1687184423124), "epoch_ms"),
        (seen("created_at", "UBIGINT", low=1687184423123456, high=1687184423123457), "epoch_us"),
        (seen("created_at", "DOUBLE", low=1687184423.5, high=1687184424.25, decimals=7), None),
        (seen("created_at", "UBIGINT", low=1687184423, high=1687184423123), None),  # two units
        (seen("price_usd", "VARCHAR", low=1.0, high=403.0), FROM_TEXT),
        (seen("price_usd", "VARCHAR"), None),  # no string read as a number
    ],
)
def test_the_figures_suggest_a_conversion(field: ObservedField, hint: str | None) -> None:
    fields = {
        f.name: f
        for f in (seen("order_id", "BIGINT"), seen("status", "VARCHAR"), seen("price_usd", "DOUBLE"))
    }
    fields["created_at"] = seen("created_at", "VARCHAR")
    fields[field.name] = field
    (drift,) = diff(ORDERS, tuple(fields.values()), 5)
    assert drift.hint == hint


def test_plan_adapter_maps_each_conversion() -> None:
    drifts = (
        retyped("price_usd", "decimal(12,2)", 8, FROM_TEXT),
        retyped("price_usd", "decimal(12,2)", 2, VARIANT),
        retyped("created_at", "timestamp", 3, "epoch_s", observed="double"),
    )
    adapter = plan_adapter(ORDERS, drifts, None, 1)
    assert adapter == Adapter(
        "orders",
        1,
        (
            ColumnTransform("price_usd", TransformKind.FROM_TEXT, "price_usd"),
            ColumnTransform("created_at", TransformKind.EPOCH_S_TO_TIMESTAMP, "created_at"),
        ),
    )


def test_plan_schema_migration_adds_a_variant_and_drops_it_to_undo() -> None:
    plan = plan_schema_migration(ORDERS, (retyped("price_usd", "decimal(12,2)", 2, VARIANT),), 2)
    assert plan.statements == ('ALTER TABLE "orders" ADD COLUMN "price_usd__varchar" VARCHAR',)
    assert plan.inverse == ('ALTER TABLE "orders" DROP COLUMN "price_usd__varchar"',)
    assert plan.changes == (
        "add variant price_usd__varchar varchar: the values of price_usd no conversion keeps, as sent "
        "(price_usd is NULL on their rows, required unless price_usd__varchar holds its value)",
    )
    assert variants(plan.new_contract) == {"price_usd": "price_usd__varchar"}
    again = plan_schema_migration(plan.new_contract, (retyped("price_usd", "decimal(12,2)", 2, VARIANT),), 3)
    assert again.is_empty
