"""`pipefix demo`: the "Data Pipeline Fixer" scenario, run and printed (or summarised as JSON)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipefix.cli.errors import fail
from pipefix.cli.html_report import check_report_folder, print_report_path, write_report
from pipefix.cli.options import (
    NO_COLOR_OPTION,
    REPORT_OPTION,
    file_option,
    flag,
    json_option,
    model_options,
    shown,
    warehouse_option,
)

if TYPE_CHECKING:
    from rich.console import Console

    from pipefix.scenario.demo import DemoRun


@click.command()
@model_options
@file_option("--db", help="DuckDB file for the run (default: a new temp file, reported at start).")
@warehouse_option(
    "Run on Spark instead: spark://local[N] (in-process) or sc://host:port (Spark Connect); "
    "tables and state go in <db>-spark/ beside --db."
)
@shown("--steps", type=click.IntRange(1, 500), default=25, help="Monitoring/repair rounds to run.")
@shown("--seed", type=int, default=7, help="Seed of the producer's data.")
@shown(
    "--drift-step", type=click.IntRange(1), default=8, help="Step at which the producer moves to schema v2.0."
)
@shown(
    "--max-fixes",
    type=click.IntRange(0),
    default=15,
    help="Fix budget: fix attempts allowed in the run; monitoring goes on once spent.",
)
@shown(
    "--revise-threshold",
    type=click.FloatRange(-1, 1),
    default=-0.3,
    help="Revise the goal when the evaluation score falls to this value or below.",
)
@flag("--verbose", "Show each step's evaluation and the goal history.")
@json_option("Print one JSON summary object instead.")
@NO_COLOR_OPTION
@flag(
    "--resume",
    "Continue a demo in --db that was killed, from its last checkpoint (LangGraph, saved "
    "beside the warehouse after every node).",
)
@REPORT_OPTION
def demo(
    db: Path | None,
    warehouse: str | None,
    steps: int,
    seed: int,
    drift_step: int,
    max_fixes: int,
    revise_threshold: float,
    verbose: bool,
    as_json: bool,
    no_color: bool,
    model: str | None,
    fallback: str,
    llm_timeout: float,
    resume: bool,
    report_path: Path | None,
) -> None:
    """Run the "Data Pipeline Fixer" scenario: 8 tables, schema drift at step 8, repair.

    Every number is measured from real rows in a real DuckDB file.
    """
    from pipefix.planners.models import ModelUnavailable
    from pipefix.report import console as report
    from pipefix.scenario.demo import DemoError, DemoOptions, execute, prepare

    options = DemoOptions(
        db=db,
        warehouse=warehouse,
        steps=steps,
        seed=seed,
        drift_step=drift_step,
        max_fixes=max_fixes,
        revise_threshold=revise_threshold,
        model=model,
        fallback=fallback == "offline",
        llm_timeout=llm_timeout,
        resume=resume,
    )
    if resume and db is None:
        fail("--resume needs the --db of the demo to continue")
    check_report_folder(report_path)
    console = report.make_console(no_color)
    try:
        run = prepare(options)
    except DemoError as error:
        if isinstance(error.__cause__, ModelUnavailable):
            fail(str(error))  # a model that cannot be used as asked is bad usage: exit 2
        raise click.ClickException(str(error)) from error
    if as_json:
        summary = demo_summary(execute(run))
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        summary = show_demo(run, console, verbose=verbose)
    if report_path is not None:
        written = write_report(
            report_path,
            run.pipeline.engine,
            run.pipeline.source_tables,
            revise_threshold=revise_threshold,
            stop_reason=summary["stop_reason"],
            source=str(run.db_path),
        )
        print_report_path(written, as_json)
    run.pipeline.engine.close()


def show_demo(run: DemoRun, console: Console, *, verbose: bool = False) -> dict[str, Any]:
    """Run a prepared demo, printing what `pipefix demo` prints: the header, a line per step, the
    final report and the mode line. Returns the summary. The tests and the README's excerpt
    (docs/readme_figures.py) print through here too, so they see the demo as a user does."""
    from pipefix.report import console as report
    from pipefix.scenario.demo import execute
    from pipefix.scenario.tables import ALL_TABLES

    report.header(console, str(run.db_path), str(run.landing), run.deciders.mode_line())
    report.initial_state(console, run.goal, run.constraints, ALL_TABLES)
    execute(run, on_step=partial(report.step_line, console, verbose=verbose))
    summary = demo_summary(run)
    report.final_report(console, run.pipeline, summary, run.final_state["constraints"], verbose)
    console.print(f"mode: {run.deciders.mode_line()}")
    return summary


def demo_summary(run: DemoRun) -> dict[str, Any]:
    """The summary object of `pipefix demo --json`."""
    from pipefix.report.summary import build_summary, model_summary

    state = run.final_state
    summary = build_summary(
        run.pipeline, run.records, state["goal"], state["constraints"], state["stop_reason"]
    )
    summary["warehouse"] = str(run.db_path)
    summary["model"] = model_summary(run.deciders.session)
    return summary
