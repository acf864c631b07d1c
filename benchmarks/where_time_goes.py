"""Where a step's time goes: `python benchmarks/where_time_goes.py CASE ARG...`, one case per
process, its JSON result on the last line of stdout (as benchmarks/cases.py).

- `demo STEPS`: `pipefix demo` in-process, split by phase: imports (pipefix's CLI and scenario,
  then LangGraph with the agent), the producer writing batch files, ingestion (loading every
  batch), health (measuring every table), planning, acting, LangGraph's checkpoints, the rest of
  the loop (evaluate, revise, evolve, filter, transition, LangGraph itself), and the final report
  (summary and console report, as `pipefix demo` prints it). Statements per batch are counted
  while the loader runs.
- `tables N ROWS`: N tables, one ROWS-row JSONL batch each, and the step that loads them all.

Phases are timed by wrapping the functions the agent calls (module attributes, patched before
the run), so the product carries no timing code.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

START = time.perf_counter()

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases  # noqa: E402  (the shared temp folder and the tables' YAML)
import data  # noqa: E402


class Phases:
    """Seconds per phase; a phase entered inside another is counted in the outer one only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._depth = 0

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - start

        setattr(owner, name, timed)


class Statements:
    """Statements and transactions of every engine, counted; and those run inside a load."""

    def __init__(self) -> None:
        self.total = 0
        self.in_loads = 0
        self.loads = 0
        self.commits_in_loads = 0
        self._loading = 0
        self._transaction = 0

    def install(self) -> None:
        from pipefix.engines import loader
        from pipefix.engines.duckdb import DuckDBEngine

        counter = self
        run = DuckDBEngine._run
        transaction = DuckDBEngine.transaction
        load_batch = loader.load_batch

        def counted_run(engine: Any, sql: str, params: Any) -> Any:
            counter.total += 1
            if counter._loading:
                counter.in_loads += 1
                # A statement outside a transaction commits on its own.
                counter.commits_in_loads += counter._transaction == 0
            return run(engine, sql, params)

        @contextmanager
        def counted_transaction(engine: Any) -> Iterator[None]:
            outer = counter._transaction == 0
            counter._transaction += 1
            try:
                with transaction(engine):
                    yield
            finally:
                counter._transaction -= 1
                if outer and counter._loading:
                    counter.commits_in_loads += 1

        def counted_load(*args: Any, **kwargs: Any) -> Any:
            counter._loading += 1
            try:
                result = load_batch(*args, **kwargs)
            finally:
                counter._loading -= 1
            counter.loads += result is not None
            return result

        query_many = DuckDBEngine.query_many

        def counted_query_many(engine: Any, statements: Any) -> Any:
            # Run at once on cursors (engines/duckdb_parallel.py) or one by one through _run:
            # counted once either way.
            before = counter.total
            result = query_many(engine, statements)
            counter.total = before + len(statements)
            return result

        DuckDBEngine.query_many = counted_query_many  # type: ignore[method-assign]
        DuckDBEngine._run = counted_run  # type: ignore[method-assign]
        DuckDBEngine.transaction = counted_transaction  # type: ignore[assignment,method-assign]
        loader.load_batch = counted_load


def _agent_phases(phases: Phases) -> None:
    from langgraph.checkpoint.sqlite import SqliteSaver

    from pipefix.agent import graph
    from pipefix.planners.rules import RulesPlanner
    from pipefix.tools import ingest

    phases.wrap(ingest, "ingest", "ingest")
    phases.wrap(graph, "measure", "health")
    phases.wrap(RulesPlanner, "plan", "plan")
    phases.wrap(graph, "execute_once", "act")
    for method in ("put", "put_writes", "get_tuple"):
        phases.wrap(SqliteSaver, method, "checkpoint")


