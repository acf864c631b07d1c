"""`pipefix quarantine | replay | rollback | adapters`: the user in control of rows that wait.

Thin: each command opens the pipeline, calls one `Pipeline` method (control.py does the work) and
prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipefix.cli.errors import fail, user_errors
from pipefix.cli.options import CONFIG_OPTION, WAIT_OPTION, flag, json_option, shown, stacked

if TYPE_CHECKING:
    from pipefix.api import Pipeline

CHANNEL = "pipefix cli"
RAW_WIDTH = 160


# --json and --no-color, which every command here accepts.
output_options = stacked(json_option(), flag("--no-color", "Plain text output, without escape codes."))


@contextmanager
def _opened(config_path: Path, writes: bool, wait: float = 0.0) -> Iterator[Pipeline]:
    """The pipeline, read-only unless the command `writes`. A writing command first makes sure,
    read-only, that there is a pipeline to act on (no warehouse is created for nothing), and
    holds the pipeline while it acts: another run holding it is waited for up to `wait` seconds."""
    from pipefix.api import Pipeline
    from pipefix.control import ActionRefused

    # An action refused to keep rows whole: exit 1; any other PipefixError: exit 2.
    with user_errors(ActionRefused):
        if writes:
            with Pipeline.open(config_path, read_only=True, wait=wait) as probe:
                probe.require_state()
        with Pipeline.open(config_path, read_only=not writes, wait=wait) as pipeline:
            yield pipeline


def _echo(text: str, no_color: bool) -> None:
    click.echo(text, color=False if no_color else None)


def _print_json(value: Any) -> None:
    from pipefix.control import to_json

    click.echo(to_json(value))


def _rows_line(table: str, rows: dict[str, int]) -> str:
    return (
        f"rows of {table}: received {rows['received']} | loaded {rows['loaded']} | "
        f"held {rows['quarantined']} | lost {rows['lost']}"
    )


def _one_line(raw: str) -> str:
    flat = " ".join(raw.split())
    return flat if len(flat) <= RAW_WIDTH else flat[: RAW_WIDTH - 3] + "..."


@click.command()
@click.argument("table", required=False)
@CONFIG_OPTION
@shown(
    "--samples", type=click.IntRange(0), default=3, help="Held rows shown per reason (raw text, batch, line)."
)
@output_options
def quarantine(table: str | None, config_path: Path, samples: int, as_json: bool, no_color: bool) -> None:
    """Rows held in quarantine and not replayed, of TABLE or every table: grouped by table, kind
    (schema, value, malformed) and reason, with counts and samples. Read-only.

    Exit 0 when nothing is held, 1 when rows wait, 2 bad usage or config.
    """
    with _opened(config_path, writes=False) as pipeline:
        view = pipeline.quarantine(table, samples=samples)
    if as_json:
        _print_json(view.as_dict())
        raise SystemExit(1 if view.held else 0)
    for name, counts in view.per_table().items():
        if not counts["held"]:
            _echo(f"{click.style(name, bold=True)}: nothing held", no_color)
            continue
        kinds = ", ".join(f"{k} {n}" for k, n in counts.items() if k != "held" and n)
        _echo(f"{click.style(name, bold=True)}: {counts['held']} rows held ({kinds})", no_color)
        for group in (g for g in view.groups if g.table == name):
            steps = f"step {group.first_step}" + (
                f"-{group.last_step}" if group.last_step != group.first_step else ""
            )
            label = click.style(f"{group.rows:>6} × {group.kind}", fg="yellow")
            _echo(f"{label}: {group.reason or '(no reason recorded)'} ({steps})", no_color)
            for sample in group.samples:
                _echo(f"{'':9}{sample.batch} line {sample.line}: {_one_line(sample.raw)}", no_color)
    if view.held:
        waiting = [n for n, c in view.per_table().items() if c["held"]]
        _echo(
            "after fixing the cause (producer, adapter, contract): "
            + " | ".join(f"pipefix replay {n}" for n in waiting),
            no_color,
        )
    raise SystemExit(1 if view.held else 0)


@click.command()
@click.argument("table")
@CONFIG_OPTION
@output_options
@WAIT_OPTION
def replay(table: str, config_path: Path, as_json: bool, no_color: bool, wait: float) -> None:
    """Judge TABLE's held rows again against its contract and adapter now, and load those that
    fit (the agent's retry_failed, audited as yours). Each row loads at most once.

    Exit 0 when no row of TABLE is still held, 1 when some still are (or the replay was refused:
    nothing changed), 2 bad usage or config.
    """
    with _opened(config_path, writes=True, wait=wait) as pipeline:
        result = pipeline.replay(table, by=_who())
    still = sum(result.still_held.values())
    if as_json:
        _print_json(result.as_dict())
        raise SystemExit(1 if still else 0)
    _echo(f"replayed {result.replayed}, still held {still}: {result.detail}", no_color)
    if result.still_held.get("malformed"):
        _echo(
            f"{result.still_held['malformed']} malformed record(s) stay held: no contract can read them",
            no_color,
        )
    if still:
        _echo(f"why they wait: pipefix quarantine {table}", no_color)
    _echo(_rows_line(table, result.rows), no_color)
    raise SystemExit(1 if still else 0)


@click.command()
@click.argument("table")
@click.option(
    "--to",
    "version",
    type=click.IntRange(1),
    required=True,
    help="The earlier contract version to return to (`pipefix check` shows the current one).",
)
@CONFIG_OPTION
@output_options
@WAIT_OPTION
def rollback(table: str, version: int, config_path: Path, as_json: bool, no_color: bool, wait: float) -> None:
    """Roll TABLE's contract and adapter back to an earlier version (the agent's rollback,
    audited as yours). Columns added since are dropped only while they hold no value; a column
    holding values stays, and every loaded and held row stays where it is.

    A policy `auto` may apply the same change again when new batches bring it: set the policy of
    that kind of change to `approve` or `block` in pipefix.yaml to keep the table where it is.

    Exit 0 rolled back, 1 refused (rows would be lost: nothing changed), 2 bad usage or config
    (an unknown table, a version the table never had or not earlier than its current one).
    """
    with _opened(config_path, writes=True, wait=wait) as pipeline:
        result = pipeline.rollback(table, version, by=_who())
    if as_json:
        _print_json(result.as_dict())
        return
    _echo(f"rolled back {result.detail}", no_color)
    _echo(_rows_line(table, result.rows), no_color)


class _ListByDefault(click.Group):
    """`pipefix adapters [TABLE]` lists; `pipefix adapters remove ...` removes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ListByDefault)
