"""A folder in landing/ for a table pipefix.yaml does not list is drift of the pipeline: pipefix
proposes a contract inferred from its files and adds the table under policy `add_table` (approve
by default, auto, block) — its records wait, counted, until then, and load exactly once after —
on DuckDB and a real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.domain.actions import Action, FixType, Tool
from pipefix.planners.llm_schemas import ActionAnswer, InvalidAnswer, to_action
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
{policies}
"""

REFUNDS = [{"refund_id": i, "order_id": 1000 + i, "amount": i + 0.25, "note": f"r{i}"} for i in range(1, 51)]
PROPOSED = (
    "refund_id integer not null (key), order_id integer not null, amount decimal(18,2) not null, "
    "note varchar not null"
)


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url")) if request.param == "postgres" else "duckdb:///w.duckdb"


def project(tmp_path: Path, warehouse: str, policies: str = "") -> Path:
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse, policies=policies))
    write(
        tmp_path / "landing" / "orders" / "b1.jsonl", [{"order_id": i, "status": "new"} for i in range(1, 13)]
    )
    write(tmp_path / "landing" / "refunds" / "b1.jsonl", REFUNDS)
    return tmp_path


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(path)


def cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(root / "pipefix.yaml")])
    assert result.exit_code in (0, 1), result.output
    return result.output


