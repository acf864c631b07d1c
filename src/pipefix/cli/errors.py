"""Errors as a user meets them, never as a traceback: a PipefixError is one line and exit 2, a bug
one paragraph and exit 3 with its traceback in the crash log. Shared by every command module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from pipefix import __version__
from pipefix.errors import Interrupted, PipefixError

CRASH_LOG_NAME = "pipefix-crash.log"
EXIT_BUG = 3


class Commands(click.Group):
    """Errors as a user meets them, never as a traceback: pipefix's own (a PipefixError) as one
    line and exit 2; anything else is a bug, reported in one paragraph with exit 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except PipefixError as error:
            fail(str(error))
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


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(code)


def exclusive(first: str, second: str) -> NoReturn:
    """Two options given together that cannot be: bad usage."""
    fail(f"{first} and {second} exclude each other")


@contextmanager
def user_errors(*outcomes: type[PipefixError]) -> Iterator[None]:
    """Bad config, unreachable warehouse, nothing to check yet (any PipefixError): a message and
    exit 2, never a traceback. Here, not only at the top (Commands), so a command stops at once.
    `outcomes`: errors that are a command's answer rather than bad usage (an action refused to
    keep rows whole): a message and exit 1."""
    try:
        yield
    except Interrupted:
        raise  # a stop the command asked for: run.py's _stoppable reports it
    except outcomes as error:
        fail(str(error), 1)
    except PipefixError as error:
        fail(str(error))
