"""Lossless conversions and variant columns, end to end on DuckDB and on a real PostgreSQL.

Values sent in another form than their column's type — integers, money and booleans as text,
epoch seconds (with a fraction), milliseconds and microseconds, timestamps in RFC 2822 or on a
12-hour clock — are held, diagnosed value by value, and loaded through an adapter's conversion
exactly as sent; a value no conversion keeps loads in a variant column under `type_change:
auto`, waits for a person under `approve`, and dates that read two ways stay held with why.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipefix.api import Pipeline
from tests.test_drift_kinds import (
    AMOUNT,
    balanced,
    clock,
    held,
    iso,
    make_project,
    money,
    query,
    run,
    sent_money,
    state,
    write_batch,
)

EPOCH = datetime(1970, 1, 1)
REQUIRED_STAMP = "type: timestamp, nullable: false"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return "duckdb:///warehouse.duckdb"


def write_lines(config: Path, table: str, name: str, lines: list[str]) -> None:
    """A batch written line by line, numbers exactly as given (no float in between)."""
    path = config.parent / "landing" / table / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def drift_then_repair(config: Path, table: str, rows: list[dict[str, Any]], before: int) -> dict[str, Any]:
    """Send `rows` after `before` rows loaded: one run holds and diagnoses them, the next repairs.
    Returns the repairing run's summary."""
    write_batch(config, table, "b-002.jsonl", rows)
    balanced(run(config), before + len(rows), quarantined=len(rows))
    return run(config)


def check_notes(config: Path) -> tuple[bool, tuple[str, ...]]:
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        result = pipeline.check()
        return result.healthy, result.notes


def test_integers_sent_as_digit_strings_load_as_the_integers_they_write(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "events", qty="type: bigint, nullable: false")
    write_batch(
        config, "events", "b-001.jsonl", [{"id": i, "qty": i, "created_at": iso(i)} for i in range(1, 21)]
    )
    balanced(run(config), 20)

    digits = ["2012884", "-17", "9223372036854775807", "0"]
    rows: list[dict[str, Any]] = [
        {"id": 100 + n, "qty": digits[n % 4], "created_at": iso(1)} for n in range(20)
    ]
    summary = drift_then_repair(config, "events", rows, 20)
    balanced(summary, 40)
    assert summary["rows"]["replayed"] == 20
    assert state(config, "events")[:2] == (1, ["qty <- from_text(qty)"])

    # Later batches, text or numbers, load directly.
    later: list[dict[str, Any]] = [
        {"id": 200 + n, "qty": [*digits, 7][n % 5], "created_at": iso(1)} for n in range(20)
    ]
    write_batch(config, "events", "b-003.jsonl", later)
    balanced(run(config), 60)
    assert query(config, "SELECT id, qty FROM events WHERE id >= 100 ORDER BY id") == [
        (r["id"], int(r["qty"])) for r in rows + later
    ]
    healthy, notes = check_notes(config)
    assert notes == ()
    assert healthy, notes


