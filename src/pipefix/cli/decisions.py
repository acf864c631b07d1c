"""`pipefix approve | reject`: a person settles a fix that a policy `approve` holds back."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipefix.cli.errors import user_errors
from pipefix.cli.options import CONFIG_OPTION, NO_COLOR_OPTION, WAIT_OPTION, json_option, stacked


def _settle(config_path: Path, decision_id: int, approve: bool, as_json: bool, wait: float) -> None:
    from pipefix.api import Pipeline

    with user_errors(), Pipeline.open(config_path, wait=wait) as pipeline:
        message = pipeline.decide(decision_id, approve)
    status = "approved" if approve else "rejected"
    click.echo(
        json.dumps({"decision": decision_id, "status": status, "message": message}) if as_json else message
    )


_settle_options = stacked(
    CONFIG_OPTION,
    click.argument("decision_id", type=int),
    json_option("Print the outcome as one JSON object."),
    NO_COLOR_OPTION,
    WAIT_OPTION,
)


@click.command()
@_settle_options
def approve(config_path: Path, decision_id: int, as_json: bool, no_color: bool, wait: float) -> None:
    """Approve a fix that a policy `approve` holds back (its ID is in the run's output and in
    `pipefix history`). The next `pipefix run` applies it."""
    _settle(config_path, decision_id, True, as_json, wait)


@click.command()
@_settle_options
def reject(config_path: Path, decision_id: int, as_json: bool, no_color: bool, wait: float) -> None:
    """Reject a fix that waits for approval: it is never applied; the rows stay quarantined."""
    _settle(config_path, decision_id, False, as_json, wait)