def demo(steps: str) -> dict[str, Any]:
    """`pipefix demo` in this process, split by phase."""
    imports: dict[str, float] = {}
    start = time.perf_counter()
    import pipefix.cli
    from pipefix.scenario import demo as scenario

    imports["pipefix"] = time.perf_counter() - start
    start = time.perf_counter()
    import pipefix.agent.runner  # LangGraph, the checkpointer, the agent

    imports["langgraph"] = time.perf_counter() - start
    from pipefix.report import console as report
    from pipefix.scenario.producer import Producer

    phases = Phases()
    phases.wrap(Producer, "write_step", "producer")
    _agent_phases(phases)
    statements = Statements()
    statements.install()
    with cases._tmp_dir() as folder:
        start = time.perf_counter()
        run = scenario.prepare(scenario.DemoOptions(db=folder / "demo.duckdb", steps=int(steps)))
        prepare = time.perf_counter() - start
        start = time.perf_counter()
        scenario.execute(run)
        loop = time.perf_counter() - start
        start = time.perf_counter()
        console = report.make_console(no_color=True)
        with console.capture():
            summary = pipefix.cli.demo_summary(run)
            report.final_report(console, run.pipeline, summary, run.final_state["constraints"], False)
        final_report = time.perf_counter() - start
        rows = run.pipeline.engine.query(
            "SELECT coalesce(sum(received), 0), coalesce(sum(loaded), 0) FROM pipefix.batches"
        )[0]
        run.pipeline.engine.close()
    per_step = {k: v / int(steps) for k, v in phases.seconds.items()}
    per_step["rest of the loop"] = (loop - sum(phases.seconds.values())) / int(steps)
    return {
        "seconds": time.perf_counter() - START,
        "steps": int(steps),
        "imports": imports,
        "prepare": prepare,
        "loop": loop,
        "report": final_report,
        "per_step": per_step,
        "statements": statements.total,
        "batches": statements.loads,
        "statements_per_batch": statements.in_loads / max(statements.loads, 1),
        "commits_per_batch": statements.commits_in_loads / max(statements.loads, 1),
        "received": int(rows[0]),
        "loaded": int(rows[1]),
    }


def tables(count: str, rows: str) -> dict[str, Any]:
    """N tables; step 1 sets them up; each then receives one batch of ROWS records, and the step
    that loads them all is timed, split by phase."""
    from pipefix.api import Pipeline

    n, per_batch = int(count), int(rows)
    phases = Phases()
    _agent_phases(phases)
    statements = Statements()
    statements.install()
    with cases._tmp_dir() as folder:
        body = "".join(cases.SCALE_YAML_TABLE.format(n=i) for i in range(n))
        config = folder / "pipefix.yaml"
        config.write_text(
            f"warehouse: duckdb:///wh.duckdb\nlanding: {{path: landing, settle: 0s}}\ntables:\n{body}"
        )
        lines = "".join(
            json.dumps({"id": i, "amount": i * 1.5, "kind": "abc"[i % 3], "at": "2026-11-30T02:00:00Z"})
            + "\n"
            for i in range(per_batch)
        )
        with Pipeline.open(config, clock=data.fixed_clock) as pipeline:
            pipeline.run(1)
            for i in range(n):
                batch = folder / "landing" / f"t{i:04d}" / "step-2.jsonl"
                batch.parent.mkdir(parents=True, exist_ok=True)
                batch.write_text(lines)
            phases.seconds.clear()
            before = statements.total
            start = time.perf_counter()
            summary = pipeline.run(1)
            seconds = time.perf_counter() - start
    per_step = dict(phases.seconds)
    per_step["rest of the loop"] = seconds - sum(phases.seconds.values())
    return {
        "seconds": seconds,
        "tables": n,
        "rows_per_batch": per_batch,
        "per_step": per_step,
        "statements": statements.total - before,
        "batches": statements.loads,
        "statements_per_batch": statements.in_loads / max(statements.loads, 1),
        "commits_per_batch": statements.commits_in_loads / max(statements.loads, 1),
        "loaded": summary["rows"]["loaded"],
        "lost": summary["rows"]["lost"],
    }


AT = "2026-11-30T02:00:00Z"
CASES: dict[str, Callable[..., dict[str, Any]]] = {"demo": demo, "tables": tables}


def main() -> None:
    name, *args = sys.argv[1:]
    print(json.dumps(CASES[name](*args), default=str))


if __name__ == "__main__":
    main()