def test_money_sent_as_text_converts_exactly_and_a_value_none_keeps_loads_in_a_variant(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "orders", amount=AMOUNT)
    write_batch(
        config,
        "orders",
        "b-001.jsonl",
        [{"id": i, "amount": money(i), "created_at": iso(i)} for i in range(1, 21)],
    )
    balanced(run(config), 20)

    texts = ["403.00", "12.5", "0.10", "7", "403.005", "n/a"]
    rows: list[dict[str, Any]] = [
        {"id": 100 + n, "amount": texts[n % 6], "created_at": iso(1)} for n in range(24)
    ]
    summary = drift_then_repair(config, "orders", rows, 20)
    balanced(summary, 44)
    assert summary["rows"]["replayed"] == 24
    version, transforms, columns = state(config, "orders")
    assert (version, transforms) == (2, ["amount <- from_text(amount)"])
    assert "amount__varchar" in columns
    exact = [r for r in rows if r["amount"] not in ("403.005", "n/a")]
    kept = [r for r in rows if r["amount"] in ("403.005", "n/a")]
    assert query(config, "SELECT sum(amount) FROM orders") == [
        (sent_money(range(1, 21)) + sum((Decimal(r["amount"]) for r in exact), Decimal(0)),)
    ]
    assert query(
        config, "SELECT id, amount, amount__varchar FROM orders WHERE amount IS NULL ORDER BY id"
    ) == [(r["id"], None, r["amount"]) for r in kept]
    assert summary["variants"] == [
        {"table": "orders", "column": "amount", "variant": "amount__varchar", "rows": 8}
    ]
    (note,) = query(config, "SELECT note FROM pipefix.contracts WHERE table_name = 'orders' AND version = 2")[
        0
    ]
    assert "add variant amount__varchar varchar" in note
    assert "required unless amount__varchar holds its value" in note

    # Later batches: the exact text converts, the rest goes to the variant; nothing waits.
    later: list[dict[str, Any]] = [
        {"id": 300 + n, "amount": ["99.99", "1.001"][n % 2], "created_at": iso(1)} for n in range(20)
    ]
    write_batch(config, "orders", "b-003.jsonl", later)
    balanced(run(config), 64)
    assert query(config, "SELECT id, amount, amount__varchar FROM orders WHERE id >= 300 ORDER BY id") == [
        (r["id"], Decimal("99.99"), None) if r["amount"] == "99.99" else (r["id"], None, "1.001")
        for r in later
    ]
    healthy, notes = check_notes(config)
    assert healthy  # a required column is required unless its variant holds the value
    assert notes == (
        "orders carries a variant: amount__varchar keeps 18 value(s) of amount that no conversion can "
        "type, exactly as sent (amount is NULL there)",
    )


def test_true_and_false_sent_as_text_load_as_booleans(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "flags", paid="type: boolean, nullable: false")
    write_batch(
        config,
        "flags",
        "b-001.jsonl",
        [{"id": i, "paid": i % 2 == 0, "created_at": iso(i)} for i in range(1, 11)],
    )
    balanced(run(config), 10)

    rows: list[dict[str, Any]] = [
        {"id": 100 + n, "paid": ["true", "false"][n % 2], "created_at": iso(1)} for n in range(10)
    ]
    balanced(drift_then_repair(config, "flags", rows, 10), 20)
    assert state(config, "flags")[:2] == (1, ["paid <- from_text(paid)"])
    assert query(config, "SELECT id, paid FROM flags WHERE id >= 100 ORDER BY id") == [
        (r["id"], r["paid"] == "true") for r in rows
    ]


def test_dates_and_timestamps_sent_as_iso_text_load_as_written(tmp_path: Path, warehouse: str) -> None:
    config = make_project(
        tmp_path, warehouse, "visits", day="type: date, nullable: false", seen_at=REQUIRED_STAMP
    )
    sent = [("2023-06-19", "2023-06-19T14:20:23.123456"), ("2024-02-29", "2024-02-29 23:59:59+02:00")]
    rows = [{"id": i, "day": d, "seen_at": s, "created_at": iso(i)} for i, (d, s) in enumerate(sent, 1)]
    write_batch(config, "visits", "b-001.jsonl", rows)
    balanced(run(config), 2)
    assert query(config, "SELECT day, seen_at FROM visits ORDER BY id") == [
        (date(2023, 6, 19), datetime(2023, 6, 19, 14, 20, 23, 123456)),
        (date(2024, 2, 29), datetime(2024, 2, 29, 21, 59, 59)),
    ]


def at(epoch: str, micros_per_unit: int) -> datetime:
    """The instant an epoch number's text stands for, computed on its digits."""
    return EPOCH + timedelta(microseconds=int(Decimal(epoch) * micros_per_unit))


