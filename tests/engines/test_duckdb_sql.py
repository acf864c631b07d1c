"""The pure SQL builders: exact text, then run on a real DuckDB file to check what it does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.engines import replays
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.sql import records, staging, verdicts
from pipefix.engines.sql.dialects import DUCKDB
from pipefix.engines.sql.migration import CreateTable
from pipefix.engines.types import physical_type
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.pipeline.observed_types import ObservedField
from tests.conftest import orders_contract
from tests.tiers import examples

ODD = Contract(
    "odd table",
    1,
    (
        ColumnSpec("order id", "bigint", nullable=False),
        ColumnSpec("select", "varchar"),
        ColumnSpec('we"ird', "double"),
    ),
    key="order id",
)


@pytest.mark.parametrize(
    ("logical", "physical"),
    [
        ("bigint", "BIGINT"),
        ("integer", "INTEGER"),
        ("double", "DOUBLE"),
        ("varchar", "VARCHAR"),
        ("boolean", "BOOLEAN"),
        ("timestamp", "TIMESTAMP"),
        ("date", "DATE"),
        ("json", "JSON"),
        ("decimal(12,2)", "DECIMAL(12,2)"),
        ("decimal(38, 0)", "DECIMAL(38,0)"),
    ],
)
def test_physical_type(logical: str, physical: str) -> None:
    assert physical_type(logical, "duckdb") == physical


def test_create_table_is_exact_and_creates_the_table(engine: DuckDBEngine) -> None:
    sql = CreateTable.of(orders_contract()).sql(DUCKDB)
    assert sql == (
        'CREATE TABLE IF NOT EXISTS "orders" ("order_id" BIGINT, "price_usd" DECIMAL(12,2), '
        '"status" VARCHAR, "created_at" TIMESTAMP, "_pipefix_batch" VARCHAR, "_pipefix_line" BIGINT, '
        '"_pipefix_loaded_step" BIGINT)'
    )
    engine.execute(sql)
    engine.execute(sql)  # IF NOT EXISTS: a second run is harmless
    assert engine.table_columns("orders") == {
        "order_id": "BIGINT",
        "price_usd": "DECIMAL(12,2)",
        "status": "VARCHAR",
        "created_at": "TIMESTAMP",
        "_pipefix_batch": "VARCHAR",
        "_pipefix_line": "BIGINT",
        "_pipefix_loaded_step": "BIGINT",
    }


def test_create_table_quotes_odd_names(engine: DuckDBEngine) -> None:
    sql = CreateTable.of(ODD).sql(DUCKDB)
    assert sql == (
        'CREATE TABLE IF NOT EXISTS "odd table" ("order id" BIGINT, "select" VARCHAR, "we""ird" DOUBLE, '
        '"_pipefix_batch" VARCHAR, "_pipefix_line" BIGINT, "_pipefix_loaded_step" BIGINT)'
    )
    engine.execute(sql)
    assert list(engine.table_columns("odd table"))[:3] == ["order id", "select", 'we"ird']


def test_insert_conforming_sql_is_exact_and_lands_a_record_once(engine: DuckDBEngine) -> None:
    sql = verdicts.insert_conforming_sql(ODD, "_pipefix_checked", 7)
    assert sql == (
        'INSERT INTO "odd table" ("order id", "select", "we""ird", _pipefix_batch, _pipefix_line, '
        "_pipefix_loaded_step) SELECT v_0, v_1, v_2, batch_id, line_no, 7 FROM _pipefix_checked AS c "
        "WHERE reason = '' AND NOT EXISTS (SELECT 1 FROM \"odd table\" AS t "
        "WHERE t._pipefix_batch = c.batch_id AND t._pipefix_line = c.line_no)"
    )
    engine.execute(CreateTable.of(ODD).sql(DUCKDB))
    engine.execute(
        "CREATE TEMP TABLE _pipefix_checked AS SELECT * FROM (VALUES "
        "('b', 1, 1::BIGINT, 'x', 1.5::DOUBLE, ''), ('b', 2, 2::BIGINT, 'y', NULL, 'select: bad')) "
        "AS t(batch_id, line_no, v_0, v_1, v_2, reason)"
    )
    engine.execute(sql)
    engine.execute(sql)  # the lineage anti-join keeps a record from landing twice
    assert engine.query('SELECT * FROM "odd table"') == [(1, "x", 1.5, "b", 1, 7)]


def test_checked_records_sql_judges_odd_names(engine: DuckDBEngine) -> None:
    engine.execute(CreateTable.of(ODD).sql(DUCKDB))
    engine.execute(
        "CREATE TEMP TABLE _pipefix_stage AS SELECT *, NULL::VARCHAR AS stage_error FROM (VALUES "
        """('b', 1, '{"order id": 1, "select": "x", "we\\"ird": 2.5}'), """
        """('b', 2, '{"order id": 1, "select": "y"}'), """
        """('b', 3, '{"select": 3}')) AS t(batch_id, line_no, raw)"""
    )
    checked = verdicts.checked_records_sql(ODD, None, "_pipefix_stage")
    rows = engine.query(f"SELECT line_no, v_0, v_1, v_2, kind, reason FROM ({checked}) ORDER BY line_no")
    assert rows == [
        (1, 1, "x", 2.5, "", ""),
        (2, 1, "y", None, "value", "order id: duplicate key"),
        (3, None, None, None, "schema", "order id: missing; select: expected varchar, got UBIGINT 3"),
    ]


def test_observed_fields_profile_a_batch(engine: DuckDBEngine) -> None:
    engine.execute(
        "CREATE TEMP TABLE _pipefix_stage AS SELECT *, NULL::VARCHAR AS stage_error FROM (VALUES "
        """('b', 1, '{"n": 1700000000000, "p": 1.25, "s": "a"}'), """
        """('b', 2, '{"n": 1800000000000, "p": 3, "s": null}'), """
        """('b', 3, '[1]')) AS t(batch_id, line_no, raw)"""
    )
    fields = replays.observed_fields(engine, "_pipefix_stage")
    assert fields == (
        ObservedField(
            "n", frozenset({"UBIGINT"}), 2, 1.7e12, 1.8e12, 0, ("1700000000000", "1800000000000"), 13
        ),
        ObservedField("p", frozenset({"DOUBLE", "UBIGINT"}), 2, 1.25, 3.0, 2, ("1.25", "3"), 1, 2),
        ObservedField(
            "s", frozenset({"VARCHAR", "NULL"}), 2, None, None, 0, ("a",), text_kinds=frozenset({"text"})
        ),
    )


def test_observed_fields_count_digits_on_the_text_sent_never_through_a_double(engine: DuckDBEngine) -> None:
    lines = [
        '{"a": 1.0, "b": 12345.678, "c": 0.12345678901234567890, "d": 1.50, "m": {"d": 1.123}}',
        '{"a": 2, "b": 1e5, "c": 18446744073709551615, "d": 9223372036854775807, "e": 1E-400}',
        # A backslash in the record: its keys are found the slow way.
        '{"b": 123456789012345678901234, "c": 9223372036854775808, "d": -0.0, "e": "x\\\\"}',
    ]
    engine.execute(f"CREATE TEMP TABLE _pipefix_stage ({staging.STAGE_COLUMNS})")
    for i, line in enumerate(lines):
        engine.execute("INSERT INTO _pipefix_stage VALUES ('b', ?, ?, NULL)", (i + 1, line))
    fields = {f.name: f for f in replays.observed_fields(engine, "_pipefix_stage")}
    figures = {
        name: (f.max_digits, f.max_decimals, f.exact_decimals, f.past_bigint)
        for name, f in fields.items()
        if name != "m"
    }
    assert figures == {
        "a": (1, 1, 0, False),  # 1.0: one digit sent after the point, none needed
        "b": (24, 3, 3, True),  # 1e5 has 6 digits; the 24-digit integer is past 64 bits
        "c": (20, 20, 19, True),  # 0.12345678901234567890 is no 0.12345678901234568
        "d": (19, 2, 1, False),  # 9223372036854775807 is the largest bigint; 1.50 needs 1
        "e": (0, 400, 400, False),
    }


def test_observed_fields_read_strings_as_timestamps_with_or_without_offsets(engine: DuckDBEngine) -> None:
    engine.execute(
        "CREATE TEMP TABLE _pipefix_stage AS SELECT *, NULL::VARCHAR AS stage_error FROM (VALUES "
        """('b', 1, '{"z": "2023-06-19T14:20:23-04:00", "n": "2023-06-19 14:20:23", "t": "x"}'), """
        """('b', 2, '{"z": "2023-06-19T18:20:23Z", "n": "2023-06-19T14:20", "t": "2023-13-45T00:00"}')"""
        ") AS t(batch_id, line_no, raw)"
    )
    kinds = {f.name: f.text_kinds for f in replays.observed_fields(engine, "_pipefix_stage")}
    assert kinds == {
        "n": frozenset({"timestamp"}),
        "t": frozenset({"text"}),
        "z": frozenset({"timestamptz"}),
    }


def test_json_path_is_a_json_pointer_that_reaches_any_key(engine: DuckDBEngine) -> None:
    assert records.json_path("order id") == "'/order id'"
    assert records.json_path("a/b~c'") == "'/a~1b~0c'''"
    keys = ["", "a\\", 'a\\"b', "a/b", "~1", "$.x", "it's", "x"]
    raw = json.dumps({k: i for i, k in enumerate(keys)} | {"y": {"x": -1}})
    got = [engine.query(f"SELECT ? ->> {records.json_path(k)}", (raw,))[0][0] for k in keys]
    assert got == [str(i) for i in range(len(keys))]


def test_observed_fields_profile_keys_no_json_path_could_name(engine: DuckDBEngine) -> None:
    engine.execute(
        "CREATE TEMP TABLE _pipefix_stage AS SELECT *, NULL::VARCHAR AS stage_error FROM (VALUES "
        """('b', 1, '{"": 1, "a\\\\": "x", "a\\\\\\"b": true}')) AS t(batch_id, line_no, raw)"""
    )
    fields = replays.observed_fields(engine, "_pipefix_stage")
    assert [(f.name, f.json_types, f.samples) for f in fields] == [
        ("", frozenset({"UBIGINT"}), ("1",)),
        ("a\\", frozenset({"VARCHAR"}), ("x",)),
        ('a\\"b', frozenset({"BOOLEAN"}), ("true",)),
    ]


def test_a_blank_line_is_whitespace_as_python_strips_it(engine: DuckDBEngine) -> None:
    """The JSONL stage drops the lines BLANK_LINE matches; the Python readers drop the lines
    str.strip() empties. Both must mean the same lines, code point by code point (every
    whitespace character is in the Basic Multilingual Plane)."""
    python = [i for i in range(1, 0x10000) if chr(i).isspace()]
    duckdb = engine.query(
        "SELECT list_filter(list_concat(range(1, 55296), range(57344, 65536)), "
        f"lambda i: regexp_full_match(chr(i::INTEGER), {records.BLANK_LINE}))"
    )[0][0]
    assert duckdb == python


# JSON values whose json_type() turns on a detail of the text: sign, range, fraction, exponent.
TYPED_VALUES = [
    "0",
    "-0",
    "7",
    "-7",
    "1.0",
    "-0.0",
    "0.1",
    "1e5",
    "1E5",
    "-1.5e-10",
    "1.0e2",
    "1e400",
    "-1e400",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "100000000000000000000000000000",
    "3.0000000000000000001",
    "true",
    "false",
    "null",
    '"s"',
    '""',
    '"null"',
    '"1"',
    '"\\"q\\""',
    '"\\u00e9"',
    '"{}"',
    "[]",
    "{}",
    "[1, null]",
    '{"a": {"b": 1}}',
    '"-"',
]


def _typed_both_ways(duck: DuckDBEngine, values: list[str | None]) -> list[tuple[object, ...]]:
    """(json_type, our type, value ->> '$', our text) of each value as a record's field (None
    for a field the record lacks)."""
    duck.execute("CREATE OR REPLACE TEMP TABLE v AS SELECT unnest(CAST(? AS VARCHAR[])) AS raw", (values,))
    record = "CASE WHEN raw IS NULL THEN '{}' ELSE '{\"x\": ' || raw || '}' END"
    written = f"json_extract({record}, ['/x'])[1]"
    return duck.query(
        f"SELECT json_type(j), {records.json_type_of('j', 'x')}, j ->> '$', "
        f"{records.json_text_of('j', 'x')} FROM (SELECT j, j::VARCHAR AS x FROM "
        f"(SELECT {written} AS j FROM v))"
    )


def test_a_fields_type_and_text_read_from_its_written_json_are_json_types(tmp_path: Path) -> None:
    duck = DuckDBEngine(str(tmp_path / "t.duckdb"))
    for json_type, ours, text, our_text in _typed_both_ways(duck, [*TYPED_VALUES, None]):
        assert (ours, our_text) == (json_type, text)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=5,
    )
)
def test_any_json_value_is_typed_as_json_type_does(value: object) -> None:
    duck = DuckDBEngine(":memory:")
    ((json_type, ours, text, our_text),) = _typed_both_ways(duck, [json.dumps(value)])
    assert (ours, our_text) == (json_type, text)
