"""The HTML report from a real warehouse: every section, escaping of producer-made names, a clear
message when there is nothing to show, and the CLI that writes it (`report`, `run --report`)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.agent.deps import AgentDeps
from pipefix.agent.graph import build_graph, initial_state, recursion_limit
from pipefix.cli import main
from pipefix.domain.constraints import initial_constraints
from pipefix.domain.goals import baseline_goal
from pipefix.engines import store
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.planners.select import choose
from pipefix.report.data import ReportError
from pipefix.report.html import SECTIONS, build_report
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext

HOSTILE_TABLE = 'orders"><script>alert(1)</script>'
HOSTILE_COLUMN = "<img src=x onerror=alert(2)>"
HOSTILE_VALUE = "</pre><script>alert(3)</script>"
HOSTILE_STATUS = "<svg onload=alert(4)>"


class Tags(HTMLParser):
    """Every element, attribute name and reference (href, src) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.attributes: set[str] = set()
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        for name, value in attrs:
            self.attributes.add(name)
            if name in ("href", "src", "xlink:href", "action"):
                self.references.append(value or "")


def _batch(step: int) -> list[dict[str, Any]]:
    """From step 3 the producer adds a column with a hostile name; every batch has a null status
    (first held, then let in once status becomes optional) and a hostile status value (held)."""
    rows: list[dict[str, Any]] = [{"order_id": step * 100 + i, "status": "new"} for i in range(30)]
    if step >= 3:
        rows = [{**row, HOSTILE_COLUMN: HOSTILE_VALUE} for row in rows]
    rows.append({"order_id": step * 100 + 98, "status": HOSTILE_STATUS})
    rows.append({"order_id": step * 100 + 99, "status": None})
    return rows


@pytest.fixture
def hostile_warehouse(tmp_path: Path) -> Path:
    """A real agent run on a table whose name, new column and values are hostile HTML."""
    path = tmp_path / "hostile.duckdb"
    engine = DuckDBEngine(path)
    store.ensure_schema(engine)
    ctx = PipelineContext(engine, (HOSTILE_TABLE,), lambda step: datetime(2026, 11, 1, tzinfo=UTC), 60)
    contract = Contract(
        HOSTILE_TABLE,
        1,
        (
            ColumnSpec("order_id", "bigint", nullable=False),
            ColumnSpec("status", "varchar", nullable=False, values=("new", "paid")),
        ),
        key="order_id",
    )
    ingest.setup(ctx, {HOSTILE_TABLE: contract})
    landing = tmp_path / "landing"

    def produce(step: int) -> None:
        folder = landing / HOSTILE_TABLE
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"batch-{step}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _batch(step)))

    deciders = choose(
        "offline",
        fallback=False,
        timeout=1.0,
        audit=lambda step, kind, payload: store.audit(engine, step, kind, payload),
        tables=(HOSTILE_TABLE,),
    )
    deps = AgentDeps(
        pipeline=ctx,
        landing=landing,
        planner=deciders.planner,
        reviser=deciders.reviser,
        evolver=deciders.evolver,
        before_step=produce,
    )
    state = initial_state(deps, baseline_goal(throughput=False), initial_constraints(15), 6)
    build_graph(deps).invoke(state, config={"recursion_limit": recursion_limit(6)})
    engine.close()
    return path


def _report(path: Path, **options: Any) -> str:
    engine = DuckDBEngine(path, read_only=True)
    try:
        return build_report(engine, **options)
    finally:
        engine.close()


def test_every_section_and_plot_is_in_one_self_contained_file(hostile_warehouse: Path) -> None:
    page = _report(hostile_warehouse)
    assert page.startswith("<!DOCTYPE html>")
    for key in SECTIONS:
        assert f'<section id="{key}"' in page
    assert sorted(re.findall(r'data-plot="(\w+)"', page)) == ["constraints", "rows", "score", "timeline"]
    # Nothing is fetched and nothing runs: only references inside the page itself.
    tags = Tags()
    tags.feed(page)
    assert not tags.names & {"script", "link", "img", "iframe", "object", "embed", "image"}
    assert all(value.startswith("#") for value in tags.references), tags.references
    assert not any(name.startswith("on") for name in tags.attributes)
    assert not re.search(r"@import|url\((?!#)", page)
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # four charts on one page, no id twice
    assert set(re.findall(r'(?:url\(#|href="#)([^")]+)', page)) <= set(ids)
    assert "Content-Security-Policy" in page
    assert "column_added" in page  # the drift's evidence
    assert "schema_migration" in page  # and the repair chosen
    assert "yes: rollback at step" in page  # an inverse applied (status made optional, then undone)
    assert "value not allowed" in page  # the open reason of the rows still held


