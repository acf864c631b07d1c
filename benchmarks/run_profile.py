"""Section 6 of BENCHMARKS.md, "Where the time goes" (`run.py --only profile` rewrites only it):
`pipefix demo` beside a bare `import langgraph.graph`, the demo split by phase, and a step
loading one 1,000-row batch into each of 1,000 tables, with statements per batch. The cases are
in where_time_goes.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BEGIN = "<!-- profile: written by `make bench` (`run.py --only profile` alone) -->"
END = "<!-- /profile -->"
HERE = Path(__file__).resolve().parent
CASES = HERE / "where_time_goes.py"

# A fresh warehouse each run, removed after; the run's exit status kept.
CLEAN_UP = 's=$?; rm -rf "$d"; exit $s'
PHASES = ("producer", "ingest", "health", "plan", "act", "checkpoint", "rest of the loop")


def block(text: str) -> str:
    """The section of an earlier BENCHMARKS.md, markers included ("" if none)."""
    begin, end = text.find(BEGIN), text.find(END)
    return text[begin : end + len(END)] if 0 <= begin < end else ""


def with_block(text: str, new: str, before: tuple[str, ...]) -> str:
    """`text` with its section replaced by `new`, or placed before the first of `before` found."""
    old = block(text)
    if old:
        return text.replace(old, new)
    for marker in before:
        if marker in text:
            return text.replace(marker, new + "\n\n" + marker, 1)
    return text.rstrip("\n") + "\n\n" + new + "\n"


def bench_profile(report: Any, log: Any) -> None:
    import run

    log("where the time goes")
    load_before = os.getloadavg()
    quick = report.quick
    demo_cli = run.Series(
        "`pipefix demo` (25 steps), whole process",
        [
            "sh",
            "-c",
            f'd=$(mktemp -d) && "{run.PIPEFIX}" demo --db "$d/p.duckdb" >/dev/null; {CLEAN_UP}',
        ],
        1 if quick else 3,
    )
    langgraph = run.Series(
        "bare `import langgraph.graph`", [run.PYTHON, "-c", "import langgraph.graph"], 3 if quick else 5
    )
    run.alternate([demo_cli, langgraph], log)
    split = run.Series("demo, split by phase", [run.PYTHON, str(CASES), "demo", "25"], 1)
    sizes = ("100", "1000") if quick else ("1000", "1000")
    wide = run.Series(
        f"{int(sizes[0]):,} tables × one {int(sizes[1]):,}-row batch",
        [run.PYTHON, str(CASES), "tables", *sizes],
        1 if quick else 3,  # one run of about a minute varies by ±10 s on a shared 2-core machine
    )
    run.alternate([split, wide], log)
    demo = split.last
    step = sorted((r.result for r in wide.runs), key=lambda r: float(r["seconds"]))[len(wide.runs) // 2]
    load_after = os.getloadavg()
    ratio = demo_cli.wall / langgraph.wall
    targets = [
        (
            "`pipefix demo` vs a bare `import langgraph.graph` (wall, side by side)",
            "≤ 4×",
            ratio <= 4,
            f"{ratio:.1f}× ({demo_cli.wall:.1f} s vs {langgraph.wall:.2f} s)",
        ),
        ("`pipefix demo` peak RSS", "≤ 250 MiB", demo_cli.rss <= 250, f"{demo_cli.rss:.0f} MiB"),
        (
            f"a step loading one {step['rows_per_batch']:,}-row batch into each of {step['tables']:,} tables",
            "≤ 60 s",
            step["seconds"] <= 60 and step["tables"] >= 1000,
            f"{step['seconds']:.1f} s ({step['statements_per_batch']:.0f} statements and "
            f"{step['commits_per_batch']:.0f} commits per batch)",
        ),
    ]
    for target in targets:
        report.target(*target)
    steps = demo["steps"]
    phase_rows = [
        [
            phase,
            f"{demo['per_step'].get(phase, 0.0) * 1000:.0f} ms",
            f"{demo['per_step'].get(phase, 0.0) * steps:.1f} s",
            f"{step['per_step'].get(phase, 0.0):.1f} s" if phase != "producer" else "–",
        ]
        for phase in PHASES
    ]
    phase_rows.append(
        ["final report (summary, console)", "–", f"{demo['report']:.1f} s", "–"],
    )
    text = "\n\n".join(
        [
            BEGIN,
            "## 6. Where the time goes",
            "`pipefix demo` runs as a user runs it (a fresh process, its output thrown away), "
            "alternately with a process that only imports LangGraph, which every agent built on it "
            "pays. The same demo then runs in a process that times each phase by wrapping the "
            "functions the agent calls (`benchmarks/where_time_goes.py`), and counts every "
            "statement sent to DuckDB, those run while a batch loads, and the commits among them "
            "(a statement outside a transaction commits alone). Last, N tables each receive one "
            "batch and the step loading them all is timed the same way (three runs; the median "
            "run's figures are shown). Load average when this "
            f"part started: {' / '.join(f'{x:.2f}' for x in load_before)}; when it ended: "
            f"{' / '.join(f'{x:.2f}' for x in load_after)} (1 / 5 / 15 min): on a 2-core machine "
            "anything else running shows in these figures.",
            run._table(
                ["target", "wanted", "result", "measured"],
                [[w, want, "met" if met else "**missed**", d] for w, want, met, d in targets],
            ),
            run._table(
                ["run", "runs", "wall (median)", "peak RSS"],
                [
                    [s.label, str(len(s.runs)), f"{s.wall:.2f} s", f"{s.rss:.0f} MiB"]
                    for s in (demo_cli, langgraph, split, wide)
                ],
            ),
            f"Imports in the split demo's process: pipefix's CLI and scenario "
            f"{demo['imports']['pipefix']:.2f} s, then the agent with LangGraph and its checkpointer "
            f"{demo['imports']['langgraph']:.2f} s; opening the warehouse and creating the 8 tables "
            f"{demo['prepare']:.2f} s; the 25 steps {demo['loop']:.1f} s.",
            run._table(
                [
                    "phase",
                    "demo, per step",
                    "demo, 25 steps",
                    f"{step['tables']:,} tables × {step['rows_per_batch']:,} rows, one step",
                ],
                phase_rows,
            ),
            "Largest first, the demo's 25 steps: "
            + ", ".join(
                f"{phase} {seconds * steps:.1f} s"
                for phase, seconds in sorted(demo["per_step"].items(), key=lambda kv: -kv[1])
            )
            + ".",
            f"Statements per batch loaded (the loader's, from reading the file to the committed "
            f"batch row): {demo['statements_per_batch']:.1f} in the demo ({demo['batches']} batches, "
            f"{demo['commits_per_batch']:.1f} commits each; {demo['statements']:,} statements in "
            f"all), {step['statements_per_batch']:.1f} at {step['tables']:,} tables "
            f"({step['commits_per_batch']:.1f} commits each; {step['statements']:,} statements in "
            f"the step). *Rest of the loop*: evaluating, revising, evolving, filtering and "
            "recording the step, the planner's view of the landing folder, and LangGraph itself.",
            _memory_note(),
            END,
        ]
    )
    report.profile = text


def _memory_note() -> str:
    from pipefix.engines import duckdb_settings

    limit = duckdb_settings.memory_limit() or "DuckDB's own (80% of memory)"
    return (
        f"Memory: pipefix's DuckDB connections ran with a memory limit of {limit} "
        f"(`{duckdb_settings.ENV}`, default {duckdb_settings.DEFAULT_MEMORY}; beyond it DuckDB "
        "spills to a temporary folder). The demo completes at 128 MB; at 64 MB the diagnosis of "
        "the drifted events, which tries every conversion of ~6,000 held records at once (a trial "
        "table about a hundred columns wide), runs out of memory instead of spilling. Above the "
        "limit, the peak is mostly the interpreter with LangGraph (~100 MiB) and DuckDB's "
        "allocations outside its buffer pool."
    )