@pytest.mark.parametrize(
    ("unit", "micros", "numbers", "inexact"),
    [
        (
            "epoch_s",
            1_000_000,
            ["1687184423.123456", "1687184423.5", "1687184423", "1700000000.000001"],
            "1687184423.12345678",
        ),
        ("epoch_ms", 1_000, ["1687184423123", "1687184423123.456", "1700000000000"], "1687184423123.4567"),
        ("epoch_us", 1, ["1687184423123456", "1700000000000001"], "1687184423123456.5"),
    ],
)
def test_epoch_numbers_convert_to_the_microsecond_and_a_finer_one_keeps_its_text_in_a_variant(
    tmp_path: Path, warehouse: str, unit: str, micros: int, numbers: list[str], inexact: str
) -> None:
    config = make_project(tmp_path, warehouse, "readings", seen_at=REQUIRED_STAMP)
    first = [{"id": i, "seen_at": iso(i), "created_at": iso(i)} for i in range(1, 11)]
    write_batch(config, "readings", "b-001.jsonl", first)
    balanced(run(config), 10)

    sent = [*numbers, inexact]
    lines = [f'{{"id": {100 + n}, "seen_at": {s}, "created_at": "{iso(1)}"}}' for n, s in enumerate(sent)]
    write_lines(config, "readings", "b-002.jsonl", lines)
    balanced(run(config), 10 + len(sent), quarantined=len(sent))
    summary = run(config)
    balanced(summary, 10 + len(sent))
    assert state(config, "readings")[:2] == (2, [f"seen_at <- {unit}_to_timestamp(seen_at)"])
    assert query(
        config, "SELECT id, seen_at, seen_at__varchar FROM readings WHERE id >= 100 ORDER BY id"
    ) == [(100 + n, at(s, micros), None) for n, s in enumerate(numbers)] + [
        (100 + len(numbers), None, inexact)
    ]  # the text as sent, not a double's


RFC_2822 = (
    ["Mon, 19 Jun 2023 14:20:23 -0400", "Tue, 20 Jun 2023 09:05:00 +0530", "Wed, 21 Jun 2023 00:00:00 GMT"],
    [datetime(2023, 6, 19, 18, 20, 23), datetime(2023, 6, 20, 3, 35), datetime(2023, 6, 21)],
    "seen_at <- strptime(seen_at, '%a, %d %b %Y %H:%M:%S %z')",
)
TWELVE_HOUR = (
    ["06/19/2023 02:20:23 PM", "12/31/2023 12:00:00 AM", "6/9/2023 9:05:07 AM"],
    [datetime(2023, 6, 19, 14, 20, 23), datetime(2023, 12, 31), datetime(2023, 6, 9, 9, 5, 7)],
    "seen_at <- strptime(seen_at, '%m/%d/%Y %I:%M:%S %p'; no zone: stored as written)",
)


@pytest.mark.parametrize(
    ("texts", "instants", "described"), [RFC_2822, TWELVE_HOUR], ids=["rfc2822", "12-hour"]
)
def test_timestamps_in_another_format_convert_exactly(
    tmp_path: Path, warehouse: str, texts: list[str], instants: list[datetime], described: str
) -> None:
    config = make_project(tmp_path, warehouse, "visits", seen_at=REQUIRED_STAMP)
    write_batch(
        config,
        "visits",
        "b-001.jsonl",
        [{"id": i, "seen_at": iso(i), "created_at": iso(i)} for i in range(1, 11)],
    )
    balanced(run(config), 10)

    rows: list[dict[str, Any]] = [
        {"id": 100 + n, "seen_at": t, "created_at": iso(1)} for n, t in enumerate(texts)
    ]
    balanced(drift_then_repair(config, "visits", rows, 10), 13)
    assert state(config, "visits")[:2] == (1, [described])
    assert query(config, "SELECT seen_at FROM visits WHERE id >= 100 ORDER BY id") == [(i,) for i in instants]

    # The same pattern with a wrong weekday, or a 13th month, does not read exactly: held.
    wrong = "Tue, 19 Jun 2023 14:20:23 -0400" if "%z" in described else "13/19/2023 02:20:23 PM"
    write_batch(config, "visits", "b-003.jsonl", [{"id": 200, "seen_at": wrong, "created_at": iso(1)}])
    run(config)
    reasons = [
        r for r, _, _ in held(config, "visits") if "does not convert exactly (strptime to timestamp)" in r
    ]
    assert reasons == [f"seen_at: VARCHAR {wrong} does not convert exactly (strptime to timestamp)"]


