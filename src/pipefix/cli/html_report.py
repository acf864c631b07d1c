"""The HTML report a command writes, at the end of a run (`demo`, `run`) or alone (`report`): its
folder checked before the run starts, a report that cannot be written as an exit code, its path
printed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipefix.cli.errors import fail

if TYPE_CHECKING:
    from pipefix.engines.base import Engine


def check_report_folder(path: Path | None) -> None:
    """Before a run starts: the report's folder must exist (not found out at the end of the run)."""
    if path is not None and not path.expanduser().resolve().parent.is_dir():
        fail(f"folder {path.expanduser().resolve().parent} of the report does not exist")


def write_report(path: Path, engine: Engine, tables: tuple[str, ...] | None, **options: Any) -> Path:
    from pipefix.report.data import ReportError
    from pipefix.report.html import write_report as write_html

    try:
        return write_html(path, engine, tables, **options)
    except ReportError as error:
        fail(str(error))  # nothing to report on yet: exit 2, like `check` before any run
    except OSError as error:
        fail(f"cannot write the report: {error}", code=1)


def print_report_path(path: Path, as_json: bool) -> None:
    # With --json, stdout carries the JSON object only.
    click.echo(f"report: {path}", err=as_json)
