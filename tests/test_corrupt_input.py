"""Corrupt batch files, on DuckDB and on a real PostgreSQL: each bad record (or unreadable file) is
held in quarantine with a reason, everything else loads with exact values, nothing is lost, and
`pipefix check` answers 1 while the step's errors are over the goal, 0 once healthy."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from tests.conftest import settled

# `pipefix check` reads the wall clock: timestamps near the real now keep freshness passing.
NOW = datetime.now(UTC).replace(microsecond=0)
HEADER = ["id", "name", "amount", "created_at"]

CONFIG = """
warehouse: {warehouse}
landing: landing
tables:
  events:
    key: id
    columns: &columns
      id:         {{type: bigint, nullable: false}}
      name:       {{type: varchar}}
      amount:     {{type: "decimal(12,2)", nullable: false}}
      created_at: {{type: timestamp, nullable: false}}
    freshness: 24h
  payments:
    key: id
    columns: *columns
    freshness: 24h
budget: {{max_fixes: 15}}
goal: {{health: 0.95, error_rate: 0.02}}
"""


def clock(step: int) -> datetime:
    return NOW


@pytest.fixture(params=["duckdb", "postgres"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = "duckdb:///warehouse.duckdb"
    if request.param == "postgres":
        warehouse = request.getfixturevalue("pg_url")
    path = tmp_path / "pipefix.yaml"
    path.write_text(CONFIG.format(warehouse=warehouse))
    return path


def row(i: int, name: str | None = None) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"n{i}" if name is None else name,
        "amount": f"{i}.{i % 100:02d}",
        "created_at": (NOW - timedelta(minutes=i % 90)).isoformat(),
    }


def json_line(r: dict[str, Any]) -> str:
    return json.dumps(r | {"amount": float(r["amount"])}, ensure_ascii=False)


def csv_line(r: dict[str, Any]) -> str:
    return ",".join(f'"{v}"' if "," in str(v) else str(v) for v in r.values())


def write(config: Path, table: str, name: str, content: str | bytes) -> Path:
    path = config.parent / "landing" / table / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)
    settled(path)
    return path


def good_payments(config: Path, name: str, ids: range) -> None:
    write(config, "payments", name, "".join(json_line(row(i)) + "\n" for i in ids))


def run(config: Path) -> dict[str, Any]:
    with Pipeline.open(config, clock=clock) as pipeline:
        return pipeline.run(1)


def query(config: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        return [tuple(r) for r in pipeline.engine.query(sql, params)]


def held(config: Path, table: str) -> list[tuple[int, str, str, str]]:
    """The table's quarantine: (line_no, reason, kind, raw), in line order."""
    rows = query(
        config,
        "SELECT line_no, reason, kind, raw FROM pipefix.quarantine WHERE table_name = ? "
        "AND replayed_step IS NULL ORDER BY batch_id, line_no",
        (table,),
    )
    return [(int(n), str(r), str(k), str(w)) for n, r, k, w in rows]


def loaded(config: Path, table: str) -> list[tuple[int, str | None, Decimal]]:
    return [(int(i), n, a) for i, n, a in query(config, f"SELECT id, name, amount FROM {table} ORDER BY id")]


def expected(ids: list[int]) -> list[tuple[int, str | None, Decimal]]:
    return [(i, f"n{i}", Decimal(row(i)["amount"])) for i in sorted(ids)]


def balanced(summary: dict[str, Any], received: int, quarantined: int) -> None:
    rows = summary["rows"]
    assert (rows["received"], rows["quarantined"]) == (received, quarantined)
    assert rows["loaded"] + rows["quarantined"] == received
    assert (rows["lost"], rows["duplicated"]) == (0, 0)


def check_exit(config: Path) -> int:
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code


