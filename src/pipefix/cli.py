"""pipefix's command line. Thin: parses options, calls the scenario/runner, prints."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from pipefix import __version__
from pipefix.errors import Interrupted, PipefixError
from pipefix.stopping import StopRequest

if TYPE_CHECKING:
    from rich.console import Console

    from pipefix.domain.records import StepRecord
    from pipefix.engines.base import Engine
    from pipefix.scenario.demo import DemoRun

MODEL_OPTIONS = (
    click.option(
        "--model",
        default=None,
        help="Who plans: PROVIDER:NAME (anthropic:claude-sonnet-4-5, openai:gpt-4o, ollama:llama3.1), "
        "file:PATH (scripted answers, replayed offline) or offline. Default: offline (`pipefix run`: "
        "the `model:` of pipefix.yaml, if set). An API key in the environment never picks a model; "
        "the mode line only mentions it.",
    ),
    click.option(
        "--fallback",
        type=click.Choice(["none", "offline"]),
        default="none",
        show_default=True,
        help="offline: the rules take any step the model cannot (missing package or key, refused or late "
        "answer); none: such a step is skipped, and an unusable model is an error.",
    ),
    click.option(
        "--llm-timeout",
        type=click.FloatRange(0.1),
        default=60.0,
        show_default=True,
        help="Seconds to wait for each model answer.",
    ),
)


REPORT_OPTION = click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the HTML report (one self-contained file) here at the end; the path is printed.",
)


def model_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(MODEL_OPTIONS):
        command = option(command)
    return command


CRASH_LOG_NAME = "pipefix-crash.log"
EXIT_BUG = 3


class _Commands(click.Group):
    """Errors as a user meets them, never as a traceback: pipefix's own (a PipefixError) as one
    line and exit 2; anything else is a bug, reported in one paragraph with exit 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except PipefixError as error:
            _fail(str(error))
        except Exception as error:
            _crash(error)


def crash_log_path() -> Path:
    """Where a bug's traceback goes: $PIPEFIX_CRASH_LOG, else pipefix-crash.log in the system's
    temp folder."""
    import os
    import tempfile

    return Path(os.environ.get("PIPEFIX_CRASH_LOG") or Path(tempfile.gettempdir()) / CRASH_LOG_NAME)


def _crash(error: Exception) -> NoReturn:
    """A bug: one paragraph for the user, the traceback in the crash log (or, if that cannot be
    written, on stderr), exit 3."""
    import sys
    import traceback
    from datetime import UTC, datetime

    trace = "".join(traceback.format_exception(error))
    path = crash_log_path()
    try:
        path.write_text(
            f"pipefix {__version__}, {datetime.now(UTC).isoformat(timespec='seconds')}\n"
            f"command: {' '.join(sys.argv)}\n\n{trace}",
            encoding="utf-8",
        )
        where = f"The traceback is in {path}"
    except OSError as unwritable:
        click.echo(trace, err=True)
        where = f"The traceback is above ({path} could not be written: {unwritable})"
    message = str(error).strip().splitlines()[0] if str(error).strip() else "(no message)"
    click.echo(f"pipefix hit a bug: {type(error).__name__}: {message}. {where}; please report it.", err=True)
    raise SystemExit(EXIT_BUG)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipefix")
def main() -> None:
    """pipefix keeps a data pipeline healthy through upstream schema drift without losing a row.

    It loads producer batches under per-table contracts, measures health from the rows, and
    when a producer changes its schema it revises its goal, diagnoses and repairs with safe,
    reversible actions.

    Exit codes: 0 done (and healthy, for `check`); 1 unhealthy, or not done (a demo that cannot
    start, a report not written, an alert not delivered); 2 bad usage, configuration or
    warehouse; 3 a bug in pipefix: one paragraph on stderr, the traceback in pipefix-crash.log in
    the system's temp folder (or $PIPEFIX_CRASH_LOG).
    """


