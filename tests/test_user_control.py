"""The user in control of rows that wait: `pipefix quarantine`, `replay`, `rollback` and
`adapters`, end to end on a real pipeline on DuckDB and on PostgreSQL, every row accounted for
after each command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.engines import store
from tests.conftest import settled
from tests.pg_server import free_port

CONFIG = """
warehouse: {warehouse}
tables:
  orders:
    key: order_id
    columns:
      order_id: {{type: bigint, nullable: false}}
      amount:   {{type: "decimal(12,2)", nullable: false, min: 0}}
      status:   {{type: varchar, values: [new, paid]}}
"""


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = "duckdb:///warehouse.duckdb"
    if request.param == "postgres":
        warehouse = request.getfixturevalue("pg_url")
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    return tmp_path


def batch(project: Path, name: str, rows: list[dict[str, Any]]) -> None:
    folder = project / "landing" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(folder / name)


def orders(first: int, amount_field: str = "amount", **extra: Any) -> list[dict[str, Any]]:
    return [
        {"order_id": i, amount_field: 5 + i % 29, "status": "paid", **extra} for i in range(first, first + 40)
    ]


def cli(project: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--config", str(project / "pipefix.yaml")])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def cli_json(project: Path, *args: str, code: int = 0) -> Any:
    result = cli(project, *args, "--json")
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def run(project: Path, steps: int) -> dict[str, Any]:
    with Pipeline.open(project / "pipefix.yaml") as pipeline:
        return pipeline.run(steps)


def accounting(project: Path) -> dict[str, int]:
    """received = loaded + held, nothing lost or loaded twice: asserted after every command."""
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        rows = store.row_accounting(pipeline.engine, ("orders",))
    assert (rows["lost"], rows["duplicated"]) == (0, 0), rows
    return rows


def user_actions(project: Path) -> list[tuple[str, str]]:
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        trail = store.audit_trail(pipeline.engine, ("user",))
    return [(p["command"], p["detail"]) for _, _, p in trail]


def test_rows_held_after_a_rename_is_undone_load_once_the_user_removes_the_adapter(project: Path) -> None:
    batch(project, "a.jsonl", orders(1))
    batch(project, "b.jsonl", orders(100, amount_field="total"))  # the producer renames amount
    run(project, 3)  # the agent adds an adapter (amount <- total) and replays
    batch(project, "c.jsonl", orders(200))  # ... then sends amount again
    summary = run(project, 2)
    assert summary["rows"]["quarantined"] == 40  # no repair the agent knows: the rows wait
    assert accounting(project)["quarantined"] == 40

    listed = cli(project, "quarantine")
    assert listed.exit_code == 1, listed.output  # never green while rows wait
    assert "orders: 40 rows held (schema 40)" in listed.output
    reason = "amount: sent under its old name after the rename to total"
    assert reason in listed.output
    assert 'line 1: {"order_id": 200, "amount": 31, "status": "paid"}' in listed.output
    held = cli_json(project, "quarantine", "orders", "--samples", "2", code=1)
    (group,) = held["groups"]
    assert (group["table"], group["kind"], group["rows"]) == ("orders", "schema", 40)
    assert reason in group["reason"]
    assert [(s["batch"].split("@")[0], s["line"]) for s in group["samples"]] == [
        ("orders/c.jsonl", 1),
        ("orders/c.jsonl", 2),
    ]
    assert held["tables"] == {"orders": {"held": 40, "schema": 40, "value": 0, "malformed": 0}}

    (adapter,) = cli_json(project, "adapters")["adapters"]
    assert adapter | {"since_step": 0} == {
        "id": "orders.amount",
        "table": "orders",
        "column": "amount",
        "kind": "rename",
        "source": "total",
        "adapter_version": 1,
        "since_adapter_version": 1,
        "since_step": 0,
        "since_contract_version": 1,
        "described": "amount <- total",
    }
    assert "orders.amount  rename  amount <- total" in cli(project, "adapters", "orders").output

    # A replay before anything changed loads nothing and says so.
    unchanged = cli_json(project, "replay", "orders", code=1)
    assert (unchanged["replayed"], unchanged["still_held_total"]) == (0, 40)
    accounting(project)

    assert cli(project, "adapters", "remove", "orders", "status").exit_code == 2
    assert "maps amount, not status" in cli(project, "adapters", "remove", "orders.status").output
    assert "TABLE COLUMN or TABLE.COLUMN" in cli(project, "adapters", "remove", "orders").output
    removed = cli_json(project, "adapters", "remove", "orders.amount")
    assert removed["removed"] == "amount <- total"
    assert (removed["adapter_version"], removed["inverse"]) == (None, "activate adapter v1")
    assert removed["would_load"] == 40
    assert accounting(project)["loaded"] == 80  # rows loaded through the adapter stay loaded
    assert cli_json(project, "adapters") == {"adapters": []}
    gone = cli(project, "adapters", "remove", "orders", "amount")
    assert (gone.exit_code, "orders has no active adapter" in gone.output) == (2, True)

    replayed = cli(project, "replay", "orders")
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.startswith("replayed 40, still held 0")
    assert "rows of orders: received 120 | loaded 120 | held 0 | lost 0" in replayed.output
    rows = accounting(project)
    assert (rows["received"], rows["loaded"], rows["quarantined"]) == (120, 120, 0)
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        amounts = pipeline.engine.query("SELECT count(amount) FROM orders WHERE order_id >= 100")
        assert amounts == [(80,)]  # b's through the adapter, c's by the replay
        assert pipeline.quarantine().held == 0
    assert cli(project, "quarantine", "--no-color").output == "orders: nothing held\n"
    assert cli(project, "check", "--no-color").exit_code == 0

    assert [command for command, _ in user_actions(project)] == ["replay", "adapters remove", "replay"]
    history = cli_json(project, "history")["history"]
    mine = [e for e in history if e["kind"] == "user"]
    assert mine[-1]["text"] == (
        "pipefix replay orders: replayed 40 held rows into orders (v1.0); 0 still held"
    )
    assert "via pipefix cli" in mine[-1]["reason"]
    summary = run(project, 1)  # the agent carries on from there
    assert summary["rows"]["quarantined"] == 0
    accounting(project)


def test_the_user_rolls_a_migration_back_and_keeps_every_row(project: Path, tmp_path: Path) -> None:
    batch(project, "a.jsonl", orders(1))
    batch(project, "b.jsonl", orders(100, coupon="WINTER"))  # a column added: migrated to v2
    run(project, 3)
    assert accounting(project)["loaded"] == 80

    for args, message in [
        (("orders", "--to", "2"), "orders is at v2.0: roll back to an earlier version (it had v1.0, v2.0)"),
        (("orders", "--to", "9"), "orders never had contract version 9"),
        (("returns", "--to", "1"), "no table 'returns' in this pipeline (tables: orders)"),
    ]:
        refused = cli(project, "rollback", *args)
        assert (refused.exit_code, message in refused.output) == (2, True), refused.output
    assert cli(project, "rollback", "orders").exit_code == 2  # --to is required

    done = cli_json(project, "rollback", "orders", "--to", "1")
    assert (done["from_version"], done["to_version"]) == (2, 1)
    assert done["detail"] == "orders v2.0 -> v1.0; kept coupon (hold data)"
    assert done["rows"]["loaded"] == 80
    assert accounting(project)["quarantined"] == 0
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        assert store.active_contract(pipeline.engine, "orders").version == 1
        assert pipeline.engine.query("SELECT count(coupon) FROM orders") == [(40,)]
        assert pipeline.check().as_dict()["tables"]["orders"]["contract_version"] == 1
    again = cli(project, "rollback", "orders", "--to", "1")
    assert (again.exit_code, "orders is at v1.0" in again.output) == (2, True)
    assert user_actions(project) == [("rollback", "orders v2.0 -> v1.0; kept coupon (hold data)")]
    assert "pipefix rollback orders: orders v2.0 -> v1.0" in cli(project, "history").output

    # Every command that prints speaks JSON too.
    report = cli_json(project, "report", "-o", str(tmp_path / "r.html"))
    assert Path(report["report"]).is_file()
    assert cli(project, "approve", "7", "--json").exit_code == 2


def test_nothing_to_act_on_before_the_first_run_is_a_clear_error(project: Path) -> None:
    for args in (
        ("quarantine",),
        ("replay", "orders"),
        ("rollback", "orders", "--to", "1"),
        ("adapters",),
        ("adapters", "remove", "orders", "amount"),
    ):
        result = cli(project, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "pipefix run" in result.output, (args, result.output)
    assert not (project / "warehouse.duckdb").exists(), "a failed command creates no warehouse"


def _leaves(group: click.Group, path: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _leaves(command, f"{path}{name} ")
        else:
            found.append((f"{path}{name}", command))
    return found


def test_every_command_that_prints_accepts_json_and_no_color() -> None:
    assert isinstance(main, click.Group)
    leaves = _leaves(main)
    assert {name for name, _ in leaves} >= {
        "demo",
        "init",
        "run",
        "check",
        "report",
        "history",
        "approve",
        "reject",
        "alerts test",
        "quarantine",
        "replay",
        "rollback",
        "adapters list",
        "adapters remove",
    }
    for name, command in leaves:
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"--json", "--no-color"} <= options, f"pipefix {name} lacks --json or --no-color"
        assert command.help, f"pipefix {name} has no help text"
    for name in ("quarantine", "replay", "rollback"):
        assert "Exit 0" in (main.commands[name].help or "")


def test_init_history_and_alerts_test_print_json(tmp_path: Path) -> None:
    created = CliRunner().invoke(main, ["init", str(tmp_path / "shop"), "--json", "--no-color"])
    assert created.exit_code == 0, created.output
    written = json.loads(created.stdout)
    assert written["written"][0].endswith("pipefix.yaml")
    assert written["next"] == f"cd {tmp_path / 'shop'} && pipefix run"
    config = tmp_path / "shop" / "pipefix.yaml"
    with config.open("a") as handle:
        handle.write(
            f"alerts:\n  - kind: webhook\n    url: http://127.0.0.1:{free_port()}/x\n    retries: 0\n"
        )
    sent = CliRunner().invoke(main, ["alerts", "test", "--config", str(config), "--json", "--no-color"])
    assert sent.exit_code == 1, sent.output  # nothing listens there
    (sink,) = json.loads(sent.stdout)["sinks"]
    assert (sink["delivered"], sink["attempts"]) == (False, 1)
    ran = CliRunner().invoke(main, ["run", "--config", str(config), "--json"])
    assert ran.exit_code == 0, ran.output
    history = CliRunner().invoke(main, ["history", "--config", str(config), "--json", "--no-color"])
    assert json.loads(history.stdout)["history"][0]["text"].startswith("goal v1")
    adapters = CliRunner().invoke(main, ["adapters", "--config", str(config), "--no-color"])
    assert adapters.output == "no active adapters\n"


def test_the_readme_commands_parse() -> None:
    """Each line of the README's block on waiting rows names a real command with real options."""
    import re
    import shlex

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL) if "pipefix replay" in b]
    lines = [line.split("#")[0] for line in block.splitlines() if line.strip()]
    assert len(lines) == 5
    for line in lines:
        words = shlex.split(line)
        assert words[0] == "pipefix"
        parsed = CliRunner().invoke(main, [*words[1:], "--help"])
        assert parsed.exit_code == 0, (line, parsed.output)
