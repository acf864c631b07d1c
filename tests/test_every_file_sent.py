"""Issue 18 end to end: a landing folder holding every kind of file a producer sends — a JSON
array, a gzip-compressed JSONL, a European CSV (byte-order mark, `;`, decimal commas), a batch
in a new vocabulary (`yes`/`no`, `OPEN`/`PAID`), files pipefix cannot read, an empty file and a
folder for a table the contract does not list — ends with every file in the run's accounting,
every record loaded with the exact value sent, and nothing held without a reason a user can act
on; on DuckDB and a real PostgreSQL."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from tests.conftest import settled

CONFIG = """
warehouse: {warehouse}
landing: landing
tables:
  orders:
    key: order_id
    columns:
      order_id: {{type: bigint, nullable: false}}
      active:   {{type: boolean}}
      status:   {{type: varchar, values: [open, paid]}}
      amount:   {{type: "decimal(10,2)"}}
"""


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url")) if request.param == "postgres" else "duckdb:///w.duckdb"


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def landing(root: Path) -> None:
    orders, refunds = root / "landing" / "orders", root / "landing" / "refunds"
    orders.mkdir(parents=True)
    refunds.mkdir(parents=True)
    (orders / "b1.jsonl").write_text(
        jsonl(
            [{"order_id": i, "active": i % 2 == 0, "status": "open", "amount": i + 0.5} for i in range(1, 21)]
        )
    )
    (orders / "b4.json").write_text(
        json.dumps(
            [{"order_id": i, "active": True, "status": "paid", "amount": i + 0.25} for i in range(101, 111)]
        )
    )
    rows = [{"order_id": i, "active": False, "status": "open", "amount": "3.5"} for i in range(201, 211)]
    (orders / "b5.jsonl.gz").write_bytes(gzip.compress(jsonl(rows).encode()))
    european = "order_id;active;status;amount\n" + "".join(f"{i};true;open;{i},50\n" for i in range(401, 451))
    (orders / "b6.csv").write_bytes(european.encode("utf-8-sig"))
    (orders / "b7.jsonl").write_text(
        jsonl(
            [
                {"order_id": i, "active": "yes" if i % 2 else "no", "status": "OPEN" if i % 2 else "PAID"}
                for i in range(1001, 1201)
            ]
        )
    )
    (orders / "notes.txt").write_text("sent by the producer's tooling\n")
    (orders / "export.xml").write_text("<orders/>\n")
    (orders / "empty.jsonl").write_text("")
    (refunds / "b1.jsonl").write_text(
        jsonl([{"refund_id": i, "order_id": 1000 + i, "amount": i + 0.25} for i in range(1, 51)])
    )
    for path in (root / "landing").rglob("*"):
        if path.is_file():
            settled(path)


def cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(root / "pipefix.yaml")])
    assert result.exit_code in (0, 1), result.output
    return result.output


def query(root: Path, sql: str) -> list[tuple[Any, ...]]:
    with Pipeline.open(root / "pipefix.yaml", read_only=True) as pipeline:
        return pipeline.engine.query(sql)


def test_every_file_a_producer_sends_is_read_or_reported(tmp_path: Path, warehouse: str) -> None:
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    landing(tmp_path)

    summary = json.loads(cli(tmp_path, "run", "--steps", "4", "--json"))
    # Every file is in the accounting: read, or reported with its reason.
    reported = {f["file"]: f["reason"] for f in summary["files"]["reported_files"]}
    assert reported == {
        "orders/empty.jsonl": "empty",
        "orders/export.xml": "unsupported format (.xml)",
        "orders/notes.txt": "unsupported format (.txt)",
        "refunds/b1.jsonl": "no contract for its folder (refunds/)",
    }
    assert (summary["files"]["read"], summary["files"]["reported"]) == (5, 4)
    # The new vocabulary was repaired; only the new table's records wait, for a person's yes.
    assert (summary["rows"]["received"], summary["rows"]["loaded"], summary["rows"]["waiting"]) == (
        340,
        290,
        50,
    )
    assert summary["rows"]["lost"] == 0
    assert summary["healthy"] is False
    [new_table] = summary["new_tables"]
    assert (new_table["table"], new_table["records"], new_table["status"]) == (
        "refunds",
        50,
        "waiting for approval",
    )
    assert f"pipefix approve {new_table['decision']}" in new_table["needs"]

    cli(tmp_path, "approve", str(new_table["decision"]))
    summary = json.loads(cli(tmp_path, "run", "--json"))
    assert summary["healthy"] is True
    assert (summary["rows"]["received"], summary["rows"]["loaded"], summary["rows"]["lost"]) == (340, 340, 0)
    assert summary["rows"].get("waiting", 0) == 0
    assert {f["file"] for f in summary["files"]["reported_files"]} == {
        "orders/empty.jsonl",
        "orders/export.xml",
        "orders/notes.txt",
    }
    assert query(tmp_path, "SELECT count(*) FROM pipefix.quarantine WHERE replayed_step IS NULL") == [(0,)]

    # Exact values, each record once (by lineage).
    assert query(tmp_path, "SELECT count(*), count(DISTINCT order_id) FROM orders") == [(290, 290)]
    rows = query(
        tmp_path,
        "SELECT order_id, active, status, amount FROM orders "
        "WHERE order_id IN (101, 201, 401, 450, 1001, 1002) ORDER BY order_id",
    )
    assert rows == [
        (101, True, "paid", Decimal("101.25")),
        (201, False, "open", Decimal("3.50")),
        (401, True, "open", Decimal("401.50")),
        (450, True, "open", Decimal("450.50")),
        (1001, True, "open", None),
        (1002, False, "paid", None),
    ]
    assert query(tmp_path, "SELECT count(*), sum(amount) FROM refunds") == [(50, Decimal("1287.50"))]
    # The CSV's dialect was sniffed and recorded with its batch.
    [(dialect,)] = query(
        tmp_path, "SELECT csv_dialect FROM pipefix.batches WHERE batch_id LIKE 'orders/b6.csv@%'"
    )
    assert json.loads(dialect) | {"sniffed": None} == {
        "delimiter": ";",
        "quote": '"',
        "decimal": ",",
        "header": True,
        "bom": True,
        "configured": [],
        "sniffed": None,
    }
    # The vocabulary's adapter keeps what was sent.
    adapters = cli(tmp_path, "adapters", "orders", "--no-color")
    assert "value_map(status: OPEN→open, PAID→paid)" in adapters
    assert "value_map(active: no→false, yes→true)" in adapters


def test_files_beyond_a_steps_capacity_are_named_as_queued(tmp_path: Path) -> None:
    """A step reads a few files per table; the others are named as queued, never silent."""
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse="duckdb:///w.duckdb"))
    orders = tmp_path / "landing" / "orders"
    orders.mkdir(parents=True)
    for n in range(1, 7):
        path = orders / f"b{n}.jsonl"
        path.write_text(jsonl([{"order_id": n, "active": True, "status": "open", "amount": 1.5}]))
        settled(path)
    summary = json.loads(cli(tmp_path, "run", "--json"))
    queued = {f["file"]: f["reason"] for f in summary["landing"]["not_ready"]}
    assert summary["files"]["read"] + len(queued) == 6
    assert set(queued) == {f"orders/b{n}.jsonl" for n in range(7 - len(queued), 7)}
    assert all(reason.startswith("queued: a step reads") for reason in queued.values())
    assert queued, "six files fit no step's capacity: some are queued"
    # The next step reads them: nothing stays queued, every file read once.
    summary = json.loads(cli(tmp_path, "run", "--json"))
    assert (summary["files"]["read"], summary["landing"]["not_ready"]) == (6, [])
    assert summary["rows"]["loaded"] == 6
