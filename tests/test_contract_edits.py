"""Edits of pipefix.yaml after the first run are applied or refused, never ignored — on DuckDB and
on a real PostgreSQL: a new allowed value releases the rows held for it, a type widened becomes a
new contract version, a narrowing edit is refused with its file and line, a run without an edit
changes nothing, and the agent's own repairs are no edit of the user's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.engines import store
from tests.conftest import settled

CONFIG = """\
warehouse: {warehouse}
landing: landing
tables:
  orders:
    key: order_id
    columns:
      order_id: {{type: bigint, nullable: false}}
      qty:      {{type: integer, min: 0}}
      status:   {{type: varchar, values: [new, paid]}}
"""


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = request.getfixturevalue("pg_url") if request.param == "postgres" else "duckdb:///w.duckdb"
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    return tmp_path


def send(project: Path, name: str, rows: list[dict[str, Any]]) -> None:
    path = project / "landing" / "orders" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(path)


def orders(ids: range, status: str = "new", **extra: Any) -> list[dict[str, Any]]:
    return [{"order_id": i, "qty": i, "status": status, **extra} for i in ids]


def edit(project: Path, old: str, new: str) -> int:
    """Replace text in pipefix.yaml; returns the line it is on."""
    config = project / "pipefix.yaml"
    text = config.read_text()
    assert text.count(old) == 1, old
    config.write_text(text.replace(old, new))
    return text[: text.index(old)].count("\n") + 1


def cli(project: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--config", str(project / "pipefix.yaml")])
    assert result.exit_code in (0, 1), result.output
    return result


def run_json(project: Path, steps: int = 1) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(cli(project, "run", "--json", "--steps", str(steps)).stdout)
    return summary


def contract(project: Path) -> Any:
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        return store.active_contract(pipeline.engine, "orders")


def test_a_new_allowed_value_releases_the_rows_held_for_it(project: Path) -> None:
    send(project, "a.jsonl", [*orders(range(1, 99)), *orders(range(99, 101), status="refunded")])
    summary = run_json(project)
    assert summary["rows"]["quarantined"] == 2  # too few to be a producer's change: held as bad values
    assert summary["contract_edits"] == []

    edit(project, "values: [new, paid]", "values: [new, paid, refunded]")
    output = cli(project, "run", "--no-color").output
    assert (
        "contract edited in pipefix.yaml: orders v1 -> v2: status also allows 'refunded'; "
        "replayed 2 held rows, 0 still held" in output
    )
    assert output.index("contract edited") < output.index("Step  2")  # taken up before the step
    summary = run_json(project)  # a run without an edit changes nothing
    assert summary["contract_edits"] == []
    assert summary["rows"] | {"replayed": 2} == {
        "received": 100,
        "loaded": 100,
        "quarantined": 0,
        "duplicates": 0,
        "replayed": 2,
        "lost": 0,
        "duplicated": 0,
    }
    active = contract(project)
    assert active.version == 2
    assert active.column("status").values == ("new", "paid", "refunded")

    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        engine = pipeline.engine
        assert engine.query("SELECT count(*) FROM orders WHERE status = 'refunded'") == [(2,)]
        assert engine.query("SELECT count(*) FROM orders_v1") == [(100,)]  # v1 readers keep their view
        [(_, _, audit)] = store.audit_trail(engine, ("contract_edit",))
        assert (audit["by"], audit["changes"], audit["replayed"]) == (
            "pipefix.yaml",
            ["status also allows 'refunded'"],
            2,
        )
    assert (
        "edit       contract edited in pipefix.yaml: orders v1 -> v2: status also allows 'refunded'"
        in cli(project, "history").output
    )


def test_a_widened_type_becomes_a_new_contract_version(project: Path) -> None:
    send(project, "a.jsonl", orders(range(1, 11)))
    run_json(project)
    edit(project, "values: [new, paid]", "values: [new, paid, shipped]")  # v2, and the view orders_v1
    run_json(project)
    edit(project, "{type: integer, min: 0}", "{type: bigint, min: 0}")
    summary = run_json(project)
    [widened] = summary["contract_edits"]
    assert widened["detail"].startswith("v2 readers keep orders_v2")
    assert (widened["status"], widened["from_version"], widened["to_version"]) == ("applied", 2, 3)
    assert widened["changes"] == ["widen qty integer -> bigint"]
    assert contract(project).column("qty").type == "bigint"

    send(project, "b.jsonl", orders(range(11, 13), qty=3_000_000_000))  # past a 32-bit integer
    summary = run_json(project)
    assert summary["rows"]["loaded"] == 12
    assert summary["rows"]["quarantined"] == 0
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        engine = pipeline.engine
        assert engine.query("SELECT max(qty) FROM orders") == [(3_000_000_000,)]
        # Readers of earlier versions keep their views (on PostgreSQL, at the types they knew).
        assert engine.query("SELECT count(*) FROM orders_v2") == [(12,)]
        assert engine.query("SELECT sum(qty) FROM orders_v1 WHERE order_id <= 10") == [(55,)]


def test_a_narrowing_edit_is_refused_with_its_file_and_line(project: Path) -> None:
    send(project, "a.jsonl", orders(range(1, 11), status="paid"))
    run_json(project)
    line = edit(project, "values: [new, paid]", "values: [new, refunded]")
    expected = (
        f"{project / 'pipefix.yaml'}:{line}: tables.orders.columns.status.values: removing 'paid' "
        "would narrow the contract (rows already loaded may hold it); the active contract v1 stays"
    )
    result = cli(project, "run", "--no-color")
    assert result.exit_code == 0  # the run goes on under the active contract
    assert f"warning: {expected}" in re.sub(r"\s*\n\s*", " ", result.output)
    assert "not applied either, a table's edit is whole: status also allows 'refunded'" in result.output

    result = cli(project, "run", "--json")  # said again on every run, to stderr beside the JSON
    assert expected in result.stderr
    [refused] = json.loads(result.stdout)["contract_edits"]
    assert (refused["status"], refused["refused"]) == ("refused", [expected.rsplit("; ", 1)[0]])
    assert contract(project).version == 1
    history = cli(project, "history").output
    assert history.count("contract edit of orders in pipefix.yaml refused") == 1  # recorded once

    edit(project, "values: [new, refunded]", "values: [new, paid]")  # put back: nothing to refuse
    assert run_json(project)["contract_edits"] == []


def test_a_column_removed_from_the_yaml_is_refused_not_dropped(project: Path) -> None:
    send(project, "a.jsonl", orders(range(1, 4)))
    run_json(project)
    edit(project, "      qty:      {type: integer, min: 0}\n", "")
    line = 6  # the key is gone: the line of `columns:`, where it was
    [refused] = run_json(project)["contract_edits"]
    assert refused["refused"] == [
        f"{project / 'pipefix.yaml'}:{line}: tables.orders.columns.qty: removing column qty would drop "
        "it and the values loaded in it; pipefix never drops a column (keep it, with `nullable: true` "
        "if it may be missing)"
    ]
    assert contract(project).column("qty") is not None


def test_after_an_agent_repair_the_next_run_is_not_an_edit(project: Path) -> None:
    send(project, "a.jsonl", orders(range(1, 21)))
    run_json(project)
    send(project, "b.jsonl", orders(range(21, 41), coupon="WINTER"))  # a column the yaml lacks
    summary = run_json(project, steps=2)
    assert summary["rows"]["quarantined"] == 0
    assert contract(project).column("coupon") is not None  # the agent added it: v2
    assert contract(project).version == 2

    assert run_json(project)["contract_edits"] == []  # its own repair is no edit
    edit(project, "      status:", "      coupon:   {type: varchar}\n      status:")  # the yaml catches up
    assert run_json(project)["contract_edits"] == []
    assert contract(project).version == 2

    edit(project, "values: [new, paid]", "values: [new, paid, shipped]")
    [applied] = run_json(project)["contract_edits"]
    assert (applied["status"], applied["to_version"]) == ("applied", 3)
    repaired_and_edited = contract(project)
    assert repaired_and_edited.column("coupon") is not None
    assert repaired_and_edited.column("status").values == ("new", "paid", "shipped")
