"""`scripts/prereqs.sh`: the check `make test` runs first names what is missing and how to get it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "prereqs.sh"
BASH = shutil.which("bash") or "/bin/bash"


def run(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path} if path is not None else None
    return subprocess.run(
        [BASH, str(SCRIPT), *args], capture_output=True, text=True, check=False, env=env, timeout=60
    )


def test_this_machine_has_what_the_everyday_tier_needs() -> None:
    done = run("check", "everyday")
    assert done.returncode == 0, done.stderr
    assert "all present" in done.stdout


def test_a_missing_java_fails_the_full_tier_check_with_the_install_command(tmp_path: Path) -> None:
    # A PATH with the shell's tools and Python, but no java.
    (tmp_path / "python3").symlink_to(sys.executable)
    for tool in ("sed", "head", "id", "pg_config", "make"):
        found = shutil.which(tool)
        if found:
            (tmp_path / tool).symlink_to(found)
    done = run("check", "full", path=str(tmp_path))
    assert done.returncode == 1
    assert "missing for the full test tier: openjdk-17-jre-headless" in done.stderr
    assert "scripts/prereqs.sh install full" in done.stderr
    assert "apt-get install -y openjdk-17-jre-headless" in done.stderr
    # The everyday tier does not need Java.
    assert run("check", "everyday", path=str(tmp_path)).returncode == 0


def test_a_wrong_argument_is_a_usage_error() -> None:
    done = run("verify")
    assert done.returncode == 2
    assert "usage:" in done.stderr
