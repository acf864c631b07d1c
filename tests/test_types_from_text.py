"""Column types read from the text sent and widened as data comes, any field name as a column,
and exact instants (timestamptz): on DuckDB and on a real PostgreSQL, each drifted batch held, a
separate `run` repairing it, every row sent loaded with the value sent."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipefix.api import Pipeline
from pipefix.engines import store
from tests.test_drift_kinds import balanced, clock, iso, make_project, query, run, state


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return "duckdb:///warehouse.duckdb"


def write_lines(config: Path, table: str, name: str, lines: list[str]) -> Path:
    """A batch file written as given, dated a minute back: complete before the run."""
    path = config.parent / "landing" / table / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    then = time.time() - 60
    os.utime(path, (then, then))
    return path


def record(i: int, **fields: str) -> str:
    """A JSON record with numbers written exactly as given (`reading="1.0"` stays 1.0)."""
    extra = "".join(f', "{name}": {text}' for name, text in fields.items())
    return f'{{"id": {i}, "created_at": "{iso(1)}"{extra}}}'


def column_type(config: Path, table: str, column: str) -> str | None:
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        spec = store.active_contract(pipeline.engine, table).column(column)
    return spec.type if spec else None


def open_held(config: Path) -> int:
    return int(query(config, "SELECT count(*) FROM pipefix.quarantine WHERE replayed_step IS NULL")[0][0])


def runs(config: Path, count: int) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for _ in range(count):
        summary = run(config)
    return summary


def test_a_column_typed_from_1_0_widens_when_wider_decimals_come(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "readings")
    write_lines(config, "readings", "b-001.jsonl", [record(i, reading="1.0") for i in range(1, 21)])
    balanced(runs(config, 3), 20)
    assert column_type(config, "readings", "reading") == "decimal(18,1)"  # room before the point

    wider = ["12345.678", "2.5", "0.125", "99999999999999.999"]  # 17 digits: 14 before the point
    write_lines(config, "readings", "b-002.jsonl", [record(100 + i, reading=t) for i, t in enumerate(wider)])
    summary = runs(config, 3)
    balanced(summary, 24)
    assert open_held(config) == 0
    assert column_type(config, "readings", "reading") == "decimal(20,3)"  # 17 before it still fit
    assert query(config, "SELECT reading FROM readings WHERE id >= 100 ORDER BY id") == [
        (Decimal(t),) for t in wider
    ]
    assert query(config, "SELECT sum(reading) FROM readings WHERE id < 100") == [(Decimal(20),)]
    assert any("widen reading decimal(18,1) -> decimal(20,3)" in f["detail"] for f in summary["fixes"])
    # Readers of the shapes before keep their views.
    assert query(config, "SELECT count(*) FROM readings_v2") == [(24,)]


def test_an_integer_column_receiving_numbers_past_bigint_becomes_decimal_38_0(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "meters", qty="type: integer")
    write_lines(config, "meters", "b-001.jsonl", [record(i, qty=str(i)) for i in range(1, 11)])
    balanced(run(config), 10)
    huge = [str(2**64 + 5), str(10**30), str(-(2**63) - 1), str(2**63)]
    write_lines(config, "meters", "b-002.jsonl", [record(100 + i, qty=t) for i, t in enumerate(huge)])
    balanced(runs(config, 3), 14)
    assert open_held(config) == 0
    assert column_type(config, "meters", "qty") == "decimal(38,0)"
    loaded = query(config, "SELECT qty FROM meters WHERE id >= 100 ORDER BY id")
    assert loaded == [(Decimal(t),) for t in huge]


def test_more_decimals_than_a_double_holds_load_exact_in_an_added_column(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "rates")
    sent = ["0.12345678901234567890", "1.5"]
    write_lines(config, "rates", "b-001.jsonl", [record(i, rate=t) for i, t in enumerate(sent)])
    balanced(runs(config, 3), 2)
    assert column_type(config, "rates", "rate") == "decimal(38,20)"
    assert query(config, "SELECT rate FROM rates ORDER BY id") == [(Decimal(t),) for t in sent]


def test_keys_differing_only_in_case_both_load(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "teams")
    lines = [record(i, group=f'"g{i}"', Group=f'"G{i}"') for i in range(1, 6)]
    write_lines(config, "teams", "b-001.jsonl", lines)
    balanced(runs(config, 3), 5)
    version, adapter, columns = state(config, "teams")
    assert version == 2
    assert adapter == ["group_2 <- Group"]
    assert {"group", "group_2"} <= columns
    assert query(config, 'SELECT "group", group_2 FROM teams ORDER BY id') == [
        (f"g{i}", f"G{i}") for i in range(1, 6)
    ]
    # The next batch maps the same way, with nothing held and no new version.
    write_lines(config, "teams", "b-002.jsonl", [record(9, Group='"G9"', group='"g9"')])
    balanced(run(config), 6)
    assert state(config, "teams")[0] == 2
    assert query(config, 'SELECT "group", group_2 FROM teams WHERE id = 9') == [("g9", "G9")]


def test_a_csv_header_that_cannot_be_a_column_loads_under_a_plain_name(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "people")
    rows = [f"{i},{iso(1)},{60 + i}.25" for i in range(1, 6)]
    write_lines(config, "people", "b-001.csv", ["id,created_at,Height(inches)", *rows])
    summary = runs(config, 3)
    balanced(summary, 5)
    version, adapter, columns = state(config, "people")
    assert (version, adapter) == (2, ["height_inches <- Height(inches)"])
    assert "Height(inches)" not in columns
    assert query(config, "SELECT height_inches FROM people ORDER BY id") == [
        (Decimal(f"{60 + i}.25"),) for i in range(1, 6)
    ]
    shown = 'height_inches (sent as "Height(inches)")'
    assert any(shown in f["detail"] for f in summary["fixes"])
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        history = " ".join(e["text"] for e in pipeline.history())
    assert shown in history
    # Later files load straight through the mapping.
    write_lines(config, "people", "b-002.csv", ["id,created_at,Height(inches)", f"9,{iso(1)},70.5"])
    balanced(run(config), 6)
    assert query(config, "SELECT height_inches FROM people WHERE id = 9") == [(Decimal("70.50"),)]


# --- timestamptz: exact instants --------------------------------------------------------------

INSTANTS = """
warehouse: {warehouse}
landing: landing
tables:
  payments:
    key: id
    columns:
      id:         {{type: bigint, nullable: false}}
      created_at: {{type: timestamptz, nullable: false}}
    freshness: 24h
