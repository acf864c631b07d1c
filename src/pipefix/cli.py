"""pipefix's command line. Thin: parses options, calls the scenario/runner, prints."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import click

from pipefix import __version__

PLANNER_MODE = "offline — deterministic rules planner, reviser and constraint evolver (no LLM)"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipefix")
def main() -> None:
    """pipefix keeps a data pipeline healthy through upstream schema drift without losing a row.

    It loads producer batches under per-table contracts, measures health from the rows, and
    when a producer changes its schema it revises its goal, diagnoses and repairs with safe,
    reversible actions.
    """


@main.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="DuckDB file for the run (default: a new temp file, reported at start).",
)
@click.option(
    "--steps",
    type=click.IntRange(1, 500),
    default=25,
    show_default=True,
    help="Monitoring/repair rounds to run.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the producer's data.")
@click.option(
    "--drift-step",
    type=click.IntRange(1),
    default=8,
    show_default=True,
    help="Step at which the producer moves to schema v2.0.",
)
@click.option(
    "--max-fixes",
    type=click.IntRange(0),
    default=15,
    show_default=True,
    help="Fix budget: fix attempts allowed in the run; monitoring goes on once spent.",
)
@click.option(
    "--revise-threshold",
    type=click.FloatRange(-1, 1),
    default=-0.3,
    show_default=True,
    help="Revise the goal when the evaluation score falls to this value or below.",
)
@click.option("--verbose", is_flag=True, help="Show each step's evaluation and the goal history.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object instead.")
@click.option("--no-color", is_flag=True, help="Plain text output.")
def demo(
    db: Path | None,
    steps: int,
    seed: int,
    drift_step: int,
    max_fixes: int,
    revise_threshold: float,
    verbose: bool,
    as_json: bool,
    no_color: bool,
) -> None:
    """Run the "Data Pipeline Fixer" scenario: 8 tables, schema drift at step 8, repair.

    Every number is measured from real rows in a real DuckDB file.
    """
    from pipefix.report import console as report
    from pipefix.report.summary import build_summary
    from pipefix.scenario.demo import DemoError, DemoOptions, execute, prepare
    from pipefix.scenario.tables import ALL_TABLES

    options = DemoOptions(
        db=db,
        steps=steps,
        seed=seed,
        drift_step=drift_step,
        max_fixes=max_fixes,
        revise_threshold=revise_threshold,
    )
    console = report.make_console(no_color)
    try:
        run = prepare(options)
    except DemoError as error:
        raise click.ClickException(str(error)) from error
    if not as_json:
        report.header(console, str(run.db_path), str(run.landing), PLANNER_MODE)
        report.initial_state(console, run.goal, run.constraints, ALL_TABLES)
    execute(run, on_step=None if as_json else partial(report.step_line, console, verbose=verbose))
    state = run.final_state
    summary = build_summary(
        run.pipeline, run.records, state["goal"], state["constraints"], state["stop_reason"]
    )
    summary["warehouse"] = str(run.db_path)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        report.final_report(console, run.pipeline, summary, state["constraints"], verbose)
    run.pipeline.engine.close()