def test_dates_read_two_ways_stay_held_until_a_day_above_12_decides(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "visits", day="type: date, nullable: false")
    write_batch(
        config,
        "visits",
        "b-001.jsonl",
        [{"id": i, "day": "2023-01-01", "created_at": iso(i)} for i in range(1, 11)],
    )
    balanced(run(config), 10)

    ambiguous = [
        {"id": 100 + n, "day": d, "created_at": iso(1)} for n, d in enumerate(["01/02/2023", "03/04/2023"])
    ]
    write_batch(config, "visits", "b-002.jsonl", ambiguous)
    balanced(run(config), 12, quarantined=2)
    for _ in range(2):  # no conversion is guessed, no variant made: the rows wait, and say why
        summary = run(config)
        balanced(summary, 12, quarantined=2)
    assert summary["fixes"] == []
    assert state(config, "visits")[:2] == (1, [])
    (waiting,) = summary["waiting"]
    assert "ambiguous: '01/02/2023' reads as '%m/%d/%Y' or as '%d/%m/%Y'" in waiting["reason"]
    assert "no value has a day above 12" in waiting["reason"]

    write_batch(config, "visits", "b-003.jsonl", [{"id": 200, "day": "13/02/2023", "created_at": iso(1)}])
    balanced(run(config), 13, quarantined=3)  # one more held row: looked at again
    summary = run(config)
    balanced(summary, 13)
    assert state(config, "visits")[:2] == (
        1,
        ["day <- strptime(day, '%d/%m/%Y'; no zone: stored as written)"],
    )
    assert query(config, "SELECT id, day FROM visits WHERE id >= 100 ORDER BY id") == [
        (100, date(2023, 2, 1)),
        (101, date(2023, 4, 3)),
        (200, date(2023, 2, 13)),
    ]


def test_under_approve_the_conversion_and_the_variant_wait_for_a_person(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "orders", amount=AMOUNT)
    config.write_text(config.read_text() + "policies: {type_change: approve}\n")
    write_batch(
        config,
        "orders",
        "b-001.jsonl",
        [{"id": i, "amount": money(i), "created_at": iso(i)} for i in range(1, 11)],
    )
    balanced(run(config), 10)

    rows = [
        {"id": 100 + n, "amount": t, "created_at": iso(1)}
        for n, t in enumerate(["403.00", "403.005", "12.5"])
    ]
    summary = drift_then_repair(config, "orders", rows, 10)
    balanced(summary, 13, quarantined=3)  # nothing applied: two decisions wait
    assert summary["fixes"] == []
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        pending = {d["fix_type"]: d for d in pipeline.decisions() if d["status"] == "pending"}
    assert sorted(pending) == ["add_adapter", "schema_migration"]
    assert "sent as text that converts exactly" in pending["add_adapter"]["drift"]
    assert "no exact conversion: a variant column can keep them" in pending["schema_migration"]["drift"]
    assert state(config, "orders")[:2] == (1, [])

    with Pipeline.open(config, clock=clock) as pipeline:
        for decision in pending.values():
            pipeline.decide(int(decision["id"]), approve=True)
    summary = run(config)
    balanced(summary, 13)
    assert query(config, "SELECT id, amount, amount__varchar FROM orders WHERE id >= 100 ORDER BY id") == [
        (100, Decimal("403.00"), None),
        (101, None, "403.005"),
        (102, Decimal("12.50"), None),
    ]


def test_a_value_an_adapter_cannot_convert_is_held_with_its_reason_then_kept_in_a_variant(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "orders", amount=AMOUNT)
    write_batch(
        config,
        "orders",
        "b-001.jsonl",
        [{"id": i, "amount": money(i), "created_at": iso(i)} for i in range(1, 11)],
    )
    balanced(run(config), 10)
    rows: list[dict[str, Any]] = [
        {"id": 100 + n, "amount": t, "created_at": iso(1)} for n, t in enumerate(["403.00", "0.25"])
    ]
    balanced(drift_then_repair(config, "orders", rows, 10), 12)
    assert state(config, "orders")[:2] == (1, ["amount <- from_text(amount)"])

    write_batch(config, "orders", "b-003.jsonl", [{"id": 200, "amount": "403.005", "created_at": iso(1)}])
    balanced(run(config), 13, quarantined=1)
    reason = "amount: VARCHAR 403.005 does not convert exactly (from_text to decimal(12,2))"
    waiting = {k: n for k, n in held(config, "orders").items() if k[2] is None}
    assert waiting == {(reason, "schema", None): 1}
    for _ in range(2):
        summary = run(config)
    balanced(summary, 13)
    assert query(config, "SELECT amount, amount__varchar FROM orders WHERE id = 200") == [(None, "403.005")]
    raw = query(config, "SELECT raw FROM pipefix.quarantine WHERE reason = ?", (reason,))
    assert [json.loads(r[0])["amount"] for r in raw] == ["403.005"]
