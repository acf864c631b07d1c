"""Every file under landing/ is read or reported, by name and with its reason, in `run`,
`run --json` and `history`, and counted in the accounting — on DuckDB and a real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.cli import main
from pipefix.pipeline import landing_report
from pipefix.pipeline.landing_report import Reported
from tests.conftest import settled

CONFIG = """
warehouse: {warehouse}
landing: landing
tables:
  orders:
    key: order_id
    columns:
      order_id: {{type: bigint, nullable: false}}
      status:   {{type: varchar}}
"""


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = request.getfixturevalue("pg_url") if request.param == "postgres" else "duckdb:///w.duckdb"
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    return tmp_path


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    settled(path)


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def landed(project: Path) -> None:
    """A known table's batch, two unsupported files, an empty batch, a stray file directly in
    landing/, a new table's folder, and a producer's in-progress names (never reported)."""
    landing = project / "landing"
    write(landing / "orders" / "b1.jsonl", jsonl([{"order_id": i, "status": "new"} for i in range(1, 13)]))
    write(landing / "orders" / "notes.txt", "remember to send refunds\n")
    write(landing / "orders" / "export.xml", "<orders/>\n")
    write(landing / "orders" / "b9.jsonl", "")
    write(landing / "stray.jsonl", jsonl([{"order_id": 99, "status": "new"}]))
    write(landing / "refunds" / "b1.jsonl", jsonl(REFUNDS))
    write(landing / "orders" / "b2.jsonl.tmp", "{")
    write(landing / "orders" / "_SUCCESS", "")
    write(landing / "orders" / ".b3.jsonl", "{")


REFUNDS = [{"refund_id": i, "order_id": i, "amount": f"{i}.50", "reason": "damaged"} for i in range(1, 51)]


def cli(project: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(project / "pipefix.yaml")])
    assert result.exit_code in (0, 1), result.output
    return result.output


EXPECTED = {
    "orders/b9.jsonl": ("empty", "empty"),
    "orders/export.xml": ("unsupported", "unsupported format (.xml)"),
    "orders/notes.txt": ("unsupported", "unsupported format (.txt)"),
    "refunds/b1.jsonl": ("no_contract", "no contract for its folder (refunds/)"),
    "stray.jsonl": ("outside", "not in a table's folder"),
}


def test_every_landed_file_is_read_or_reported_with_its_reason(project: Path) -> None:
    landed(project)
    output = cli(project, "run", "--no-color")
    counted = "2 unsupported, 1 no contract, 1 empty, 1 not in a table's folder"
    assert f"files: 1 read, 5 reported ({counted})" in output
    for file, (_, reason) in EXPECTED.items():
        assert f"reported: {file}: {reason}" in output  # the step line, and the summary
    for protocol in ("b2.jsonl.tmp", "_SUCCESS", ".b3.jsonl"):
        assert protocol not in output

    summary = json.loads(cli(project, "run", "--json"))
    files = summary["files"]
    assert (files["read"], files["reported"]) == (1, 5)
    assert files["by_kind"] == {"unsupported": 2, "no_contract": 1, "empty": 1, "outside": 1}
    assert {f["file"]: (f["kind"], f["reason"]) for f in files["reported_files"]} == EXPECTED
    refunds = next(f for f in files["reported_files"] if f["file"] == "refunds/b1.jsonl")
    assert refunds["records"] == 50
    # The new table's records are received and wait; nothing is lost, nothing loaded twice.
    rows = summary["rows"]
    assert (rows["received"], rows["loaded"], rows["waiting"], rows["lost"]) == (62, 12, 50, 0)
    assert summary["healthy"] is False

    history = json.loads(cli(project, "history", "--json"))["history"]
    reported = [e for e in history if e["kind"] == "reported"]
    # Each (file, bytes) once, though two runs saw them.
    assert sorted(e["file"] for e in reported) == sorted(EXPECTED)
    assert {e["text"] for e in reported} == {f"{f}: {r}" for f, (_, r) in EXPECTED.items()}
    text = cli(project, "history")
    assert "reported   orders/export.xml: unsupported format (.xml)" in text


def test_a_reported_file_later_readable_moves_to_read(project: Path) -> None:
    landed(project)
    cli(project, "run")
    orders = project / "landing" / "orders"
    write(orders / "b9.jsonl", jsonl([{"order_id": 500, "status": "paid"}]))
    summary = json.loads(cli(project, "run", "--json"))
    assert (summary["files"]["read"], summary["files"]["reported"]) == (2, 4)
    assert summary["rows"]["loaded"] == 13
    history = json.loads(cli(project, "history", "--json"))["history"]
    # The empty file (0 bytes) stays in the history as reported; its new bytes were read.
    assert [e["file"] for e in history if e["kind"] == "reported" and e["file"] == "orders/b9.jsonl"] == [
        "orders/b9.jsonl"
    ]


def test_classification_rules() -> None:
    def kind(name: str, *, size: int = 10, settled: bool = True, known: bool = True) -> object:
        readable = name.endswith((".jsonl", ".csv", ".parquet"))
        return landing_report.classify(name, "t", readable=readable, size=size, settled=settled, known=known)

    assert kind("a.jsonl") is None
    assert kind("a.jsonl", known=False) == ("no_contract", "no contract for its folder (t/)")
    assert kind("a.jsonl", size=0) == ("empty", "empty")
    assert kind("a.jsonl", size=0, settled=False) is None  # still being written: the scan waits
    assert kind("README") == ("unsupported", "unsupported format (no extension)")
    reported = [
        Reported("t/a.xml", "unsupported", "", 1),
        Reported("t/b.txt", "unsupported", "", 1),
        Reported("t/c.jsonl", "empty", "", 0),
    ]
    text = landing_report.accounting_text(12, reported)
    assert text == "files: 12 read, 3 reported (2 unsupported, 1 empty)"
    assert landing_report.accounting_text(3, []) == "files: 3 read, 0 reported"