def test_producer_made_names_and_values_are_escaped(hostile_warehouse: Path) -> None:
    page = _report(hostile_warehouse)
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "onerror=alert" not in page.replace(html.escape(HOSTILE_COLUMN), "")
    assert html.escape(HOSTILE_TABLE) in page
    assert html.escape(HOSTILE_COLUMN) in page
    assert html.escape(HOSTILE_VALUE) in page  # in the drift's sample rows
    assert html.escape(HOSTILE_STATUS) in page  # in the quarantine's open reasons


def test_the_report_is_the_same_twice(hostile_warehouse: Path) -> None:
    assert _report(hostile_warehouse) == _report(hostile_warehouse)


def test_a_warehouse_without_steps_gives_a_clear_message(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    engine = DuckDBEngine(empty)
    store.ensure_schema(engine)
    engine.close()
    with pytest.raises(ReportError, match="holds no steps yet"):
        _report(empty)
    result = CliRunner().invoke(main, ["report", "--db", str(empty), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "holds no steps yet" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_a_foreign_duckdb_file_gives_a_clear_message(tmp_path: Path) -> None:
    foreign = tmp_path / "other.duckdb"
    DuckDBEngine(foreign).close()
    result = CliRunner().invoke(main, ["report", "--db", str(foreign), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "holds no pipefix state" in result.output


def test_report_command_writes_the_file_and_prints_its_path(hostile_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    missing = CliRunner().invoke(main, ["report", "--db", str(hostile_warehouse), "-o", str(out)])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    out.parent.mkdir()
    result = CliRunner().invoke(main, ["report", "--db", str(hostile_warehouse), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"report: {out.resolve()}"
    assert '<section id="drift"' in out.read_text()
    both = CliRunner().invoke(main, ["report", "--db", str(hostile_warehouse), "--config", "x.yaml"])
    assert both.exit_code == 2


def test_run_writes_the_report_and_json_stays_machine_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "shop"]).exit_code == 0
    config = str(tmp_path / "shop" / "pipefix.yaml")
    result = runner.invoke(main, ["run", "--config", config, "--report", "run.html"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(f"report: {tmp_path / 'run.html'}")
    assert '<section id="rows"' in (tmp_path / "run.html").read_text()
    as_json = runner.invoke(main, ["run", "--config", config, "--json", "--report", "again.html"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["rows"]["lost"] == 0  # stdout is the JSON object alone
    assert f"report: {tmp_path / 'again.html'}" in as_json.stderr
    from_config = runner.invoke(main, ["report", "--config", config, "-o", "config.html"])
    assert from_config.exit_code == 0, from_config.output
    assert "2 steps · duckdb:///warehouse.duckdb" in (tmp_path / "config.html").read_text()


def test_console_is_plain_off_a_terminal_and_with_no_color(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "shop"]).exit_code == 0
    config = str(tmp_path / "shop" / "pipefix.yaml")
    piped = runner.invoke(main, ["run", "--config", config])
    assert piped.exit_code == 0, piped.output
    assert "Step  1 |" in piped.output
    assert "\x1b[" not in piped.output
    # FORCE_COLOR makes rich treat the output as a terminal: colour unless --no-color.
    colored = runner.invoke(main, ["run", "--config", config], env={"FORCE_COLOR": "1"})
    assert "\x1b[" in colored.output
    plain = runner.invoke(main, ["run", "--config", config, "--no-color"], env={"FORCE_COLOR": "1"})
    assert plain.exit_code == 0, plain.output
    assert "Step  3 |" in plain.output
    assert "\x1b[" not in plain.output
