"""The command line as a user meets it: help text, errors without tracebacks, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import pipefix.cli as cli_package
from pipefix.agent.checkpoint_serde import CheckpointError
from pipefix.cli import crash_log_path, main
from pipefix.errors import PipefixError


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


def _init_raising(error: Exception) -> object:
    def init_project(directory: Path) -> list[Path]:
        raise error

    return init_project


def test_a_bug_is_one_paragraph_and_exit_3_with_the_traceback_in_the_crash_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "crash.log"
    monkeypatch.setenv("PIPEFIX_CRASH_LOG", str(log))
    monkeypatch.setattr("pipefix.project.init_project", _init_raising(KeyError("orders")))

    result = CliRunner().invoke(main, ["init", str(tmp_path / "shop")])

    assert result.exit_code == 3
    assert result.output == (
        f"pipefix hit a bug: KeyError: 'orders'. The traceback is in {log}; please report it.\n"
    )
    written = log.read_text(encoding="utf-8")
    assert written.startswith("pipefix ")
    assert "Traceback (most recent call last)" in written
    assert "in init_project" in written
    assert written.rstrip().endswith("KeyError: 'orders'")


def test_a_bug_whose_log_cannot_be_written_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "no" / "such" / "folder" / "crash.log"
    monkeypatch.setenv("PIPEFIX_CRASH_LOG", str(log))
    monkeypatch.setattr("pipefix.project.init_project", _init_raising(IndexError("list index out of range")))

    result = CliRunner().invoke(main, ["init", str(tmp_path / "shop")])

    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.output
    assert f"pipefix hit a bug: IndexError: list index out of range. The traceback is above ({log}" in (
        result.output
    )


def test_the_crash_log_defaults_to_the_temp_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPEFIX_CRASH_LOG", raising=False)
    assert crash_log_path() == Path(tempfile.gettempdir()) / "pipefix-crash.log"


def test_any_pipefix_error_is_a_message_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEFIX_CRASH_LOG", str(tmp_path / "crash.log"))
    for error in (PipefixError("the warehouse is full"), CheckpointError("the warehouse is full")):
        monkeypatch.setattr("pipefix.project.init_project", _init_raising(error))
        result = CliRunner().invoke(main, ["init", str(tmp_path / "shop")])
        assert (result.exit_code, result.output) == (2, "Error: the warehouse is full\n")
    assert not (tmp_path / "crash.log").exists()


def test_help_names_the_exit_codes() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "2 bad usage, configuration or warehouse; 3 a bug in pipefix" in text
    assert "pipefix-crash.log" in text


def test_help_loads_no_heavy_module_and_the_cli_modules_stay_small() -> None:
    """`pipefix --help` must stay fast (BENCHMARKS.md: ≤ 0.3 s): the agent, the warehouses, the
    configuration and the report are imported inside the commands, never by the command line itself.
    And the command line stays a package of small modules, one per group of commands (issue 20)."""
    probe = (
        "import sys\n"
        "from pipefix.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.splitlines())
    heavy = ("langgraph", "langchain_core", "duckdb", "psycopg", "pyspark", "pydantic", "rich", "yaml")
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []
    ours = {m for m in loaded if m.startswith("pipefix.")}
    assert ours <= {"pipefix.errors", "pipefix.stopping"} | {m for m in ours if m.startswith("pipefix.cli")}
    package = Path(cli_package.__file__).parent
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in package.glob("*.py")}
    assert len(sizes) >= 8
    assert max(sizes.values()) <= 400, sizes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--steps", "2", "--watch"], "Error: --steps and --watch exclude each other\n"),
        (["report", "--config", "p.yaml", "--db", "w.db"], "Error: --config and --db exclude each other\n"),
        (["report", "--warehouse", "sc://h:1"], "Error: --warehouse needs the --db the demo ran with\n"),
        (["init", "--warehouse", "duckdb:///w.duckdb"], "Error: --warehouse goes with --from\n"),
        (["demo", "--resume"], "Error: --resume needs the --db of the demo to continue\n"),
    ],
)
def test_options_given_together_that_cannot_be_are_bad_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing is opened or written: the usage is refused first
    result = CliRunner().invoke(main, args)
    assert (result.exit_code, result.output) == (2, message)
    assert list(tmp_path.iterdir()) == []


def test_options_several_commands_share_read_the_same_in_each() -> None:
    # declared once (cli/options.py): --config, --wait and --model read alike wherever they appear
    seen: dict[str, set[str | None]] = {}
    for command in _commands():
        for param in command.params:
            if isinstance(param, click.Option) and param.name in ("model", "fallback", "llm_timeout", "wait"):
                seen.setdefault(param.name, set()).add(param.help)
    assert sorted(seen) == ["fallback", "llm_timeout", "model", "wait"]
    assert all(len(helps) == 1 for helps in seen.values())
