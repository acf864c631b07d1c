"""Options as the commands declare them, each shared one written once: who plans (--model,
--fallback, --llm-timeout), --report, --config, --wait, --no-color; and the few shapes every
other option takes (a flag, a file, a default shown in --help), so a command lists only its names,
types and help texts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

_FILE = click.Path(dir_okay=False, path_type=Path)


def stacked(*options: Decorator) -> Decorator:
    """Several options as one decorator, in the order given (as if written one above the other)."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def flag(name: str, help: str) -> Decorator:
    return click.option(name, is_flag=True, help=help)


def json_option(help: str = "Print the result as one JSON object.") -> Decorator:
    """--json: stdout then carries one JSON object alone (`help` says what it holds)."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def shown(*decls: str, type: Any, default: Any, help: str) -> Decorator:
    """An option whose default --help shows."""
    return click.option(*decls, type=type, default=default, show_default=True, help=help)


def file_option(*decls: str, help: str, default: Path | None = None) -> Decorator:
    """An option naming a file (not a folder), as a Path; a default is shown in --help."""
    return click.option(*decls, type=_FILE, default=default, show_default=default is not None, help=help)


def warehouse_option(help: str) -> Decorator:
    """--warehouse: a warehouse URL, beside what the command otherwise reads."""
    return click.option("--warehouse", default=None, help=help)


NO_COLOR_OPTION = flag("--no-color", "Plain text output.")

model_options = stacked(
    click.option(
        "--model",
        default=None,
        help="Who plans: PROVIDER:NAME (anthropic:claude-sonnet-4-5, openai:gpt-4o, ollama:llama3.1), "
        "file:PATH (scripted answers, replayed offline) or offline. Default: offline (`pipefix run`: "
        "the `model:` of pipefix.yaml, if set). An API key in the environment never picks a model; "
        "the mode line only mentions it.",
    ),
    shown(
        "--fallback",
        type=click.Choice(["none", "offline"]),
        default="none",
        help="offline: the rules take any step the model cannot (missing package or key, refused or late "
        "answer); none: such a step is skipped, and an unusable model is an error.",
    ),
    shown(
        "--llm-timeout",
        type=click.FloatRange(0.1),
        default=60.0,
        help="Seconds to wait for each model answer.",
    ),
)

REPORT_OPTION = file_option(
    "--report",
    "report_path",
    help="Also write the HTML report (one self-contained file) here at the end; the path is printed.",
)

CONFIG_OPTION = file_option(
    "--config", "config_path", default=Path("pipefix.yaml"), help="The pipeline's configuration file."
)

WAIT_OPTION = shown(
    "--wait",
    type=click.FloatRange(0),
    default=0.0,
    help="Seconds to wait while another pipefix run holds the pipeline (one run at a time); then "
    "exit 2 naming it (process, host, since).",
)