def test_jsonl_with_invalid_line_and_truncated_end(config: Path) -> None:
    lines = [json_line(row(i)) for i in range(1, 21)]
    lines.insert(7, '{"id": 900, "name": oops, "amount": 1.00}')  # line 8: not JSON
    truncated = json_line(row(21))[:25]  # the producer died mid-write: no newline either
    write(config, "events", "e-001.jsonl", "\n".join(lines) + "\n" + truncated)
    good_payments(config, "p-001.jsonl", range(1, 21))

    summary = run(config)
    balanced(summary, 42, quarantined=2)
    assert held(config, "events") == [
        (8, "malformed JSON record", "malformed", lines[7]),
        (22, "malformed JSON record", "malformed", truncated),
    ]
    assert loaded(config, "events") == expected(list(range(1, 21)))
    assert loaded(config, "payments") == expected(list(range(1, 21)))
    assert check_exit(config) == 1  # 2 of 42 rows held this step: over the 2% goal

    summary = run(config)  # nothing new: no repair can read a malformed record, it stays held
    balanced(summary, 42, quarantined=2)
    assert summary["fixes"] == []
    # A quiet step hides nothing: 2 of the 22 lines events received still wait (over 2%).
    assert check_exit(config) == 1
    assert summary["held"]["tables"]["events"]["unreadable"] == 2
    [waiting] = summary["waiting"]
    assert waiting["table"] == "events"
    assert "malformed JSON record" in waiting["reason"]

    write(config, "events", "e-002.jsonl", "".join(json_line(row(i)) + "\n" for i in range(100, 200)))
    summary = run(config)  # 2 of 122 held: within the goal again
    balanced(summary, 142, quarantined=2)
    assert summary["waiting"] == []
    assert check_exit(config) == 0
    assert len(held(config, "events")) == 2


def test_csv_with_broken_quote_and_short_line(config: Path) -> None:
    lines = [",".join(HEADER)] + [
        csv_line(row(i, f"Smith, {i}" if i % 4 == 0 else None)) for i in range(1, 31)
    ]
    broken = '7,"Unterminated,7.07,' + row(7)["created_at"]
    lines[7] = broken  # line 8 of the file (the header is line 1): the quote never closes
    lines[15] = "15,short"  # line 16: too few fields
    write(config, "events", "e-001.csv", "\n".join(lines) + "\n")
    good_payments(config, "p-001.jsonl", range(1, 31))

    summary = run(config)
    balanced(summary, 60, quarantined=2)
    assert held(config, "events") == [
        (8, "broken CSV quoting", "malformed", broken),
        (16, "expected 4 CSV fields, got 2", "malformed", "15,short"),
    ]
    good = [i for i in range(1, 31) if i not in (7, 15)]
    names = {i: f"Smith, {i}" if i % 4 == 0 else f"n{i}" for i in good}
    got = loaded(config, "events")
    assert got == [(i, names[i], a) for i, _, a in expected(good)]  # every line after line 8 loads
    assert query(config, "SELECT sum(amount) FROM events") == [
        (sum(Decimal(row(i)["amount"]) for i in good),)
    ]
    assert check_exit(config) == 1
    run(config)
    assert check_exit(config) == 1  # 2 of 30 lines of events still held: a quiet step changes nothing
    more = [",".join(HEADER)] + [csv_line(row(i)) for i in range(100, 200)]
    write(config, "events", "e-002.csv", "\n".join(more) + "\n")
    run(config)
    assert check_exit(config) == 0  # 2 of 130


def test_csv_unterminated_quote_then_stray_quote_keeps_the_lines_between(config: Path) -> None:
    lines = [",".join(HEADER)] + [csv_line(row(i)) for i in range(1, 21)]
    lines[5] = '5,"open,5.05,' + row(5)["created_at"]  # line 6: the quote never closes
    lines[12] = '12,Pipe 12",12.12,' + row(12)["created_at"]  # line 13: an inch mark
    write(config, "events", "e-001.csv", "\n".join(lines) + "\n")

    summary = run(config)
    balanced(summary, 20, quarantined=2)
    assert [(n, r) for n, r, _, _ in held(config, "events")] == [
        (6, "broken CSV quoting"),
        (13, "broken CSV quoting"),
    ]
    assert loaded(config, "events") == expected([i for i in range(1, 21) if i not in (5, 12)])


