"""Read-only commands on a pipeline's warehouse: `check` (health now), `report` (the HTML report)
and `history` (the audit trail and the decisions waiting)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipefix.cli.errors import exclusive, fail, user_errors
from pipefix.cli.html_report import check_report_folder, write_report
from pipefix.cli.options import (
    CONFIG_OPTION,
    NO_COLOR_OPTION,
    file_option,
    flag,
    json_option,
    warehouse_option,
)


@click.command()
@CONFIG_OPTION
@json_option()
@flag("--full", "Rescan every table instead of reading only the rows loaded since the last run.")
@NO_COLOR_OPTION
def check(config_path: Path, as_json: bool, full: bool, no_color: bool) -> None:
    """Health now, read-only: nothing is loaded or repaired.

    Exit 0 healthy, 1 unhealthy, 2 bad usage or config.
    """
    from pipefix.api import Pipeline
    from pipefix.report import console as report

    with user_errors(), Pipeline.open(config_path, read_only=True) as pipeline:
        result = pipeline.check(full=full)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        for note in result.notes:  # e.g. tables judged before pipefix ran, columns that differ
            click.echo(f"note: {note}")
        report.check_report(report.make_console(no_color), result.healthy, result.metrics, result.evaluation)
    raise SystemExit(0 if result.healthy else 1)


@click.command("report")
@file_option(
    "--config",
    "config_path",
    help="The pipeline's configuration file [default: pipefix.yaml, unless --db is given].",
)
@file_option("--db", help="A DuckDB warehouse file to report on instead of a config's, e.g. a demo's --db.")
@warehouse_option(
    "With --db: the demo ran on Spark with this --warehouse (spark://local[N] or "
    "sc://host:port); its tables and state are in <db>-spark/ beside --db."
)
@file_option("-o", "--output", default=Path("report.html"), help="The HTML file to write.")
@json_option("Print the report's path as one JSON object.")
@NO_COLOR_OPTION
def report_command(
    config_path: Path | None,
    db: Path | None,
    warehouse: str | None,
    output: Path,
    as_json: bool,
    no_color: bool,
) -> None:
    """Write the HTML report of a pipeline from what its warehouse holds (read-only): health, error
    rate and throughput per step, the score, every fix, goal versions, constraints, rows and drift.

    One self-contained file: no network, opens from disk.
    """
    from pipefix.api import Pipeline
    from pipefix.engines.connect import open_demo_warehouse, open_warehouse

    if config_path is not None and db is not None:
        exclusive("--config", "--db")
    if warehouse is not None and db is None:
        fail("--warehouse needs the --db the demo ran with")
    check_report_folder(output)
    with user_errors():
        if db is not None and warehouse is not None:
            engine = open_demo_warehouse(warehouse, db, read_only=True)
            tables, source = None, warehouse
        elif db is not None:
            engine = open_warehouse("duckdb", "", db, read_only=True)
            tables, source = None, str(db)
        else:
            pipeline = Pipeline.open(config_path or Path("pipefix.yaml"), read_only=True)
            engine, tables = pipeline.engine, pipeline.context.source_tables
            source = pipeline.config.redacted_warehouse()
    try:
        written = write_report(output, engine, tables, source=source)
    finally:
        engine.close()
    click.echo(json.dumps({"report": str(written)}) if as_json else f"report: {written}")


@click.command()
@CONFIG_OPTION
@json_option("Print the entries and waiting decisions as one JSON object.")
@NO_COLOR_OPTION
def history(config_path: Path, as_json: bool, no_color: bool) -> None:
    """The audit trail: goal versions and why they changed, every fix attempt and refusal,
    constraint changes — each with its step and evidence."""
    from pipefix.api import Pipeline

    with user_errors(), Pipeline.open(config_path, read_only=True) as pipeline:
        entries = pipeline.history()
        waiting = [d for d in pipeline.decisions() if d["status"] == "pending"]
    if as_json:
        click.echo(json.dumps({"history": entries, "waiting": waiting}, indent=2, default=str))
        return
    if not entries:
        click.echo("no history yet: run `pipefix run` first")
    for entry in entries:
        click.echo(f"step {entry['step']:>4}  {entry['kind']:<10} {entry['text']}")
        if entry.get("reason"):
            click.echo(f"{'':17}reason: {entry['reason']}")
    for decision in waiting:
        if decision["fix_type"] == "repair_needed":
            click.echo(
                f"rows wait on {decision['table']}: decision {decision['id']} (step {decision['step']}): "
                f"{decision['drift']} — `pipefix quarantine {decision['table']}` lists them"
            )
            continue
        click.echo(
            f"waiting for a person: decision {decision['id']}: {decision['fix_type']} on {decision['table']} "
            f"({decision['drift']}) — pipefix approve {decision['id']} | pipefix reject {decision['id']}"
        )
