"""Two test tiers, chosen by PIPEFIX_TEST_TIER.

- everyday (the default; `make test`): every correctness test at small scale — property tests
  with a tenth of their examples, tests marked `slow` deselected — in minutes on 2 cores.
- full (`make test-all`, CI): everything at full strength — the 500-example properties, every
  SIGKILL point, the Spark demo, Spark Connect.

A `-m` expression on the command line wins over the tier's deselection, so
`pytest -m slow tests/test_crash_resume.py` still runs what it names.
"""

from __future__ import annotations

import os

import pytest

TIER = os.environ.get("PIPEFIX_TEST_TIER", "everyday")
if TIER not in ("everyday", "full"):
    raise pytest.UsageError(f"PIPEFIX_TEST_TIER={TIER!r}: use everyday or full")
FULL = TIER == "full"


def examples(full: int, everyday: int | None = None) -> int:
    """Hypothesis examples for a property: `full` in the full tier; every day `everyday`, or a
    tenth of `full` (at least 10)."""
    if FULL:
        return full
    return everyday if everyday is not None else max(10, full // 10)


def pytest_report_header() -> str:
    what = "everything, full strength" if FULL else "slow tests deselected, properties at 1/10"
    return f"pipefix test tier: {TIER} ({what})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if FULL or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
