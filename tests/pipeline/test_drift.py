"""diff(): added, removed and retyped columns between a contract and the fields observed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.pipeline.contracts import Adapter, ColumnSpec, ColumnTransform, Contract, TransformKind
from pipefix.pipeline.drift import (
    EPOCH_MS_RANGE,
    Drift,
    DriftKind,
    ObservedField,
    diff,
    fits,
    logical_type_of,
)
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
) -> ObservedField:
    return ObservedField(name, frozenset(types), rows, min_number, max_number, max_decimals)


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
    ("types", "decimals", "expected"),
    [
        ({"BIGINT"}, 0, "bigint"),
        ({"UBIGINT", "BIGINT", "NULL"}, 0, "bigint"),
        ({"DOUBLE"}, 1, "decimal(18,1)"),
        ({"DOUBLE", "BIGINT"}, 6, "decimal(18,6)"),
        ({"DOUBLE"}, 7, "double"),
        ({"DOUBLE"}, 0, "double"),
        ({"BOOLEAN"}, 0, "boolean"),
        ({"VARCHAR", "NULL"}, 0, "varchar"),
        ({"NULL"}, 0, "varchar"),
        ({"OBJECT"}, 0, "json"),
        ({"VARCHAR", "BIGINT"}, 0, "json"),
    ],
)
def test_logical_type_of_picks_the_narrowest_exact_type(
    types: set[str], decimals: int, expected: str
) -> None:
    assert logical_type_of(frozenset(types), decimals) == expected


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
