"""A Spark warehouse that cannot start says why and how to fix it: never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipefix.engines.base import EngineError
from pipefix.engines.connect import open_spark


def test_a_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what an environment without it imports
    with pytest.raises(EngineError, match=r"needs pyarrow: pip install 'pipefix\[spark\]'"):
        open_spark("spark://local[2]", tmp_path / "warehouse")


def test_a_missing_java_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipefix",
            "demo",
            "--warehouse",
            "spark://local[2]",
            "--steps",
            "1",
            "--db",
            str(tmp_path / "demo.duckdb"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "cannot start Spark for spark://local[2]" in done.stderr
    assert "Java 17+" in done.stderr
    assert "Traceback" not in done.stderr
