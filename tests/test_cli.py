"""The command line as a user meets it: help text, errors without tracebacks, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from pipefix.cli import main


def _commands() -> list[click.Command]:
    assert isinstance(main, click.Group)
    return [main, *main.commands.values()]


def test_every_command_and_option_explains_itself() -> None:
    for command in _commands():
        assert command.help, f"{command.name} has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help", "version"):
                assert param.help, f"{command.name} --{param.name} has no help text"
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert result.exit_code == 0
    assert "--steps" in result.output
    assert "--verbose" in result.output


def test_demo_refuses_a_warehouse_that_already_holds_a_run(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    first = CliRunner().invoke(main, ["demo", "--db", str(db), "--steps", "1", "--json"])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(main, ["demo", "--db", str(db), "--steps", "1"])
    assert second.exit_code == 1
    assert "already holds a pipefix demo" in second.output
    assert "Traceback" not in second.output


def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    runner = CliRunner()
    zero = runner.invoke(main, ["demo", "--steps", "0"])
    assert zero.exit_code == 2
    assert "--steps" in zero.output
    missing = runner.invoke(main, ["demo", "--db", str(tmp_path / "no" / "such" / "x.duckdb")])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
    not_duckdb = tmp_path / "notes.txt"
    not_duckdb.write_text("not a database\n" * 100)
    garbage = runner.invoke(main, ["demo", "--db", str(not_duckdb)])
    assert garbage.exit_code == 1
    assert "cannot open DuckDB warehouse" in garbage.output
    assert garbage.exception is None or isinstance(garbage.exception, SystemExit)


def test_two_runs_print_the_same_report_apart_from_the_path(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        result = CliRunner().invoke(main, ["demo", "--db", str(folder / "w.duckdb"), "--steps", "10"])
        assert result.exit_code == 0, result.output
        outputs.append(result.output.replace(str(folder), "<DIR>"))
    assert outputs[0] == outputs[1]
    assert "Step 10" in outputs[0]
    assert "goal revised v1->v2" in outputs[0]


def test_json_summary_has_the_documented_shape(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--db", str(tmp_path / "w.duckdb"), "--steps", "9", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    for key in ("steps", "stop_reason", "drift_step", "recovered_step", "goal", "final", "rows", "fixes"):
        assert key in summary
    assert set(summary["rows"]) >= {"received", "loaded", "quarantined", "replayed", "lost"}
    assert set(summary["goal"]) == {"description", "version", "criteria"}
    assert set(summary["final"]) == {"health", "error_rate", "throughput"}
    assert set(summary["constraints"]) == {"active", "evolutions"}
    assert summary["steps"] == 9
    assert summary["rows"]["lost"] == 0
    assert all(set(f) == {"step", "action", "target", "ok", "detail"} for f in summary["fixes"])
