"""`pipefix init`: start a pipeline in a folder, from examples or inferred from sample batches."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipefix.cli.errors import fail, user_errors
from pipefix.cli.options import NO_COLOR_OPTION, json_option, warehouse_option


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@json_option("Print the files written as one JSON object.")
@NO_COLOR_OPTION
@click.option(
    "--from",
    "samples",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Infer the contracts from sample batches instead: SAMPLES/<table>/*.jsonl|*.csv|*.parquet, "
    "or files directly in SAMPLES, one table each. No example batches are written.",
)
@warehouse_option("With --from: the warehouse URL to write (default duckdb:///warehouse.duckdb).")
def init(directory: Path, as_json: bool, no_color: bool, samples: Path | None, warehouse: str | None) -> None:
    """Start a pipeline in DIRECTORY: a commented pipefix.yaml, landing/<table>/ folders and one
    example batch per table, so that `pipefix run` works right after. With --from, the contracts
    are inferred from sample batches, each guess commented with what it was based on."""
    from pipefix.project import init_project

    if samples is not None:
        _init_from(directory, samples, warehouse, as_json)
        return
    if warehouse is not None:
        fail("--warehouse goes with --from")
    with user_errors():
        written = init_project(directory)
    if as_json:
        files = [str(path) for path in written]
        click.echo(json.dumps({"written": files, "next": f"cd {directory} && pipefix run"}, indent=2))
        return
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: cd {directory} && pipefix run")


def _init_from(directory: Path, samples: Path, warehouse: str | None, as_json: bool) -> None:
    from pipefix.project_samples import DEFAULT_WAREHOUSE, init_from_samples

    with user_errors():
        inferred = init_from_samples(directory, samples, warehouse or DEFAULT_WAREHOUSE)
    config = directory / "pipefix.yaml"
    landing = directory / "landing"
    after = f"review {config}, put batch files in {landing}/<table>/, then: cd {directory} && pipefix run"
    tables = {
        t.guess.table: {
            "records": t.read.records,
            "columns": len(t.guess.columns),
            "key": t.guess.key,
            "loaded_in_trial": t.trial.loaded if t.trial else None,
        }
        for t in inferred.tables
    }
    if as_json:
        found = {"written": [str(config)], "tables": tables, "warnings": inferred.warnings, "next": after}
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(f"wrote {config}: {len(tables)} table(s) inferred from {samples}")
    for name, table in tables.items():
        key = f", key candidate {table['key']}" if table["key"] else ""
        trial = f"; {table['loaded_in_trial']} of {table['records']} load in a trial"
        click.echo(f"  {name}: {table['records']} records, {table['columns']} columns{key}{trial}")
    for warning in inferred.warnings:
        click.echo(f"warning: {warning}")
    click.echo(f"next: {after}")