def test_unreadable_parquet_is_one_held_record_naming_the_file(
    config: Path, request: pytest.FixtureRequest
) -> None:
    write(config, "events", "e-001.parquet", os.urandom(4096))
    good = config.parent / "landing" / "events" / "e-002.parquet"
    duckdb.sql(
        "COPY (SELECT i AS id, 'n' || i AS name, (i || '.' || lpad((i % 100)::VARCHAR, 2, '0'))"
        f"::DECIMAL(12,2) AS amount, TIMESTAMP '{NOW.replace(tzinfo=None)}' - INTERVAL (i % 90) MINUTE "
        f"AS created_at FROM range(1, 61) t(i)) TO '{good}' (FORMAT parquet)"
    )
    settled(good)
    good_payments(config, "p-001.jsonl", range(1, 61))

    summary = run(config)
    balanced(summary, 121, quarantined=1)
    [(line_no, reason, kind, raw)] = held(config, "events")
    assert (line_no, kind, raw) == (0, "malformed", "")
    assert reason.startswith("unreadable parquet file e-001.parquet: ")
    assert held(config, "payments") == []
    assert loaded(config, "events") == expected(list(range(1, 61)))
    assert loaded(config, "payments") == expected(list(range(1, 61)))
    assert check_exit(config) == 0  # 1 of 61 held: within the 2% goal
    balanced(run(config), 121, quarantined=1)


def latin1(config: Path, suffix: str, names: dict[int, str]) -> None:
    rows = [row(i, names[i]) for i in names]
    if suffix == "jsonl":
        text = "".join(json_line(r) + "\n" for r in rows)
    else:
        text = ",".join(HEADER) + "\n" + "".join(csv_line(r) + "\n" for r in rows)
    write(config, "events", f"e-001.{suffix}", text.encode("latin-1"))
    good_payments(config, "p-001.jsonl", range(1, 21))


NAMES = {i: f"Müller-{i}" if i % 2 else f"n{i}" for i in range(1, 21)}


def test_latin1_jsonl_lines_are_held_one_by_one_and_the_rest_loads(config: Path) -> None:
    latin1(config, "jsonl", NAMES)
    summary = run(config)
    balanced(summary, 40, quarantined=10)
    held_lines = held(config, "events")
    assert [n for n, *_ in held_lines] == [i for i in NAMES if i % 2]  # the lines with "ü" in latin-1
    assert {(reason.split(" (")[0], kind) for _, reason, kind, _ in held_lines} == {
        ("line is not UTF-8", "malformed")
    }
    assert loaded(config, "events") == expected([i for i in NAMES if i % 2 == 0])  # "n2", "n4", ...
    assert loaded(config, "payments") == expected(list(range(1, 21)))


def test_latin1_csv_is_never_loaded_altered(config: Path) -> None:
    latin1(config, "csv", NAMES)
    summary = run(config)
    rows = summary["rows"]
    assert rows["loaded"] + rows["quarantined"] == rows["received"]
    assert (rows["lost"], rows["duplicated"]) == (0, 0)
    assert loaded(config, "payments") == expected(list(range(1, 21)))
    events = loaded(config, "events")
    assert [name for _, name, _ in events] == [NAMES[i] for i, _, _ in events]  # loaded exactly, or ...
    lines = [n for n, reason, _, _ in held(config, "events") if reason]
    if events or lines != [0]:  # ... held line by line, or as the whole file: never altered
        assert sorted([i + 1 for i, _, _ in events] + lines) == list(range(2, 22))


