"""Options that several commands share, with one help text each: who plans (--model, --fallback,
--llm-timeout), --report, --config and --wait."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

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