@main.command()
@model_options
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="DuckDB file for the run (default: a new temp file, reported at start).",
)
@click.option(
    "--warehouse",
    default=None,
    help="Run on Spark instead: spark://local[N] (in-process) or sc://host:port (Spark Connect); "
    "tables and state go in <db>-spark/ beside --db.",
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
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a demo in --db that was killed, from its last checkpoint (LangGraph, saved "
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
        _fail("--resume needs the --db of the demo to continue")
    _check_report_folder(report_path)
    console = report.make_console(no_color)
    try:
        run = prepare(options)
    except DemoError as error:
        if isinstance(error.__cause__, ModelUnavailable):
            _fail(str(error))  # a model that cannot be used as asked is bad usage: exit 2
        raise click.ClickException(str(error)) from error
    if as_json:
        summary = demo_summary(execute(run))
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        summary = show_demo(run, console, verbose=verbose)
    if report_path is not None:
        written = _write_report(
            report_path,
            run.pipeline.engine,
            run.pipeline.source_tables,
            revise_threshold=revise_threshold,
            stop_reason=summary["stop_reason"],
            source=str(run.db_path),
        )
        _print_report_path(written, as_json)
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


CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("pipefix.yaml"),
    show_default=True,
    help="The pipeline's configuration file.",
)

WAIT_OPTION = click.option(
    "--wait",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Seconds to wait while another pipefix run holds the pipeline (one run at a time); then "
    "exit 2 naming it (process, host, since).",
)


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(code)


def _check_report_folder(path: Path | None) -> None:
    """Before a run starts: the report's folder must exist (not found out at the end of the run)."""
    if path is not None and not path.expanduser().resolve().parent.is_dir():
        _fail(f"folder {path.expanduser().resolve().parent} of the report does not exist")


def _write_report(path: Path, engine: Engine, tables: tuple[str, ...] | None, **options: Any) -> Path:
    from pipefix.report.data import ReportError
    from pipefix.report.html import write_report

    try:
        return write_report(path, engine, tables, **options)
    except ReportError as error:
        _fail(str(error))  # nothing to report on yet: exit 2, like `check` before any run
    except OSError as error:
        _fail(f"cannot write the report: {error}", code=1)


def _print_report_path(path: Path, as_json: bool) -> None:
    # With --json, stdout carries the JSON object only.
    click.echo(f"report: {path}", err=as_json)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Bad config, unreachable warehouse, nothing to check yet (any PipefixError): a message and
    exit 2, never a traceback. Here, not only at the top (_Commands), so a command stops at once."""
    try:
        yield
    except Interrupted:
        raise  # a stop the command asked for: _stoppable reports it
    except PipefixError as error:
        _fail(str(error))


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


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--json", "as_json", is_flag=True, help="Print the files written as one JSON object.")
@click.option("--no-color", is_flag=True, help="Plain text output.")
@click.option(
    "--from",
    "samples",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Infer the contracts from sample batches instead: SAMPLES/<table>/*.jsonl|*.csv|*.parquet, "
    "or files directly in SAMPLES, one table each. No example batches are written.",
)
@click.option(
    "--warehouse",
    default=None,
    help="With --from: the warehouse URL to write (default duckdb:///warehouse.duckdb).",
)
def init(directory: Path, as_json: bool, no_color: bool, samples: Path | None, warehouse: str | None) -> None:
    """Start a pipeline in DIRECTORY: a commented pipefix.yaml, landing/<table>/ folders and one
    example batch per table, so that `pipefix run` works right after. With --from, the contracts
    are inferred from sample batches, each guess commented with what it was based on."""
    from pipefix.project import init_project

    if samples is not None:
        _init_from(directory, samples, warehouse, as_json)
        return
    if warehouse is not None:
        _fail("--warehouse goes with --from")
    with _user_errors():
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

    with _user_errors():
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


@main.command()
@model_options
@CONFIG_OPTION
@click.option("--steps", type=click.IntRange(1), default=None, help="Agent steps to run (default 1).")
@click.option("--watch", is_flag=True, help="Keep running: one step every --interval seconds until Ctrl-C.")
@click.option(
    "--interval",
    type=click.FloatRange(0.1),
    default=60.0,
    show_default=True,
    help="Seconds between steps with --watch.",
)
@click.option("--approve", is_flag=True, help="Approve every fix a policy `approve` holds back in this run.")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a run that was killed from its last checkpoint, with its own steps and fix budget.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the cumulative summary as one JSON object.")
@click.option("--verbose", is_flag=True, help="Show each step's evaluation, plan and tool output.")
@click.option("--no-color", is_flag=True, help="Plain text output.")
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
        _fail("--steps and --watch exclude each other")
    _check_report_folder(report_path)
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
    with _stoppable() as stop, _user_errors(), Pipeline.open(config_path, wait=wait) as pipeline:
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
            written = _write_report(
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
        _print_report_path(written, as_json)


@main.command()
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option(
    "--full",
    is_flag=True,
    help="Rescan every table instead of reading only the rows loaded since the last run.",
)
@click.option("--no-color", is_flag=True, help="Plain text output.")
def check(config_path: Path, as_json: bool, full: bool, no_color: bool) -> None:
    """Health now, read-only: nothing is loaded or repaired.

    Exit 0 healthy, 1 unhealthy, 2 bad usage or config.
    """
    from pipefix.api import Pipeline
    from pipefix.report import console as report

    with _user_errors(), Pipeline.open(config_path, read_only=True) as pipeline:
        result = pipeline.check(full=full)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        for note in result.notes:  # e.g. tables judged before pipefix ran, columns that differ
            click.echo(f"note: {note}")
        report.check_report(report.make_console(no_color), result.healthy, result.metrics, result.evaluation)
    raise SystemExit(0 if result.healthy else 1)


@main.command("report")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The pipeline's configuration file [default: pipefix.yaml, unless --db is given].",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A DuckDB warehouse file to report on instead of a config's, e.g. a demo's --db.",
)
@click.option(
    "--warehouse",
    default=None,
    help="With --db: the demo ran on Spark with this --warehouse (spark://local[N] or "
    "sc://host:port); its tables and state are in <db>-spark/ beside --db.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report's path as one JSON object.")
@click.option("--no-color", is_flag=True, help="Plain text output.")
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
        _fail("--config and --db exclude each other")
    if warehouse is not None and db is None:
        _fail("--warehouse needs the --db the demo ran with")
    _check_report_folder(output)
    with _user_errors():
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
        written = _write_report(output, engine, tables, source=source)
    finally:
        engine.close()
    click.echo(json.dumps({"report": str(written)}) if as_json else f"report: {written}")


@main.command()
@CONFIG_OPTION
@click.option(
    "--json", "as_json", is_flag=True, help="Print the entries and waiting decisions as one JSON object."
)
@click.option("--no-color", is_flag=True, help="Plain text output.")
def history(config_path: Path, as_json: bool, no_color: bool) -> None:
    """The audit trail: goal versions and why they changed, every fix attempt and refusal,
    constraint changes — each with its step and evidence."""
    from pipefix.api import Pipeline

    with _user_errors(), Pipeline.open(config_path, read_only=True) as pipeline:
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


def _settle(config_path: Path, decision_id: int, approve: bool, as_json: bool, wait: float) -> None:
    from pipefix.api import Pipeline

    with _user_errors(), Pipeline.open(config_path, wait=wait) as pipeline:
        message = pipeline.decide(decision_id, approve)
    status = "approved" if approve else "rejected"
    click.echo(
        json.dumps({"decision": decision_id, "status": status, "message": message}) if as_json else message
    )


SETTLE_JSON = click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object.")


@main.command()
@CONFIG_OPTION
@click.argument("decision_id", type=int)
@SETTLE_JSON
@click.option("--no-color", is_flag=True, help="Plain text output.")
@WAIT_OPTION
def approve(config_path: Path, decision_id: int, as_json: bool, no_color: bool, wait: float) -> None:
    """Approve a fix that a policy `approve` holds back (its ID is in the run's output and in
    `pipefix history`). The next `pipefix run` applies it."""
    _settle(config_path, decision_id, True, as_json, wait)


@main.command()
@CONFIG_OPTION
@click.argument("decision_id", type=int)
@SETTLE_JSON
@click.option("--no-color", is_flag=True, help="Plain text output.")
@WAIT_OPTION
def reject(config_path: Path, decision_id: int, as_json: bool, no_color: bool, wait: float) -> None:
    """Reject a fix that waits for approval: it is never applied; the rows stay quarantined."""
    _settle(config_path, decision_id, False, as_json, wait)


@main.group()
def alerts() -> None:
    """The people who own the pipeline hear about drift, fixes and decisions waiting for them
    through the sinks listed under `alerts:` in pipefix.yaml (webhook, slack, email)."""


@alerts.command("test")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the outcome per sink as one JSON object.")
@click.option("--no-color", is_flag=True, help="Plain text output.")
def alerts_test(config_path: Path, as_json: bool, no_color: bool) -> None:
    """Send a sample alert to every sink and report, per sink, whether it was delivered.
    Exit 1 if any sink failed."""
    from pipefix.config import load_config
    from pipefix.notify.dispatch import send_test

    with _user_errors():
        loaded = load_config(config_path)
    sinks = loaded.config.alerts
    if not sinks:
        _fail(f"{loaded.path} lists no sinks under `alerts:` (see the README's Alerts section)")
    failed = 0
    outcomes = []
    for sent in send_test(sinks, loaded.folder.name):
        outcome = "delivered" if sent.delivery.ok else "FAILED"
        outcomes.append(
            {
                "sink": sent.sink,
                "delivered": sent.delivery.ok,
                "detail": sent.delivery.detail,
                "attempts": sent.delivery.attempts,
            }
        )
        if not as_json:
            click.echo(
                f"{sent.sink:<24} {outcome:<10} {sent.delivery.detail} ({sent.delivery.attempts} attempt(s))"
            )
        failed += not sent.delivery.ok
    if as_json:
        click.echo(json.dumps({"sinks": outcomes, "failed": failed}, indent=2))
    if failed:
        raise SystemExit(1)


from pipefix.cli_control import register  # noqa: E402  (quarantine, replay, rollback, adapters)

register(main)
