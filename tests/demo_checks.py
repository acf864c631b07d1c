"""What the demo's tests check on every warehouse: the summary, the lines sent, nothing destructive."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipefix.report.summary import build_summary
from pipefix.scenario.demo import DemoRun

_DESTRUCTIVE = re.compile(r"^\s*(DROP|TRUNCATE|DELETE)\b|\bDROP\s+COLUMN\b", re.IGNORECASE)
# pipefix's own scratch tables (in the state DuckDB on Spark) are no user data
_SCRATCH = re.compile(r'^\s*DROP TABLE IF EXISTS "?(temp|pg_temp)"?\."?_pipefix_', re.IGNORECASE)


@dataclass(frozen=True)
class PrintedDemo:
    """A demo run and what `pipefix demo --no-color` printed for it."""

    run: DemoRun
    output: str
    summary: dict[str, Any]


def summary_of(run: DemoRun) -> dict[str, Any]:
    state = run.final_state
    return build_summary(run.pipeline, run.records, state["goal"], state["constraints"], state["stop_reason"])


def batch_lines(landing: Path) -> dict[str, int]:
    """Lines sent per batch file, `<table>/<file>`: what must be found loaded or held."""
    return {
        f"{path.parent.name}/{path.name}": sum(1 for line in path.read_text().splitlines() if line.strip())
        for path in landing.glob("*/batch-*.jsonl")
    }


def rows_add_up(rows: dict[str, int]) -> bool:
    """received = loaded + still held + the lines of files re-sent with bytes already loaded."""
    return rows["received"] == rows["loaded"] + rows["quarantined"] + rows["duplicates"]


def destructive_statements(log: Iterable[str]) -> list[str]:
    return [s for s in log if _DESTRUCTIVE.search(s) and not _SCRATCH.match(s)]
