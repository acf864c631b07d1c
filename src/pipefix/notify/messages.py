"""One step's events as the message each kind of sink expects. Pure."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from pipefix.domain.alerts import AlertEvent


def as_json(pipeline: str, step: int, events: tuple[AlertEvent, ...]) -> dict[str, Any]:
    return {
        "source": "pipefix",
        "pipeline": pipeline,
        "step": step,
        "events": [
            {
                "kind": str(event.kind),
                "severity": event.severity.name.lower(),
                "title": event.title,
                "table": event.table,
                "evidence": list(event.evidence),
                "commands": list(event.commands),
                "key": event.key,
            }
            for event in events
        ],
    }


def headline(pipeline: str, step: int, events: tuple[AlertEvent, ...]) -> str:
    more = f" (+{len(events) - 1} more)" if len(events) > 1 else ""
    return f"pipefix · {pipeline} · step {step}: {events[0].title}{more}"


def as_slack(pipeline: str, step: int, events: tuple[AlertEvent, ...]) -> dict[str, Any]:
    """The payload of a Slack incoming webhook: a title, then per event the table, the evidence,
    what was done, and for an approval the exact commands."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"pipefix · step {step}"[:150]}}
    ]
    for event in events:
        lines = [f"*{_mark(event)} {_escape(event.title)}*"]
        if event.table:
            lines.append(f"table: `{_escape(event.table)}`")
        lines += [f"• {_escape(item)}" for item in event.evidence]
        if event.commands:
            lines.append("run: " + " or ".join(f"`{command}`" for command in event.commands))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(pipeline)}]})
    return {"text": headline(pipeline, step, events), "blocks": blocks}


def as_email(
    pipeline: str, step: int, events: tuple[AlertEvent, ...], sender: str, to: tuple[str, ...]
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = headline(pipeline, step, events)
    message["From"] = sender
    message["To"] = ", ".join(to)
    body = []
    for event in events:
        body.append(f"[{event.severity.name}] {event.title}")
        if event.table:
            body.append(f"  table: {event.table}")
        body += [f"  - {item}" for item in event.evidence]
        if event.commands:
            body.append("  run: " + " or ".join(event.commands))
        body.append("")
    body.append(f"pipeline: {pipeline}")
    message.set_content("\n".join(body))
    return message


def _mark(event: AlertEvent) -> str:
    return {1: ":information_source:", 2: ":warning:", 3: ":rotating_light:"}[int(event.severity)]


def _escape(text: str) -> str:
    """Slack's mrkdwn treats <, > and & as markup; producer data must not become a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
