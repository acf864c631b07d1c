"""The conversions' SQL, value by value, in the judge's own DuckDB: each text sent either converts
to exactly the value it writes, or is held with its reason; and each held value is tried under
every conversion that may read it (engines/conversions.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from pipefix.engines import conversions
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.judge import judge_for
from pipefix.engines.sql.staging import CHECKED
from pipefix.pipeline.contracts import Adapter, ColumnSpec, ColumnTransform, Contract, TransformKind
from pipefix.pipeline.conversions import HeldValues

FROM_TEXT = TransformKind.FROM_TEXT


def judged(engine: DuckDBEngine, contract: Contract, adapter: Adapter | None, values: list[str]) -> list[Any]:
    """(the typed value of column `x`, the reason) of one record per JSON value text."""
    rows = [(f"b-{n}", 1, f'{{"id": {n}, "x": {v}}}', None) for n, v in enumerate(values)]
    judge = judge_for(engine)
    judge.stage_records(rows)
    judge.check(contract, adapter)
    return [tuple(r) for r in engine.query(f"SELECT v_1, reason FROM {CHECKED} ORDER BY batch_id")]


def one(logical: str, kind: TransformKind, pattern: str | None = None) -> tuple[Contract, Adapter]:
    contract = Contract("t", 1, (ColumnSpec("id", "bigint"), ColumnSpec("x", logical)))
    return contract, Adapter("t", 1, (ColumnTransform("x", kind, "x", pattern),))


def not_exact(sent: str, json_type: str, described: str) -> str:
    return f"x: {json_type} {sent} does not convert exactly ({described})"


CASES = [
    # integers: the text of the integer itself, nothing else
    ("bigint", FROM_TEXT, None, '"2012884"', 2012884),
    ("bigint", FROM_TEXT, None, '"-9223372036854775808"', -(2**63)),
    ("bigint", FROM_TEXT, None, "17", 17),  # a number still loads
    ("integer", FROM_TEXT, None, '"2147483648"', None),  # past the column's range
    *(
        ("bigint", FROM_TEXT, None, f'"{t}"', None)
        for t in ("007", "+5", "5.0", "1_000", " 5", "0x10", "-0", "")
    ),
    # decimals: no digit past the scale
    ("decimal(12,2)", FROM_TEXT, None, '"403.00"', Decimal("403.00")),
    ("decimal(12,2)", FROM_TEXT, None, '"12.5"', Decimal("12.50")),
    ("decimal(12,2)", FROM_TEXT, None, '"4.03e2"', Decimal("403.00")),
    ("decimal(12,2)", FROM_TEXT, None, '"403.005"', None),
    ("decimal(12,2)", FROM_TEXT, None, '"n/a"', None),
    ("decimal(12,2)", FROM_TEXT, None, '"1e20"', None),
    ("double", FROM_TEXT, None, '"12.5"', 12.5),
    ("double", FROM_TEXT, None, '"NaN"', None),
    # booleans: "true" and "false" only (yes/no are a vocabulary, not a conversion)
    ("boolean", FROM_TEXT, None, '"true"', True),
    ("boolean", FROM_TEXT, None, '"false"', False),
    *(("boolean", FROM_TEXT, None, f'"{t}"', None) for t in ("True", "t", "1", "yes")),
    # epoch numbers, on their digits: to the microsecond, in the unit's range
    (
        "timestamp",
        TransformKind.EPOCH_S_TO_TIMESTAMP,
        None,
        "1687184423.123456",
        datetime(2023, 6, 19, 14, 20, 23, 123456),
    ),
    (
        "timestamp",
        TransformKind.EPOCH_S_TO_TIMESTAMP,
        None,
        "1687184423.1234560",
        datetime(2023, 6, 19, 14, 20, 23, 123456),
    ),
    ("timestamp", TransformKind.EPOCH_S_TO_TIMESTAMP, None, "1687184423", datetime(2023, 6, 19, 14, 20, 23)),
    ("timestamp", TransformKind.EPOCH_S_TO_TIMESTAMP, None, "1687184423.1234567", None),
    ("timestamp", TransformKind.EPOCH_S_TO_TIMESTAMP, None, "1687184423123", None),  # milliseconds
    ("timestamp", TransformKind.EPOCH_S_TO_TIMESTAMP, None, "1.687184423e9", None),
    (
        "timestamp",
        TransformKind.EPOCH_S_TO_TIMESTAMP,
        None,
        '"2023-06-19T14:20:23Z"',
        datetime(2023, 6, 19, 14, 20, 23),
    ),
    (
        "timestamp",
        TransformKind.EPOCH_MS_TO_TIMESTAMP,
        None,
        "1687184423123.456",
        datetime(2023, 6, 19, 14, 20, 23, 123456),
    ),
    ("timestamp", TransformKind.EPOCH_MS_TO_TIMESTAMP, None, "1687184423", None),  # seconds
    (
        "timestamp",
        TransformKind.EPOCH_US_TO_TIMESTAMP,
        None,
        "1687184423123456",
        datetime(2023, 6, 19, 14, 20, 23, 123456),
    ),
    ("timestamp", TransformKind.EPOCH_US_TO_TIMESTAMP, None, "1687184423123456.5", None),
    # formats: parsed, and written back as sent (weekday, padding, a 13th month are checked)
    (
        "timestamp",
        TransformKind.STRPTIME,
        "%a, %d %b %Y %H:%M:%S %z",
        '"Mon, 19 Jun 2023 14:20:23 -0400"',
        datetime(2023, 6, 19, 18, 20, 23),
    ),
    (
        "timestamp",
        TransformKind.STRPTIME,
        "%a, %d %b %Y %H:%M:%S %z",
        '"Mon, 19 Jun 2023 14:20:23 +0000"',
        datetime(2023, 6, 19, 14, 20, 23),
    ),
    (
        "timestamp",
        TransformKind.STRPTIME,
        "%a, %d %b %Y %H:%M:%S %z",
        '"Fri, 9 Jun 2023 14:20:23 GMT"',
        datetime(2023, 6, 9, 14, 20, 23),
    ),
    (
        "timestamp",
        TransformKind.STRPTIME,
        "%a, %d %b %Y %H:%M:%S %z",
        '"Tue, 19 Jun 2023 14:20:23 -0400"',
        None,
    ),
    (
        "timestamp",
        TransformKind.STRPTIME,
        "%a, %d %b %Y %H:%M:%S %z",
        '"Mon, 19 Jun 2023 14:20:23 -0460"',
        None,
    ),
    (
        "timestamp",
        TransformKind.STRPTIME,
        "%m/%d/%Y %I:%M:%S %p",
        '"06/19/2023 02:20:23 PM"',
        datetime(2023, 6, 19, 14, 20, 23),
    ),
    (
        "timestamp",
        TransformKind.STRPTIME,
        "%m/%d/%Y %I:%M:%S %p",
        '"6/9/2023 2:20:23 AM"',
        datetime(2023, 6, 9, 2, 20, 23),
    ),
    ("timestamp", TransformKind.STRPTIME, "%m/%d/%Y %I:%M:%S %p", '"06/19/2023 02:20:23 pm"', None),
    ("timestamp", TransformKind.STRPTIME, "%m/%d/%Y %I:%M:%S %p", '"06/19/2023 14:20:23 PM"', None),
    ("timestamp", TransformKind.STRPTIME, "%m/%d/%Y %I:%M:%S %p", '" 06/19/2023 02:20:23 PM"', None),
    ("date", TransformKind.STRPTIME, "%d/%m/%Y", '"13/02/2023"', date(2023, 2, 13)),
    ("date", TransformKind.STRPTIME, "%d/%m/%Y", '"02/13/2023"', None),
    ("date", TransformKind.STRPTIME, "%d/%m/%Y", '"2023-02-13"', date(2023, 2, 13)),  # ISO still reads
]


@pytest.mark.parametrize(("logical", "kind", "pattern", "sent", "expected"), CASES)
def test_a_value_converts_to_exactly_what_it_writes_or_is_held_with_why(
    engine: DuckDBEngine, logical: str, kind: TransformKind, pattern: str | None, sent: str, expected: Any
) -> None:
    contract, adapter = one(logical, kind, pattern)
    ((value, reason),) = judged(engine, contract, adapter, [sent])
    if expected is not None:
        assert (value, reason) == (expected, "")
        assert type(value) is type(expected)
        return
    assert value is None
    json_type = "VARCHAR" if sent.startswith('"') else ("UBIGINT" if sent.isdigit() else "DOUBLE")
    text = sent.strip('"')
    if json_type == "DOUBLE" and "e" in text:
        text = repr(float(text))  # reasons show the double's text; the value was read on its own
    assert reason == not_exact(text, json_type, f"{kind} to {logical}")


def test_a_variant_keeps_what_its_column_cannot_as_sent_and_holds_nothing(engine: DuckDBEngine) -> None:
    contract = Contract(
        "t",
        1,
        (
            ColumnSpec("id", "bigint"),
            ColumnSpec("x", "decimal(12,2)", nullable=False),
            ColumnSpec("x__varchar", "varchar"),
        ),
    )
    sent = ['"n/a"', "1.005", "0.10", "12345678901234567.8901", '{"a": [1, 2]}', "true", "null"]
    rows = [(f"b-{n}", 1, f'{{"id": {n}, "x": {v}}}', None) for n, v in enumerate(sent)]
    rows.append(("b-9", 1, '{"id": 9, "x__varchar": "sent by the producer"}', None))
    judge = judge_for(engine)
    judge.stage_records(rows)
    judge.check(contract, None)
    got = [tuple(r) for r in engine.query(f"SELECT v_1, v_2, reason FROM {CHECKED} ORDER BY batch_id")]
    assert got == [
        (None, "n/a", ""),
        (None, "1.005", ""),  # the number's own text, not a double's
        (Decimal("0.10"), None, ""),
        (None, "12345678901234567.8901", ""),
        (None, '{"a":[1,2]}', ""),
        (None, "true", ""),
        (None, None, "x: missing"),  # a variant keeps a value; it never stands for a missing one
        (None, None, "unexpected column(s): x__varchar; x: missing"),  # filled by pipefix only
    ]


def groups(found: tuple[HeldValues, ...], column: str) -> dict[tuple[str, ...], int]:
    (values,) = [v for v in found if v.column == column]
    return {read_by: rows for read_by, rows, _ in values.groups}


def test_each_held_value_is_tried_under_every_conversion_that_may_read_it(engine: DuckDBEngine) -> None:
    contract = Contract(
        "t",
        1,
        (
            ColumnSpec("id", "bigint"),
            ColumnSpec("n", "bigint"),
            ColumnSpec("at", "timestamp"),
            ColumnSpec("day", "date"),
            ColumnSpec("note", "varchar"),
        ),
        key="id",
    )
    records = [
        '{"id": 1, "n": "12", "at": 1687184423.5, "day": "01/02/2023", "note": 5}',
        '{"id": 2, "n": "x", "at": "06/19/2023 02:20:23 PM", "day": "13/02/2023"}',
        '{"id": 3, "n": 4, "at": 1687184423123, "day": "2023-02-01"}',
    ]
    judge_for(engine).stage_records((f"b-{n}", 1, r, None) for n, r in enumerate(records))
    found = conversions.untyped_values(engine, contract, None)
    assert {v.column for v in found} == {"n", "at", "day"}  # text holds any value: not tried
    assert groups(found, "n") == {("from_text",): 1, (): 1}
    assert groups(found, "at") == {
        ("epoch_s",): 1,
        ("epoch_ms",): 1,
        ("format:%m/%d/%Y %I:%M:%S %p",): 1,
    }
    assert groups(found, "day") == {("format:%m/%d/%Y", "format:%d/%m/%Y"): 1, ("format:%d/%m/%Y",): 1}
