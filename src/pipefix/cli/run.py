"""`pipefix run`: load the new batch files and let the agent check and repair, for N steps or
--watch; a signal stops it at the next safe point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipefix.cli.errors import exclusive, user_errors
from pipefix.cli.html_report import check_report_folder, print_report_path, write_report
from pipefix.cli.options import (
    CONFIG_OPTION,
    NO_COLOR_OPTION,
    REPORT_OPTION,
    WAIT_OPTION,
    flag,
    json_option,
    model_options,
    shown,
)
from pipefix.stopping import StopRequest

if TYPE_CHECKING:
    from pipefix.domain.records import StepRecord


@dataclass
class _Stop(StopRequest):
    """A stop request, and where the run was: its last step done, and whether a step was running."""

    done: int | None = None
    running: bool = False

    def where(self) -> str:
        if self.done is None:
            return "before the first step"
        return f"at step {self.done + 1}" if self.running else f"after step {self.done}"


@contextmanager
def _stoppable() -> Iterator[_Stop]:
    """SIGINT/SIGTERM in the block stop it at the next safe point (stopping.py): one line saying
    where, exit 130 or 143 (128 + the signal), whatever the interrupted code raised."""
    from pipefix import stopping

    stop = _Stop()
    with stopping.on_signals(stop):
        try:
            yield stop
        except BaseException:
            if not stop.requested:
                raise
        if stop.requested:
            click.echo(
                f"stopped {stop.where()} ({stop.name}) — pipefix run continues where this stopped", err=True
            )
            raise SystemExit(stop.exit_code)


@click.command()
@model_options
@CONFIG_OPTION
@click.option("--steps", type=click.IntRange(1), default=None, help="Agent steps to run (default 1).")
@flag("--watch", "Keep running: one step every --interval seconds until Ctrl-C.")
@shown("--interval", type=click.FloatRange(0.1), default=60.0, help="Seconds between steps with --watch.")
@flag("--approve", "Approve every fix a policy `approve` holds back in this run.")
@flag(
    "--resume", "Continue a run that was killed from its last checkpoint, with its own steps and fix budget."
)
@json_option("Print the cumulative summary as one JSON object.")
@flag("--verbose", "Show each step's evaluation, plan and tool output.")
@NO_COLOR_OPTION
@REPORT_OPTION
@WAIT_OPTION
def run(
    config_path: Path,
    steps: int | None,
    watch: bool,
    interval: float,
    approve: bool,
    resume: bool,
    as_json: bool,
    verbose: bool,
    no_color: bool,
    model: str | None,
    fallback: str,
    llm_timeout: float,
    report_path: Path | None,
    wait: float,
) -> None:
    """Load every batch file not loaded before, then let the agent check and repair, for N steps.

    State lives in the warehouse: a second `pipefix run` continues where the first stopped, and a
    batch file is loaded exactly once (by content hash), whichever run sees it. One run at a time:
    another waits --wait seconds, then exits 2 naming the run that holds the pipeline. Ctrl-C
    (SIGINT) or SIGTERM stops at the next safe point: exit 130 or 143, nothing half-applied.
    """
    import time

    from pipefix.api import Pipeline
    from pipefix.report import console as report

    if watch and steps is not None:
        exclusive("--steps", "--watch")
    check_report_folder(report_path)
    console = report.make_console(no_color)
    on_step = None if as_json else partial(report.step_line, console, verbose=verbose)
    llm: dict[str, Any] = {
        "model": model,
        "fallback": fallback == "offline",
        "llm_timeout": llm_timeout,
        "resume": resume,
        # Only files still settling: a run waits for them once; --watch reads them a step later.
        "wait_for_files": not watch,
        "on_wait": None if as_json else partial(report.settle_wait_line, console),
    }
    # Ctrl-C or SIGTERM stops at the next safe point: the statement running rolls back with its
    # transaction, the step it belongs to is done again by the next run (stopping.py).
    with _stoppable() as stop, user_errors(), Pipeline.open(config_path, wait=wait) as pipeline:
        stop.attach(pipeline.interrupt)
        stop.done = pipeline.last_step()

        def step_done(record: StepRecord) -> None:
            stop.done = record.step
            if on_step is not None:
                on_step(record)

        if not as_json:
            console.print(f"pipefix run — {pipeline.config.path}")
            console.print(f"warehouse: {pipeline.config.redacted_warehouse()}")
            console.print(f"landing:   {pipeline.config.landing_dir()}")
        for warning in pipeline.warnings:
            if as_json:
                click.echo(f"warning: {warning}", err=True)
            else:
                console.print(f"warning: {warning}", markup=False, style="yellow")
        for edit in pipeline.apply_contract_edits():  # edits of pipefix.yaml, before the first step
            warns = edit.status in ("refused", "failed")
            for line in edit.lines():
                if not as_json:
                    console.print(line, markup=False, style="yellow" if warns else None)
                elif warns:
                    click.echo(line, err=True)  # stdout carries the JSON object alone
        stop.running = True
        if watch:
            while not stop.requested:
                stop.running = True
                summary = pipeline.run(1, approve=approve, on_step=step_done, **llm)
                stop.running = False
                llm["resume"] = False  # only the first step finishes a killed run
                deadline = time.monotonic() + interval
                while not stop.requested and time.monotonic() < deadline:
                    time.sleep(min(0.2, max(deadline - time.monotonic(), 0.0)))
        else:
            summary = pipeline.run(steps or 1, approve=approve, on_step=step_done, **llm)
            stop.running = False
        written = None
        if report_path is not None:
            written = write_report(
                report_path,
                pipeline.engine,
                pipeline.context.source_tables,
                stop_reason=summary["stop_reason"],
                source=pipeline.config.redacted_warehouse(),
            )
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        report.run_summary(console, summary)
        console.print(f"mode: {pipeline.deciders.mode_line()}")
    if written is not None:
        print_report_path(written, as_json)
