"""The tests in parallel: `make test` runs `pytest -n auto` (pytest-xdist), `--dist loadfile`.

Every test builds its warehouse under its own tmp_path, and each worker process starts its own
session servers (PostgreSQL, the Spark Connect server) on free ports in folders of their own, so
any test can run in any worker. `loadfile` sends a whole file to one worker: module fixtures are
built once and a file's tests keep their order. This plugin widens that unit where a session
fixture is costly: files needing the same one go to the same worker, which builds it once.

- `default_demo` (the 25-step demo, run once per session): test_demo.py, test_readme.py.
- A Spark JVM (the local session, the Connect server, the Spark demo): every file with a test
  whose id names Spark (`test_spark*.py`, `[spark]` and `[spark-connect]` parameters). One worker
  then holds the JVMs, as a serial run does: two workers starting JVMs at once on 2 cores each
  wait on the other.
- A file marked `pytest.mark.xdist_group("name")` joins the group `name`.

Units holding a `slow` test are handed out first, then the largest (`run_order`).

Files sharing anything share a worker (grouped transitively). xdist's own `--dist loadgroup`
would do the grouping from marks, but it appends `@group` to every node id it prints, and
`pytest 'tests/x.py::test_y@group'` finds nothing; here the ids stay as pytest prints them.

Only a worker sees a test's fixtures; the controller schedules on node ids alone. So each worker
writes the file -> group map it computes at collection into a folder the controller names
(`workerinput`), and the controller's scheduler reads it once every worker has collected.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

# Session fixtures worth building once: fixture name -> the shared resource it stands for.
SHARED_FIXTURES = {"default_demo": "demo", "spark_session": "spark", "spark_connect_server": "spark"}
_FOLDER_KEY = "pipefix_groups"


def resources(nodeid: str, fixtures: Iterable[str], marked: Iterable[str]) -> set[str]:
    """The costly shared things one test needs: named fixtures (direct or through others), Spark
    when its id names it (a parameter can reach a Spark fixture through `getfixturevalue`, which
    no fixture list shows), and the groups it is marked with."""
    found = {SHARED_FIXTURES[name] for name in fixtures if name in SHARED_FIXTURES}
    if "spark" in nodeid.lower():
        found.add("spark")
    return found | set(marked)


def file_groups(uses: Iterable[tuple[str, set[str]]]) -> dict[str, str]:
    """file -> group for the files that need a shared resource, from (file, resources) pairs:
    files needing one resource share a group, and so, transitively, do their other resources.
    A group is named by its resources, sorted ("demo+spark"); files needing none are left out."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for file, needed in uses:
        for resource in needed:  # the file node and each resource node join one set
            parent[root("file:" + file)] = root("res:" + resource)
    members: dict[str, list[str]] = {}
    for node in list(parent):
        members.setdefault(root(node), []).append(node)
    groups: dict[str, str] = {}
    for nodes in members.values():
        name = "+".join(sorted(n.removeprefix("res:") for n in nodes if n.startswith("res:")))
        groups.update({n.removeprefix("file:"): name for n in nodes if n.startswith("file:")})
    return groups


def run_order(units: Sequence[str], slow: Sequence[bool]) -> list[int]:
    """The order to hand tests out in, as indexes, from each test's unit (its file, or its
    files' group) and whether it is `slow`: units holding a slow test first (in the full tier
    those run for minutes: a SIGKILL at every point, the JVMs; handed out last, one would keep a
    worker busy while the others idle), then the units with most tests, as xdist orders them;
    ties in collection order, and a unit's tests in theirs."""
    size = Counter(units)
    heavy = {unit for unit, is_slow in zip(units, slow, strict=True) if is_slow}
    first: dict[str, int] = {}
    for i, unit in enumerate(units):
        first.setdefault(unit, i)
    return sorted(range(len(units)), key=lambda i: (units[i] not in heavy, -size[units[i]], first[units[i]]))


def _item_uses(item: pytest.Item) -> tuple[str, set[str]]:
    marks = item.iter_markers("xdist_group")
    marked = (str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks)
    fixtures: Iterable[str] = getattr(item, "fixturenames", ())
    return item.nodeid.split("::", 1)[0], resources(item.nodeid, fixtures, marked)


@pytest.hookimpl(trylast=True)  # after the tier's and -k/-m's deselection: the tests that run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput: Mapping[str, Any] = getattr(config, "workerinput", {})
    if _FOLDER_KEY not in workerinput:
        return
    uses = [_item_uses(item) for item in items]
    groups = file_groups(uses)
    units = [groups.get(file, file) for file, _ in uses]
    order = run_order(units, [item.get_closest_marker("slow") is not None for item in items])
    items[:] = [items[i] for i in order]
    target = Path(workerinput[_FOLDER_KEY], f"{workerinput['workerid']}.json")
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(groups), encoding="utf-8")
    partial.replace(target)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller side: name the folder each worker writes its file -> group map into."""
    config: pytest.Config = node.config
    folder = config.stash.setdefault(_groups_folder, tempfile.mkdtemp(prefix="pipefix-xdist-"))
    node.workerinput[_FOLDER_KEY] = folder


_groups_folder = pytest.StashKey[str]()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` with the files that share a resource as one unit; any other --dist
    is xdist's own."""
    if config.getvalue("dist") != "loadfile" or _groups_folder not in config.stash:
        return None
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

    folder = Path(config.stash[_groups_folder])
    config.option.loadscopereorder = False  # the workers' collection comes in run_order already

    class SharedResourceScheduling(LoadFileScheduling):  # type: ignore[misc]
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            if self.groups is None:  # first called once all workers have collected
                self.groups = read_groups(folder)
            return self.groups.get(file, file)

    return SharedResourceScheduling(config, log)


def read_groups(folder: Path) -> dict[str, str]:
    """The workers' file -> group maps (the same collection gives the same map), as one."""
    groups: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        groups.update(json.loads(path.read_text(encoding="utf-8")))
    return groups


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_groups_folder, None)
    if folder is not None and os.path.isdir(folder):
        shutil.rmtree(folder, ignore_errors=True)
