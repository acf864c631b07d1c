"""diff(): added, removed and retyped columns between a contract and the fields observed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.pipeline.contracts import (
    Adapter,
    ColumnSpec,
    ColumnTransform,
    Contract,
    TransformKind,
    is_lossless_widening,
)
from pipefix.pipeline.drift import Drift, DriftKind, diff
from pipefix.pipeline.observed_types import EPOCH_MS_RANGE, ObservedField, fits, logical_type_of, widened_type
from tests.conftest import orders_contract
from tests.tiers import examples

ROWS = 10
EPOCH_MS_2026 = 1_793_491_200_000  # 2026-11-01 in epoch milliseconds


def seen(
    name: str,
    *types: str,
    rows: int = ROWS,
    min_number: float | None = None,
    max_number: float | None = None,
    max_decimals: int = 0,
    **figures: Any,
) -> ObservedField:
    return ObservedField(name, frozenset(types), rows, min_number, max_number, max_decimals, **figures)


def v1_fields(rows: int = ROWS) -> list[ObservedField]:
    """Fields of records that match orders_contract() exactly."""
    return [
        seen("order_id", "BIGINT", rows=rows),
        seen("price_usd", "DOUBLE", rows=rows, max_decimals=2),
        seen("status", "VARCHAR", rows=rows),
        seen("created_at", "VARCHAR", rows=rows),
    ]


def replace_field(fields: list[ObservedField], new: ObservedField) -> tuple[ObservedField, ...]:
    return tuple(new if f.name == new.name else f for f in fields)


def test_records_matching_the_contract_show_no_drift() -> None:
    assert diff(orders_contract(), tuple(v1_fields()), ROWS) == ()


def test_no_rows_means_no_drift_whatever_is_observed() -> None:
    assert diff(orders_contract(), (), 0) == ()
    assert diff(orders_contract(), (seen("surprise", "OBJECT"),), 0) == ()


def test_an_added_two_decimal_number_is_inferred_as_decimal_18_2() -> None:
    fields = (*v1_fields(), seen("discount", "DOUBLE", "BIGINT", rows=7, max_decimals=2))
    assert diff(orders_contract(), fields, ROWS) == (
        Drift(DriftKind.ADDED, "orders", "discount", observed="decimal(18,2)", rows=7),
    )


def test_an_added_string_column() -> None:
    (drift,) = diff(orders_contract(), (*v1_fields(), seen("currency_code", "VARCHAR")), ROWS)
    assert (drift.kind, drift.column, drift.observed, drift.rows) == (
        DriftKind.ADDED,
        "currency_code",
        "varchar",
        ROWS,
    )
    assert str(drift) == "orders.currency_code added (varchar, 10 rows)"


@pytest.mark.parametrize(
    ("types", "figures", "expected"),
    [
        ({"BIGINT"}, {}, "bigint"),
        ({"UBIGINT", "BIGINT", "NULL"}, {}, "bigint"),
        ({"UBIGINT"}, {"max_digits": 20, "past_bigint": True}, "decimal(38,0)"),
        ({"DOUBLE"}, {"max_decimals": 1}, "decimal(18,1)"),
        ({"DOUBLE", "BIGINT"}, {"max_decimals": 6, "max_digits": 12}, "decimal(18,6)"),
        ({"DOUBLE"}, {"max_decimals": 7}, "decimal(18,7)"),  # more than a double keeps: exact
        ({"DOUBLE"}, {"max_decimals": 20}, "decimal(38,20)"),
        ({"DOUBLE"}, {"max_digits": 24, "past_bigint": True}, "decimal(38,0)"),
        ({"DOUBLE"}, {"max_digits": 30, "max_decimals": 9}, "double"),  # 39 digits: no decimal
        ({"BOOLEAN"}, {}, "boolean"),
        ({"VARCHAR", "NULL"}, {}, "varchar"),
        ({"VARCHAR"}, {"text_kinds": frozenset({"timestamptz"})}, "timestamptz"),
        ({"VARCHAR"}, {"text_kinds": frozenset({"timestamptz", "timestamp"})}, "timestamptz"),
        ({"VARCHAR"}, {"text_kinds": frozenset({"timestamptz", "text"})}, "varchar"),
        ({"VARCHAR"}, {"text_kinds": frozenset({"timestamp"})}, "varchar"),
        ({"NULL"}, {}, "varchar"),
        ({"OBJECT"}, {}, "json"),
        ({"VARCHAR", "BIGINT"}, {}, "json"),
    ],
)
def test_logical_type_of_picks_the_narrowest_exact_type(
    types: set[str], figures: dict[str, Any], expected: str
) -> None:
    assert logical_type_of(frozenset(types), **figures) == expected


@pytest.mark.parametrize(
    ("expected", "field", "widened"),
    [
        # 1.0 typed a column decimal(18,1); 12345.678 needs 3 decimals: 17 digits before stay.
        (
            "decimal(18,1)",
            seen("x", "DOUBLE", max_decimals=3, exact_decimals=3, max_digits=5),
            "decimal(20,3)",
        ),
        ("decimal(12,2)", seen("x", "DOUBLE", max_decimals=3, exact_decimals=3), "decimal(18,3)"),
        ("decimal(12,2)", seen("x", "UBIGINT", max_digits=14), "decimal(18,2)"),
        ("decimal(38,2)", seen("x", "DOUBLE", max_decimals=3, exact_decimals=3), None),  # 39 digits
        ("decimal(12,2)", seen("x", "DOUBLE", "VARCHAR", max_decimals=3, exact_decimals=3), None),
        ("integer", seen("x", "BIGINT", min_number=1, max_number=5e9, max_digits=10), "bigint"),
        ("integer", seen("x", "UBIGINT", max_digits=20, past_bigint=True), "decimal(38,0)"),
        ("bigint", seen("x", "UBIGINT", max_digits=19, past_bigint=True), "decimal(38,0)"),
        ("bigint", seen("x", "DOUBLE", max_digits=25, past_bigint=True), "decimal(38,0)"),
        ("integer", seen("x", "DOUBLE", "BIGINT", max_decimals=1, exact_decimals=1), "decimal(18,1)"),
        ("bigint", seen("x", "DOUBLE", max_decimals=2, exact_decimals=2), "decimal(21,2)"),
        ("integer", seen("x", "BIGINT", min_number=1, max_number=7), None),
        ("timestamp", seen("x", "UBIGINT", max_digits=13), None),
    ],
)
def test_numbers_past_a_numeric_column_widen_it_without_loss(
    expected: str, field: ObservedField, widened: str | None
) -> None:
    assert widened_type(expected, field) == widened
    if widened is not None:
        assert is_lossless_widening(expected, widened)


def test_a_decimal_column_receiving_more_digits_is_retyped_to_the_wider_decimal() -> None:
    contract = Contract("t", 1, (ColumnSpec("id", "bigint", False), ColumnSpec("x", "decimal(18,1)")))
    fields = (
        seen("id", "UBIGINT"),
        seen("x", "DOUBLE", "UBIGINT", max_decimals=3, exact_decimals=3, max_digits=5),
    )
    assert diff(contract, fields, ROWS) == (
        Drift(DriftKind.RETYPED, "t", "x", expected="decimal(18,1)", observed="decimal(20,3)", rows=ROWS),
    )
    # Zeros after the point (1.50 in decimal(18,1)) change nothing: the value is held exactly.
    trailing = seen("x", "DOUBLE", max_decimals=2, exact_decimals=1, max_digits=5)
    assert diff(contract, (seen("id", "UBIGINT"), trailing), ROWS) == ()


def test_added_fields_whose_names_cannot_be_columns_get_plain_columns_read_from_them() -> None:
    contract = Contract("t", 1, (ColumnSpec("id", "bigint", False), ColumnSpec("group", "varchar")))
    fields = (
        seen("id", "UBIGINT"),
        seen("group", "VARCHAR"),
        seen("Group", "VARCHAR"),  # one column to the warehouse, ignoring case: not `Group`
        seen("Height(inches)", "DOUBLE", max_decimals=2, max_digits=2),
        seen("size", "VARCHAR"),
        seen("Size", "VARCHAR"),
    )
    drifts = diff(contract, fields, ROWS)
    assert [(d.column, d.source, d.observed) for d in drifts] == [
        ("group_2", "Group", "varchar"),
        ("height_inches", "Height(inches)", "decimal(18,2)"),
        ("size", None, "varchar"),
        ("size_2", "Size", "varchar"),
    ]
    assert str(drifts[1]) == 't.height_inches (sent as "Height(inches)") added (decimal(18,2), 10 rows)'
    # The same names in another order, or alone, map the same way.
    assert set(diff(contract, tuple(reversed(fields)), ROWS)) == set(drifts)
    again = diff(contract, (*fields[:2], fields[5], fields[4]), ROWS)
    assert sorted((d.column, d.field) for d in again) == [("size", "size"), ("size_2", "Size")]


def test_added_iso_timestamps_with_offsets_are_timestamptz() -> None:
    stamps = seen("paid_at", "VARCHAR", text_kinds=frozenset({"timestamptz"}))
    (drift,) = diff(orders_contract(), (*v1_fields(), stamps), ROWS)
    assert (drift.kind, drift.column, drift.observed) == (DriftKind.ADDED, "paid_at", "timestamptz")


def test_an_added_number_no_decimal_holds_is_not_typed() -> None:
    huge = seen("reading", "DOUBLE", max_decimals=400, exact_decimals=400)
    (drift,) = diff(orders_contract(), (*v1_fields(), huge), ROWS)
    assert drift.observed is None
    assert "no column type holds its values exactly" in str(drift)


@pytest.mark.parametrize(
    ("logical", "types", "expected"),
    [
        ("bigint", {"BIGINT", "NULL"}, True),
        ("bigint", {"DOUBLE"}, False),
        ("double", {"BIGINT", "DOUBLE"}, True),
        ("decimal(12,2)", {"DOUBLE", "BIGINT"}, True),
        ("decimal(12,2)", {"VARCHAR"}, False),
        ("timestamp", {"VARCHAR"}, True),
        ("timestamp", {"BIGINT"}, False),
        ("json", {"OBJECT", "ARRAY"}, True),
    ],
)
def test_fits(logical: str, types: set[str], expected: bool) -> None:
    assert fits(logical, frozenset(types)) is expected


def test_a_required_column_missing_from_every_record_is_removed() -> None:
    fields = [f for f in v1_fields() if f.name != "status"]
    assert diff(orders_contract(), tuple(fields), ROWS) == (
        Drift(DriftKind.REMOVED, "orders", "status", rows=ROWS),
    )


def test_a_required_column_missing_from_some_records_counts_those_records() -> None:
    fields = replace_field(v1_fields(), seen("status", "VARCHAR", rows=6))
    (drift,) = diff(orders_contract(), fields, ROWS)
    assert (drift.kind, drift.column, drift.rows) == (DriftKind.REMOVED, "status", 4)


def test_a_missing_nullable_column_is_not_drift() -> None:
    contract = Contract("orders", 1, (*orders_contract().columns, ColumnSpec("note", "varchar")))
    assert diff(contract, tuple(v1_fields()), ROWS) == ()
    partly = (*v1_fields(), seen("note", "VARCHAR", rows=3))
    assert diff(contract, partly, ROWS) == ()


def test_epoch_milliseconds_in_a_timestamp_column_are_hinted() -> None:
    retyped = seen("created_at", "BIGINT", min_number=EPOCH_MS_2026, max_number=EPOCH_MS_2026 + 60_000)
    (drift,) = diff(orders_contract(), replace_field(v1_fields(), retyped), ROWS)
    assert drift == Drift(DriftKind.RETYPED, "orders", "created_at", "timestamp", "bigint", ROWS, "epoch_ms")
    assert "looks like epoch_ms" in str(drift)


@pytest.mark.parametrize(
    ("low", "high", "hinted"),
    [
        (EPOCH_MS_RANGE[0], EPOCH_MS_RANGE[1], True),
        (EPOCH_MS_RANGE[0] - 1, EPOCH_MS_2026, False),
        (EPOCH_MS_2026, EPOCH_MS_RANGE[1] + 1, False),
        (1_793_491_200, 1_793_491_260, False),  # epoch seconds, not milliseconds
    ],
)
def test_the_epoch_ms_hint_needs_every_integer_in_range(low: int, high: int, hinted: bool) -> None:
    retyped = seen("created_at", "BIGINT", min_number=low, max_number=high)
    (drift,) = diff(orders_contract(), replace_field(v1_fields(), retyped), ROWS)
    assert drift.kind is DriftKind.RETYPED
    assert (drift.hint == "epoch_ms") is hinted


def test_no_epoch_ms_hint_without_a_numeric_range() -> None:
    retyped = seen("created_at", "BIGINT")
    (drift,) = diff(orders_contract(), replace_field(v1_fields(), retyped), ROWS)
    assert drift.kind is DriftKind.RETYPED
    assert drift.hint is None


def test_epoch_ms_integers_in_a_non_timestamp_column_are_not_hinted() -> None:
    retyped = seen("status", "BIGINT", min_number=EPOCH_MS_2026, max_number=EPOCH_MS_2026)
    (drift,) = diff(orders_contract(), replace_field(v1_fields(), retyped), ROWS)
    assert (drift.kind, drift.column, drift.expected, drift.observed) == (
        DriftKind.RETYPED,
        "status",
        "varchar",
        "bigint",
    )
    assert drift.hint is None


def test_a_number_sent_as_text_is_retyped() -> None:
    (drift,) = diff(orders_contract(), replace_field(v1_fields(), seen("order_id", "VARCHAR")), ROWS)
    assert (drift.kind, drift.column, drift.expected, drift.observed) == (
        DriftKind.RETYPED,
        "order_id",
        "bigint",
        "varchar",
    )
    assert str(drift) == "orders.order_id type changed bigint -> varchar (10 rows)"


def test_a_rename_without_an_adapter_is_a_removal_and_an_addition() -> None:
    fields = [f for f in v1_fields() if f.name != "price_usd"] + [seen("price", "DOUBLE", max_decimals=2)]
    drifts = diff(orders_contract(), tuple(fields), ROWS)
    assert {(d.kind, d.column) for d in drifts} == {
        (DriftKind.REMOVED, "price_usd"),
        (DriftKind.ADDED, "price"),
    }


def test_fields_an_adapter_consumes_are_neither_added_nor_retyped() -> None:
    adapter = Adapter(
        "orders",
        2,
        (
            ColumnTransform("price_usd", TransformKind.RENAME, "price"),
            ColumnTransform("created_at", TransformKind.EPOCH_MS_TO_TIMESTAMP, "created_ms"),
        ),
    )
    fields = (
        seen("order_id", "BIGINT"),
        seen("price", "DOUBLE", max_decimals=2),
        seen("status", "VARCHAR"),
        seen("created_ms", "BIGINT", min_number=EPOCH_MS_2026, max_number=EPOCH_MS_2026),
    )
    assert diff(orders_contract(), fields, ROWS, adapter) == ()
    # the adapter's source field is what must be present: without it the column is removed
    without_source = tuple(f for f in fields if f.name != "price")
    assert diff(orders_contract(), without_source, ROWS, adapter) == (
        Drift(DriftKind.REMOVED, "orders", "price_usd", rows=ROWS),
    )


def test_an_adapter_does_not_hide_genuinely_new_fields() -> None:
    adapter = Adapter("orders", 2, (ColumnTransform("price_usd", TransformKind.RENAME, "price"),))
    fields = [f for f in v1_fields() if f.name != "price_usd"]
    fields += [seen("price", "DOUBLE", max_decimals=2), seen("currency_code", "VARCHAR")]
    (drift,) = diff(orders_contract(), tuple(fields), ROWS, adapter)
    assert (drift.kind, drift.column) == (DriftKind.ADDED, "currency_code")


def test_a_retyped_field_missing_from_some_records_is_still_retyped() -> None:
    # Seen for real: load_batch of 10 records, 5 with "note": 123 and 5 without it, quarantines
    # the 5 as schema ("note: expected varchar, got UBIGINT") yet reports the batch's drift as ().
    contract = Contract("orders", 1, (*orders_contract().columns, ColumnSpec("note", "varchar")))
    fields = (*v1_fields(), seen("note", "BIGINT", rows=5))
    drifts = diff(contract, fields, ROWS)
    assert [(d.kind, d.column) for d in drifts] == [(DriftKind.RETYPED, "note")]


# JSON types that each logical type accepts, for building records that match a contract.
MATCHING: dict[str, list[frozenset[str]]] = {
    "bigint": [frozenset({"BIGINT"}), frozenset({"BIGINT", "UBIGINT", "NULL"})],
    "integer": [frozenset({"BIGINT"})],
    "double": [frozenset({"DOUBLE"}), frozenset({"BIGINT", "DOUBLE"})],
    "varchar": [frozenset({"VARCHAR"}), frozenset({"VARCHAR", "NULL"})],
    "boolean": [frozenset({"BOOLEAN"})],
    "timestamp": [frozenset({"VARCHAR"})],
    "date": [frozenset({"VARCHAR"}), frozenset({"VARCHAR", "NULL"})],
    "json": [frozenset({"OBJECT"}), frozenset({"ARRAY", "BIGINT"})],
    "decimal(12,2)": [frozenset({"DOUBLE", "BIGINT"})],
    "decimal(38,0)": [frozenset({"BIGINT"})],
}


@st.composite
def contract_and_matching_fields(draw: st.DrawFn) -> tuple[Contract, tuple[ObservedField, ...], int]:
    names = draw(st.lists(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), min_size=1, max_size=6, unique=True))
    rows = draw(st.integers(1, 1000))
    columns = []
    fields = []
    for name in names:
        logical = draw(st.sampled_from(sorted(MATCHING)))
        nullable = draw(st.booleans())
        columns.append(ColumnSpec(name, logical, nullable=nullable))
        # A null in a required column does not match: the loader holds that row as "missing".
        json_types = draw(st.sampled_from([t for t in MATCHING[logical] if nullable or "NULL" not in t]))
        # An `integer` column holds 32-bit values; bigger ones are a (lossless) widening, i.e. drift.
        top = 2**31 - 1 if logical == "integer" else 2 * EPOCH_MS_RANGE[1]
        numbers = draw(st.one_of(st.none(), st.integers(0, top)))
        fields.append(
            ObservedField(
                name,
                json_types,
                rows,
                min_number=numbers,
                max_number=numbers,
                max_decimals=draw(st.integers(0, 8)),
            )
        )
    order = draw(st.permutations(fields))
    return Contract("t", 1, tuple(columns)), tuple(order), rows


@settings(max_examples=examples(200), deadline=None)
@given(case=contract_and_matching_fields())
def test_fields_matching_a_contract_exactly_never_drift(
    case: tuple[Contract, tuple[ObservedField, ...], int],
) -> None:
    contract, fields, rows = case
    assert diff(contract, fields, rows) == ()
