"""`pipefix alerts test`: a sample alert sent to every sink of pipefix.yaml, delivery reported per
sink."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipefix.cli.errors import fail, user_errors
from pipefix.cli.options import CONFIG_OPTION, NO_COLOR_OPTION, json_option


@click.group()
def alerts() -> None:
    """The people who own the pipeline hear about drift, fixes and decisions waiting for them
    through the sinks listed under `alerts:` in pipefix.yaml (webhook, slack, email)."""


@alerts.command("test")
@CONFIG_OPTION
@json_option("Print the outcome per sink as one JSON object.")
@NO_COLOR_OPTION
def alerts_test(config_path: Path, as_json: bool, no_color: bool) -> None:
    """Send a sample alert to every sink and report, per sink, whether it was delivered.
    Exit 1 if any sink failed."""
    from pipefix.config import load_config
    from pipefix.notify.dispatch import send_test

    with user_errors():
        loaded = load_config(config_path)
    sinks = loaded.config.alerts
    if not sinks:
        fail(f"{loaded.path} lists no sinks under `alerts:` (see the README's Alerts section)")
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