def test_empty_and_header_only_files_load_nothing_without_error(config: Path) -> None:
    write(config, "events", "e-001.jsonl", "")
    write(config, "events", "e-002.csv", ",".join(HEADER) + "\n")
    write(config, "payments", "p-001.csv", "")
    write(config, "payments", "p-002.jsonl", "\n\n")
    summary = run(config)
    balanced(summary, 0, quarantined=0)
    # The two files of no byte are reported as empty (landing_report.py), never batches.
    assert summary["files"]["by_kind"] == {"empty": 2}
    assert query(config, "SELECT count(*), sum(received) FROM pipefix.batches") == [(2, 0)]
    assert query(config, "SELECT count(*) FROM pipefix.quarantine") == [(0,)]
    assert loaded(config, "events") == []

    good_payments(config, "p-003.jsonl", range(1, 11))
    write(config, "events", "e-003.csv", ",".join(HEADER) + "\n" + csv_line(row(1)) + "\n")
    summary = run(config)
    balanced(summary, 11, quarantined=0)
    assert loaded(config, "events") == expected([1])
    assert loaded(config, "payments") == expected(list(range(1, 11)))
    assert check_exit(config) == 0


# Whitespace Python's str.strip() removes and DuckDB's trim() keeps (tabs, form feeds, U+2028 ...).
ODD_BLANKS = ["\t", "\x0c \u2028", "\x85", "\u3000\x1f", " \x0b\r"]


def test_lines_of_only_whitespace_are_no_records_in_jsonl_or_csv(config: Path) -> None:
    jsonl = "".join(json_line(row(i)) + "\n" + blank + "\n" for i, blank in enumerate(ODD_BLANKS, 1))
    write(config, "events", "e-001.jsonl", jsonl)
    rows = [csv_line(row(i)) + "\n" + blank + "\n" for i, blank in enumerate(ODD_BLANKS, 1)]
    write(config, "payments", "p-001.csv", ",".join(HEADER) + "\n" + "".join(rows))
    summary = run(config)
    balanced(summary, 10, quarantined=0)
    assert query(config, "SELECT received, loaded FROM pipefix.batches ORDER BY table_name") == [
        (5, 5),
        (5, 5),
    ]
    assert loaded(config, "events") == loaded(config, "payments") == expected([1, 2, 3, 4, 5])


def test_a_cr_inside_the_csv_header_holds_the_file_as_one_record(config: Path) -> None:
    header = "id,na\rme,amount,created_at"  # a lone CR: not a line end, but no CSV reader splits it
    write(
        config, "events", "e-001.csv", header + "\n" + "".join(csv_line(row(i)) + "\n" for i in range(1, 6))
    )
    good_payments(config, "p-001.jsonl", range(1, 6))
    summary = run(config)
    balanced(summary, 6, quarantined=1)
    reason = "CSV header: cannot be split into fields (new-line character seen in unquoted field)"
    assert held(config, "events") == [(1, reason, "malformed", header)]
    assert loaded(config, "events") == []
    assert loaded(config, "payments") == expected([1, 2, 3, 4, 5])


def test_odd_keys_and_inexact_amounts_are_held_and_the_rest_loads_exactly(config: Path) -> None:
    def line(i: int, amount: str, extra: str = "") -> str:
        return f'{{"id": {i}, "name": "n{i}", "amount": {amount}, "created_at": "{NOW.isoformat()}"{extra}}}'

    lines = [
        line(1, "1.10"),
        line(2, "0.30000000000000004"),  # exact only through a double: refused
        line(3, "0.3000000000000000000001"),  # its double is 0.3: refused all the same
        line(4, "1e-400"),
        line(5, "2.5", ', "": 1'),  # an empty key
        line(6, "3.5", ', "a\\\\": 1'),  # a key ending in a backslash
        line(7, "12345678.9000000000000000000000"),
    ]
    write(config, "events", "e-001.jsonl", "\n".join(lines) + "\n")
    summary = run(config)
    balanced(summary, 7, quarantined=5)
    inexact = "amount: value not exact at this scale"
    wider = "amount: more digits after the point than decimal(12,2) holds"  # a widening holds it
    assert [(n, r, k) for n, r, k, _ in held(config, "events")] == [
        (2, wider, "schema"),
        (3, wider, "schema"),
        (4, inexact, "value"),
        (5, 'unexpected column(s): ""', "schema"),
        (6, 'unexpected column(s): "a\\\\"', "schema"),
    ]
    assert loaded(config, "events") == [(1, "n1", Decimal("1.10")), (7, "n7", Decimal("12345678.90"))]
