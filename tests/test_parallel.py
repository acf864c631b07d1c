"""The parallel run (tests/parallel.py): files that need one costly session fixture share a worker,
the others spread over the workers, and a failure prints the node id pytest reruns."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.parallel import file_groups, resources, run_order

REPO = Path(__file__).resolve().parent.parent


def test_a_test_needs_what_its_fixtures_its_id_and_its_marks_name() -> None:
    assert resources("tests/test_demo.py::test_x", ["tmp_path", "default_demo"], []) == {"demo"}
    assert resources("tests/engines/test_engine_contract.py::test_x[spark]", ["request"], []) == {"spark"}
    assert resources("tests/engines/test_engine_contract.py::test_x[duckdb]", ["request"], []) == set()
    assert resources("tests/test_own_pipeline.py::test_y[spark-connect]", [], []) == {"spark"}
    assert resources("tests/t.py::test_z", ["spark_connect_server"], ["mail"]) == {"spark", "mail"}


def test_files_sharing_a_resource_share_a_group_transitively() -> None:
    uses = [
        ("a.py", {"demo"}),
        ("b.py", set()),
        ("c.py", {"demo"}),
        ("d.py", {"spark"}),
        ("e.py", {"spark", "mail"}),
        ("f.py", {"mail"}),
        ("f.py", set()),  # another test of f.py, needing nothing
    ]
    assert file_groups(uses) == {
        "a.py": "demo",
        "c.py": "demo",
        "d.py": "mail+spark",
        "e.py": "mail+spark",
        "f.py": "mail+spark",
    }
    assert file_groups([("b.py", set())]) == {}


def test_units_with_a_slow_test_go_first_then_the_largest_each_in_its_own_order() -> None:
    units = ["a.py", "big", "crash.py", "a.py", "big", "big", "crash.py", "b.py"]
    slow = [False, False, False, False, False, False, True, False]
    order = run_order(units, slow)
    assert [units[i] for i in order] == ["crash.py", "crash.py", "big", "big", "big", "a.py", "a.py", "b.py"]
    assert order == [2, 6, 1, 4, 5, 0, 3, 7]  # a unit's tests keep their collection order


CONFTEST = """
    import os
    from pathlib import Path

    import pytest


    @pytest.fixture(scope="session")
    def default_demo() -> str:
        with Path(os.environ["BUILDS"]).open("a") as builds:
            builds.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
        return "built"
"""
USES_DEMO = """
    import time


    def test_{name}_{n}(default_demo: str) -> None:
        time.sleep(0.2)
        assert default_demo == "built"
"""
PLAIN = """
    import time


    def test_{name}_{n}() -> None:
        time.sleep(0.2)
"""
MARKED = """
    import pytest

    pytestmark = pytest.mark.xdist_group("pair")


    def test_{name}_{n}() -> None:
        pass
"""
FAILING = """
    def test_it_fails() -> None:
        assert 1 + 1 == 3
"""


def test_two_workers_share_out_files_and_keep_shared_fixtures_on_one(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    files = {f"demo_{i}": USES_DEMO for i in "abc"} | {f"pair_{i}": MARKED for i in "ab"}
    files |= {f"plain_{i}": PLAIN for i in range(6)}
    for name, body in files.items():
        tests = "\n".join(textwrap.dedent(body).format(name=name, n=n) for n in range(3))
        (project / f"test_{name}.py").write_text(tests)
    (project / "test_fails.py").write_text(textwrap.dedent(FAILING))
    builds = tmp_path / "builds.txt"
    pytest = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-p", "tests.parallel", "-v"]
    done = subprocess.run(
        [*pytest, "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "basetemp"), "-o", "addopts=-ra"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO), "BUILDS": str(builds)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "1 failed, 33 passed" in out
    ran_on: dict[str, set[str]] = {}
    for worker, file in re.findall(r"\[(gw\d)\] \[ *\d+%\] (?:PASSED|FAILED) (test_\w+)\.py::", out):
        ran_on.setdefault(file.split("_")[1], set()).add(worker)
    assert len(ran_on["demo"]) == 1  # every file using the fixture on one worker
    assert len(ran_on["pair"]) == 1  # every file marked with the group on one worker
    assert set().union(*ran_on.values()) == {"gw0", "gw1"}  # both workers ran files
    assert builds.read_text().splitlines() == list(ran_on["demo"])  # the fixture built once
    # The failure names the test as pytest reruns it: no `@group` suffix, no worker noise.
    assert "FAILED test_fails.py::test_it_fails - assert (1 + 1) == 3" in out
    assert "@" not in "".join(line for line in out.splitlines() if "::" in line)