goal: {{health: 0.95, error_rate: 0.02}}
"""
# One instant, sent three ways: the reader gets it back as that instant, in UTC.
SENT_AS = ["2026-11-20T07:20:23-04:00", "2026-11-20T11:20:23Z", "2026-11-20 11:20:23"]
INSTANT = datetime(2026, 11, 20, 11, 20, 23, tzinfo=UTC)


def test_timestamptz_keeps_the_instant_sent_with_any_offset(tmp_path: Path, warehouse: str) -> None:
    config = tmp_path / "pipefix.yaml"
    config.write_text(INSTANTS.format(warehouse=warehouse))
    lines = [f'{{"id": {i}, "created_at": "{sent}"}}' for i, sent in enumerate(SENT_AS, 1)]
    lines.append('{"id": 4, "created_at": "2026-11-20T16:50:23.125+05:30"}')
    write_lines(config, "payments", "b-001.jsonl", lines)
    balanced(run(config), 4)
    loaded = query(config, "SELECT created_at FROM payments ORDER BY id")
    assert loaded == [(INSTANT,)] * 3 + [(INSTANT + timedelta(milliseconds=125),)]
    assert all(value.utcoffset() == timedelta(0) for (value,) in loaded)  # aware, shown in UTC
    physical = query(
        config,
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'payments' "
        "AND column_name = 'created_at'",
    )
    assert [str(t).lower() for (t,) in physical] == ["timestamp with time zone"]
    with Pipeline.open(config, read_only=True, clock=lambda step: INSTANT + timedelta(hours=1)) as pipeline:
        result = pipeline.check()
    assert result.healthy, result.as_dict()  # schema and freshness read the instants


def test_an_added_column_of_times_with_offsets_is_timestamptz(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "orders")
    lines = [record(i, paid_at=f'"{sent}"') for i, sent in enumerate(SENT_AS[:2], 1)]
    write_lines(config, "orders", "b-001.jsonl", lines)
    balanced(runs(config, 3), 2)
    assert column_type(config, "orders", "paid_at") == "timestamptz"
    assert query(config, "SELECT paid_at FROM orders ORDER BY id") == [(INSTANT,), (INSTANT,)]


def test_a_timestamp_column_receiving_offsets_says_it_stores_utc(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "visits")
    sent = ["2026-11-20T07:20:23-04:00", "2026-11-20T12:20:23+01:00"]
    lines = [f'{{"id": {i}, "created_at": "{t}"}}' for i, t in enumerate(sent, 1)]
    write_lines(config, "visits", "b-001.jsonl", lines)
    write_lines(config, "visits", "b-002.jsonl", ['{"id": 3, "created_at": "2026-11-20T03:20:23-08:00"}'])
    balanced(run(config), 3)
    naive = INSTANT.replace(tzinfo=None)
    assert query(config, "SELECT created_at FROM visits ORDER BY id") == [(naive,)] * 3  # UTC times
    note = (
        "visits.created_at stores UTC: a timestamp without time zone, it keeps the instant of times "
        "sent with offsets (+01:00, -04:00) as their UTC time, not the offset"
    )
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        history = [e["text"] for e in pipeline.history() if e["kind"] == "note"]
    assert len(history) == 1  # said once, not per batch
    assert history[0].startswith(note)
    assert "type: timestamptz keeps each time as the instant it is" in history[0]
    contract_note = query(config, "SELECT note FROM pipefix.contracts WHERE table_name = 'visits'")
    assert note in contract_note[0][0]


def test_a_timestamp_column_edited_to_timestamptz_keeps_every_instant(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "visits")
    write_lines(config, "visits", "b-001.jsonl", [f'{{"id": 1, "created_at": "{SENT_AS[0]}"}}'])
    balanced(run(config), 1)
    config.write_text(
        config.read_text().replace(
            "{type: timestamp, nullable: false}", "{type: timestamptz, nullable: false}"
        )
    )
    write_lines(config, "visits", "b-002.jsonl", [f'{{"id": 2, "created_at": "{SENT_AS[1]}"}}'])
    summary = run(config)
    balanced(summary, 2)
    assert column_type(config, "visits", "created_at") == "timestamptz"
    assert query(config, "SELECT created_at FROM visits ORDER BY id") == [(INSTANT,), (INSTANT,)]
    assert query(config, "SELECT count(*) FROM visits_v1") == [(2,)]  # readers of v1 keep theirs
