"""The README's commands and code run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipefix.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# The `pipefix` script installed beside the interpreter running the tests (the project's venv).
PIPEFIX_BIN = Path(sys.executable).parent


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_the_two_commands_come_first_and_exist() -> None:
    first = code_blocks("bash")[0]
    assert "make demo" in first
    assert "make test" in first
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, flags=re.MULTILINE)
    assert re.search(r"^test:", makefile, flags=re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_python_api_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["init", "shop"]).exit_code == 0
    (snippet,) = code_blocks("python")
    exec(compile(snippet, "README.md", "exec"), {})
    assert (tmp_path / "shop" / "warehouse.duckdb").exists()


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """The shell walkthrough, run by bash with the installed `pipefix` on the PATH."""
    walkthrough = [b for b in code_blocks("bash") if "pipefix init shop" in b or "landing/orders/" in b]
    assert len(walkthrough) == 2
    script = "set -euo pipefail\n" + "\n".join(walkthrough)
    assert (PIPEFIX_BIN / "pipefix").exists()
    path = f"{PIPEFIX_BIN}:/usr/local/bin:/usr/bin:/bin"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": path, "HOME": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "goal revised v1->v2" in done.stdout
    assert "apply_fix(schema_migration, orders) ok" in done.stdout
    assert "lost 0" in done.stdout
    history = done.stdout.split("Summary")[-1]
    assert "fix        apply_fix(retry_failed, orders) ok: replayed 1 held rows" in history