def adapters() -> None:
    """Adapters map a producer's new record shape onto a table's contract (a field renamed back,
    epoch milliseconds read as a timestamp). `pipefix adapters [TABLE]` lists the active ones;
    `pipefix adapters remove TABLE COLUMN` takes one out."""


@adapters.command("list")
@click.argument("table", required=False)
@CONFIG_OPTION
@output_options
def adapters_list(table: str | None, config_path: Path, as_json: bool, no_color: bool) -> None:
    """The active adapters' transforms, of TABLE or every table: table, column, kind, and since
    which adapter version, step and contract version. Read-only (the default of `adapters`).

    Exit 0, or 2 bad usage or config.
    """
    with _opened(config_path, writes=False) as pipeline:
        found = pipeline.adapters(table)
    if as_json:
        _print_json({"adapters": [t.as_dict() for t in found]})
        return
    if not found:
        _echo("no active adapters", no_color)
    for item in found:
        contract = f", contract v{item.since_contract_version}.0" if item.since_contract_version else ""
        _echo(
            f"{click.style(item.id, bold=True)}  {item.kind}  {item.described}  "
            f"(adapter v{item.adapter_version}; since adapter v{item.since_adapter_version}, "
            f"step {item.since_step}{contract})",
            no_color,
        )


@adapters.command("remove")
@click.argument("target")
@click.argument("column", required=False)
@CONFIG_OPTION
@output_options
@WAIT_OPTION
def adapters_remove(
    target: str, column: str | None, config_path: Path, as_json: bool, no_color: bool, wait: float
) -> None:
    """Take one transform out of a table's active adapter: TABLE COLUMN, or its id TABLE.COLUMN
    (as `pipefix adapters` lists it). Audited as yours; the adapter version before stays recorded
    (the inverse). Rows loaded through it stay loaded; held rows that fit without it load with
    `pipefix replay TABLE`.

    Exit 0 removed, 1 refused (nothing changed), 2 bad usage or config (an unknown table, no
    adapter, a column it does not map).
    """
    if column is None:
        table, dot, column = target.partition(".")
        if not dot or not column:
            fail(f"name the transform as TABLE COLUMN or TABLE.COLUMN, not {target!r}", 2)
    else:
        table = target
    with _opened(config_path, writes=True, wait=wait) as pipeline:
        result = pipeline.remove_adapter(table, column, by=_who())
    if as_json:
        _print_json(result.as_dict())
        return
    _echo(result.detail, no_color)
    _echo(f"inverse: {result.inverse}", no_color)
    if result.would_load:
        _echo(f"{result.would_load} held rows fit now: pipefix replay {table}", no_color)
    _echo(_rows_line(table, result.rows), no_color)


def _who() -> str:
    from pipefix.control import who

    return who(CHANNEL)
