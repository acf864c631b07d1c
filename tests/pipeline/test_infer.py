"""Inference from sample records, pure: each value's kind read from its text, types widened over
a field's values, and the guesses kept conservative (keys, allowed values, names)."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.pipeline.contracts import ColumnSpec, is_usable_column_name, is_valid_type
from pipefix.pipeline.field_profiles import Sample, profile_fields
from pipefix.pipeline.infer import TableGuess, column_names, infer_table, logical_type, relax
from pipefix.pipeline.sample_values import Number, parse_record, read_number, read_value
from tests.tiers import examples

PROPERTY = settings(max_examples=examples(200), deadline=None)


def guess(
    records: Sequence[Mapping[str, Any] | str], textual: bool = False, table: str = "orders"
) -> TableGuess:
    parsed = [parse_record(r if isinstance(r, str) else json.dumps(r)) for r in records]
    assert all(p is not None for p in parsed)
    return infer_table(table, profile_fields(Sample(p, textual) for p in parsed if p is not None))


def column(table: TableGuess, name: str) -> ColumnSpec:
    found = table.column(name)
    assert found is not None
    return found.spec


def test_numbers_keep_the_digits_sent() -> None:
    record = parse_record('{"a": 0.3000000000000000000001, "b": 12.50, "c": 1e5, "d": 18446744073709551616}')
    assert record == {
        "a": Number("0.3000000000000000000001"),
        "b": Number("12.50"),
        "c": Number("1e5"),
        "d": Number("18446744073709551616"),
    }
    found = guess(['{"a": 0.3000000000000000000001, "b": 12.50, "c": 1e5, "d": 18446744073709551616}'])
    assert column(found, "a").type == "decimal(38,22)"  # 23 digits: past a double's 17
    assert column(found, "b").type == "decimal(18,2)"  # the trailing zero counts: cents
    assert column(found, "c").type == "decimal(18,0)"  # 100000, sent with an exponent
    assert column(found, "d").type == "decimal(38,0)"  # past int64


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, -(2**31)], "integer"),
        ([1, 2**31 - 1], "integer"),
        ([1, 2**31], "bigint"),
        ([-(2**63), 2**63 - 1], "bigint"),
        ([2**63], "decimal(38,0)"),
        ([10**40], "double"),
        ([1, "1.25"], "decimal(18,2)"),
        (["1.5e-40"], "double"),
    ],
)
def test_integer_widths_and_decimals(values: list[Any], expected: str) -> None:
    lines = [f'{{"x": {v}}}' for v in values]
    assert column(guess(lines), "x").type == expected


@PROPERTY
@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=0, max_value=12))
def test_digits_and_scale_are_counted_on_the_text(whole: int, scale: int) -> None:
    text = f"{whole}.{'7' * scale}" if scale else str(whole)
    reading = read_number(text)
    assert reading is not None
    if scale == 0:
        assert (reading.kind, reading.integer) == ("integer", whole)
    else:
        assert reading.kind == "decimal"
        assert reading.scale == scale
        assert reading.digits == (len(str(abs(whole))) if whole else 0)
        assert Decimal(text).as_tuple().exponent == -scale


@pytest.mark.parametrize(
    ("texts", "expected", "said"),
    [
        (["2019-05-15T15:20:18Z", "2019-05-15T15:20:27Z"], "timestamptz", "in UTC: exact instants"),
        (["2013-07-03T19:00:00-04:00"], "timestamptz", "offsets (-04:00): exact instants"),
        (["2026-11-20 11:00:00"], "timestamp", "without an offset"),
        (["2026-11-20 11:00:00", "2026-11-20T11:00:00+01:00"], "timestamptz", "those without an offset"),
        (["2019-11-01", "2019-12-12"], "date", "dates"),
        (["2019-11-01", "2019-11-01T10:00:00Z"], "timestamptz", ""),
        (["2019-02-30"], "varchar", "text"),  # no such day
        (["2019-05-15T15:20:33.123456789Z"], "varchar", "text"),  # nanoseconds would be cut
        (["2019-05-15T25:00:00Z"], "varchar", "text"),
        (["43.12", "41.90"], "varchar", "text"),  # a quoted number is text in JSON
    ],
)
def test_time_and_text(texts: list[str], expected: str, said: str) -> None:
    found = guess([{"t": t} for t in texts]).column("t")
    assert found is not None
    assert found.spec.type == expected
    assert said in found.note


def test_csv_text_reads_numbers_and_booleans_with_spaces_around() -> None:
    assert read_value(" 65.78", textual=True) == read_number("65.78")
    assert read_value(" TRUE ", textual=True) is not None
    sent_as_json = read_value(" 65.78", textual=False)
    assert sent_as_json is not None
    assert sent_as_json.kind == "text"
    found = guess([{"h": " 65.78", "n": "01234", "z": " 12"}, {"h": "7", "n": "x", "z": "abc"}], textual=True)
    assert column(found, "h").type == "decimal(18,2)"
    assert column(found, "n").type == "varchar"  # 01234 is no number: its zero would be lost
    assert column(found, "z").type == "varchar"  # CSV numbers and words: all text


def test_nested_mixed_and_never_filled() -> None:
    found = guess([{"o": {"a": 1}, "m": 1, "n": None}, {"o": [1, 2], "m": "one", "n": None}])
    assert column(found, "o").type == "json"
    assert column(found, "m").type == "json"  # a number and a string: json keeps each as sent
    assert column(found, "n").type == "json"
    assert column(found, "n").nullable


def test_nullable_when_null_or_missing() -> None:
    found = guess([{"a": 1, "b": 1, "c": 1}, {"a": 2, "b": None}])
    assert [column(found, n).nullable for n in "abc"] == [False, True, True]
    note = found.column("c")
    assert note is not None
    assert "1 of 2 samples" in note.note
    assert "1 missing" in note.note


def test_key_candidate_is_unique_and_never_null() -> None:
    rows = [{"order_id": i, "id": f"o-{i}", "customer_id": i % 2} for i in range(5)]
    found = guess(rows)
    assert found.key == "id"  # `id` first, then `<table>_id`
    assert "candidate" in found.key_note
    assert guess([{k: v for k, v in r.items() if k != "id"} for r in rows]).key == "order_id"
    assert guess([{"customer_id": i % 2} for i in range(5)]).key is None  # repeats
    assert guess([{"order_id": 1}]).key is None  # one sample proves nothing
    assert guess([{"order_id": i if i else None} for i in range(5)]).key is None
    assert guess([{"amount_id": i + 0.5} for i in range(5)]).key is None  # a decimal is no key


def test_allowed_values_need_many_repeats_of_few_strings() -> None:
    few = [{"status": s} for s in ("new", "paid", "shipped")]
    assert column(guess(few), "status").values is None  # three rows: a guess
    many = [{"status": ("new", "paid", "shipped")[i % 3]} for i in range(30)]
    found = guess(many)
    assert column(found, "status").values == ("new", "paid", "shipped")
    status = found.column("status")
    assert status is not None
    assert "3 distinct (new 10, paid 10, shipped 10)" in status.note
    one_off = [*many[:-1], {"status": "refunded"}]
    assert column(guess(one_off), "status").values is None  # a value seen once: no list
    wide = [{"city": f"c{i % 12}"} for i in range(60)]
    assert column(guess(wide), "city").values is None


def test_freshness_is_suggested_on_a_creation_time() -> None:
    found = guess([{"updated_at": "2019-05-15T15:20:18Z", "created_at": "2019-05-15T15:20:17Z"}])
    assert found.freshness == "created_at"
    assert "move created_at above it" in found.freshness_note
    assert guess([{"shipped_at": "2019-05-15T15:20:18Z"}]).freshness is None


def test_odd_field_names_get_plain_columns_read_from_them() -> None:
    names = column_names(
        ["Index", ' Height(Inches)"', ' "Weight(Pounds)"', "+1", "-1", "id", "ID", "pipefix_x", ""]
    )
    assert names == {
        "Index": "Index",
        ' Height(Inches)"': "height_inches",
        ' "Weight(Pounds)"': "weight_pounds",
        "+1": "plus_1",
        "-1": "minus_1",
        "id": "id",
        "ID": "id_2",
        "pipefix_x": "field_pipefix_x",
        "": "field",
    }
    found = guess(['{"+1": 0, "a b": "x"}'])
    plus = found.column("plus_1")
    assert plus is not None
    assert plus.source == "+1"
    assert "not a usable column name" in plus.note


@PROPERTY
@given(st.lists(st.text(string.printable + "éß€", max_size=70), max_size=12))
def test_column_names_are_usable_and_distinct_ignoring_case(fields: list[str]) -> None:
    unique = list(dict.fromkeys(fields))
    names = column_names(unique)
    assert all(is_usable_column_name(name) for name in names.values())
    lowered = [name.lower() for name in names.values()]
    assert len(lowered) == len(set(lowered))
    kept: set[str] = set()
    for field in unique:  # a usable name is kept, unless an earlier field has it (ignoring case)
        if is_usable_column_name(field) and field.lower() not in kept:
            assert names[field] == field
            kept.add(field.lower())


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9)
    | st.sampled_from(["2019-05-15T15:20:18Z", "2013-07-03T19:00:00-04:00", "2019-11-01", "x", ""]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


@PROPERTY
@given(st.lists(JSON_VALUES, min_size=1, max_size=8))
def test_every_type_guessed_is_a_contract_type(values: list[Any]) -> None:
    def text(value: Any) -> str:  # a decimal as a JSON number, with the digits drawn
        return str(value) if isinstance(value, Decimal) else json.dumps(value, default=str)

    records = [parse_record(f'{{"v": {text(v)}}}') for v in values]
    assert all(r is not None for r in records)
    profile = profile_fields(Sample(r) for r in records if r is not None)
    assert all(is_valid_type(logical_type(p)[0]) for p in profile)


def test_relax_loosens_only_what_the_samples_refused() -> None:
    found = guess([{"id": i, "status": ("a", "b")[i % 2], "at": "2019-11-01"} for i in range(40)])
    assert found.key == "id"
    loosened = relax(
        found,
        {
            "id: duplicate key": 1,
            "status: value not allowed: c": 2,
            "at: expected date, got VARCHAR 2019-11-01x": 1,
            "malformed JSON record": 3,
        },
    )
    assert loosened.key is None
    assert column(loosened, "status").values is None
    assert column(loosened, "status").type == "varchar"
    assert column(loosened, "at").type == "json"
    assert column(loosened, "id") == column(found, "id")
    assert relax(found, {}) == found