def run_json(root: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(cli(root, "run", "--json"))
    return summary


def refunds_rows(root: Path) -> tuple[int, int]:
    """(rows, distinct lineage pairs) of the refunds table."""
    with Pipeline.open(root / "pipefix.yaml", read_only=True) as pipeline:
        rows = pipeline.engine.query(
            "SELECT count(*), count(DISTINCT (_pipefix_batch, _pipefix_line)) FROM refunds"
        )[0]
    return int(rows[0]), int(rows[1])


def test_a_new_table_waits_for_approval_then_loads_exactly_once(tmp_path: Path, warehouse: str) -> None:
    root = project(tmp_path, warehouse)
    summary = run_json(root)
    assert summary["healthy"] is False
    assert (summary["rows"]["received"], summary["rows"]["loaded"], summary["rows"]["waiting"]) == (
        62,
        12,
        50,
    )
    [entry] = summary["new_tables"]
    decision = entry["decision"]
    assert entry | {"yaml": None} == {
        "table": "refunds",
        "files": 1,
        "records": 50,
        "policy": "approve",
        "decision": decision,
        "contract": PROPOSED,
        "yaml": None,
        "problem": None,
        "status": "waiting for approval",
        "needs": f"pipefix approve {decision} adds refunds and loads its 50 records "
        f"(pipefix reject {decision} keeps them reported), or add tables.refunds to pipefix.yaml",
    }
    assert "    key: refund_id\n" in entry["yaml"]
    assert '      amount: {type: "decimal(18,2)", nullable: false}\n' in entry["yaml"]
    # The goal was revised to adopt it; the plan's action waits for a person.
    assert summary["revisions"][0]["reason"] == "new table refunds in landing/: 50 records wait for a table"
    history = json.loads(cli(root, "history", "--json"))
    [waiting] = history["waiting"]
    assert (waiting["fix_type"], waiting["table"]) == ("add_table", "refunds")
    assert waiting["drift"] == f"new table refunds: 1 file(s), 50 records; proposed contract: {PROPOSED}"
    output = cli(root, "run", "--no-color")  # still waiting: nothing changes, nothing is lost
    assert f"pipefix approve {decision} adds refunds and loads its 50 records" in output
    assert "NOT HEALTHY" in output

    assert "add_table on refunds approved" in cli(root, "approve", str(decision))
    output = cli(root, "run", "--no-color")
    assert "-> apply_fix(add_table, refunds) ok" in output
    assert "paste the YAML under tables: in pipefix.yaml to own refunds's contract:" in output
    assert "      refund_id: {type: integer, nullable: false}" in output
    assert refunds_rows(root) == (50, 50)

    summary = run_json(root)  # a later run never loads them again
    assert refunds_rows(root) == (50, 50)
    assert "waiting" not in summary["rows"]
    assert (summary["rows"]["received"], summary["rows"]["loaded"], summary["rows"]["lost"]) == (62, 62, 0)
    assert summary["files"]["text"] == "files: 2 read, 0 reported"
    assert summary["healthy"] is True
    [added] = summary["new_tables"]
    assert (added["table"], added["status"], added["contract"]) == ("refunds", "added", PROPOSED)
    # Recorded as a contract change: rollback and history see it.
    entries = json.loads(cli(root, "history", "--json"))["history"]
    assert any(
        e["kind"] == "fix" and e["text"].startswith("apply_fix(add_table, refunds) ok") for e in entries
    )
    assert any(e["kind"] == "read" and e["file"] == "refunds/b1.jsonl" for e in entries)
    with Pipeline.open(root / "pipefix.yaml", read_only=True) as pipeline:
        states = pipeline.engine.query(
            "SELECT contract_version, cause FROM pipefix.table_states WHERE table_name = 'refunds'"
        )
    assert states == [(1, "add_table")]

    # Pasting the snippet into pipefix.yaml owns the table: no edit, no removal, nothing reloaded.
    config = root / "pipefix.yaml"
    snippet = added["yaml"].removeprefix("tables:\n")
    config.write_text(config.read_text().replace("\n\n", "\n").rstrip("\n") + "\n" + snippet)
    summary = run_json(root)
    assert summary["contract_edits"] == []
    assert summary["new_tables"] == []
    assert refunds_rows(root) == (50, 50)


def test_an_approval_holds_for_the_contract_it_showed(tmp_path: Path) -> None:
    """Files that change the proposal after it was shown supersede its decision: approving the
    old one is refused, naming the new one; a file that keeps the proposal keeps the decision."""
    root = project(tmp_path, "duckdb:///w.duckdb")
    first = run_json(root)["new_tables"][0]["decision"]
    write(
        root / "landing" / "refunds" / "b2.jsonl",
        [dict(r, refund_id=int(str(r["refund_id"])) + 100) for r in REFUNDS],
    )
    assert run_json(root)["new_tables"][0]["decision"] == first  # same contract: same decision
    rows = [dict(r, reason="duplicate charge") for r in REFUNDS]
    write(root / "landing" / "refunds" / "b3.jsonl", rows)
    summary = run_json(root)
    [entry] = summary["new_tables"]
    assert entry["decision"] != first
    assert "reason varchar" in entry["contract"]
    result = CliRunner().invoke(main, ["approve", str(first), "--config", str(root / "pipefix.yaml")])
    assert result.exit_code == 2
    assert f"decide on decision {entry['decision']}" in result.output
    assert "add_table on refunds approved" in cli(root, "approve", str(entry["decision"]))
    run_json(root)
    with Pipeline.open(root / "pipefix.yaml", read_only=True) as pipeline:
        columns = pipeline.engine.table_columns("refunds")
    assert "reason" in columns
    assert refunds_rows(root) == (150, 150)


def test_a_new_table_waiting_for_a_person_never_keeps_a_drift_from_revising_the_goal(tmp_path: Path) -> None:
    """Records of a rejected new table wait for a person, not for the agent: a drift of another
    table still revises the goal (which keeps the adoption in it) and is repaired."""
    root = project(tmp_path, "duckdb:///w.duckdb")
    decision = run_json(root)["new_tables"][0]["decision"]
    cli(root, "reject", str(decision))
    rows = [{"order_id": i, "status": "new", "coupon": "WINTER"} for i in range(100, 160)]
    write(root / "landing" / "orders" / "b2.jsonl", rows)
    result = CliRunner().invoke(
        main, ["run", "--steps", "3", "--json", "--config", str(root / "pipefix.yaml")]
    )
    summary = json.loads(result.output)
    adoption, revision = summary["revisions"]  # over the pipeline's life
    assert adoption["reason"] == "new table refunds in landing/: 50 records wait for a table"
    assert (revision["step"], revision["to_version"]) == (2, 3)
    assert summary["goal"]["description"].startswith("Adapt orders to schema v2.0")
    assert summary["goal"]["description"].endswith("; also adopt table refunds")
    assert "schema_migration" in [f["action"] for f in summary["fixes"]]
    assert (summary["rows"]["loaded"], summary["rows"]["waiting"]) == (72, 50)


def test_auto_adds_and_loads_a_new_table_in_one_run(tmp_path: Path, warehouse: str) -> None:
    root = project(tmp_path, warehouse, "policies: {add_table: auto}")
    summary = run_json(root)
    assert refunds_rows(root) == (50, 50)
    assert (summary["rows"]["received"], summary["rows"]["loaded"], summary["rows"]["lost"]) == (62, 62, 0)
    assert summary["files"]["reported"] == 0
    assert [f["action"] for f in summary["fixes"]] == ["add_table"]
    run_json(root)
    assert refunds_rows(root) == (50, 50)


def test_block_keeps_a_new_table_reported_with_the_policy_named(tmp_path: Path, warehouse: str) -> None:
    root = project(tmp_path, warehouse, "policies: {add_table: block}")
    output = cli(root, "run", "--no-color")
    assert "refused apply_fix(add_table, refunds) (blocked by policy add_table: block" in output
    summary = run_json(root)
    [entry] = summary["new_tables"]
    assert (entry["status"], entry["needs"]) == (
        "blocked",
        "policy add_table is block: add tables.refunds to pipefix.yaml to load them",
    )
    assert summary["rows"]["waiting"] == 50
    assert summary["healthy"] is False


def test_a_folder_with_no_record_is_reported_not_proposed(tmp_path: Path) -> None:
    root = project(tmp_path, "duckdb:///w.duckdb")
    folder = root / "landing" / "returns"
    folder.mkdir()
    (folder / "b1.jsonl").write_text("not json\n[1, 2]\n")
    settled(folder / "b1.jsonl")
    summary = run_json(root)
    entry = next(e for e in summary["new_tables"] if e["table"] == "returns")
    assert entry["status"] == "no contract inferred"
    assert entry["problem"].startswith("no JSON record among its 2 record(s)")
    assert entry["problem"].endswith(": no contract can be inferred")
    assert not any(f["target"] == "returns" for f in summary["fixes"])


def test_a_model_may_ask_to_add_only_a_new_plainly_named_table() -> None:
    def ask(target: str) -> Action:
        return to_action(ActionAnswer(tool="apply_fix", target=target, fix_type="add_table"), ["orders"], {})

    assert ask("refunds") == Action(Tool.APPLY_FIX, "refunds", FixType.ADD_TABLE)
    with pytest.raises(InvalidAnswer, match="is a table already"):
        ask("orders")
    with pytest.raises(InvalidAnswer, match="not a table name"):
        ask("refunds; drop table orders")
