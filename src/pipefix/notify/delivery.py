"""Sending one message to one sink: bounded timeouts, a few retries with backoff, and a result
instead of an exception. Error text never carries the URL, headers or credentials."""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from pipefix.domain.alerts import AlertEvent
from pipefix.notify import messages
from pipefix.notify.settings import EmailSink, SlackSink, WebhookSink

BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class Delivery:
    ok: bool
    detail: str
    attempts: int


def deliver(
    sink: WebhookSink | SlackSink | EmailSink, pipeline: str, step: int, events: tuple[AlertEvent, ...]
) -> Delivery:
    last = ""
    for attempt in range(1, sink.retries + 2):
        try:
            detail = _send_once(sink, pipeline, step, events)
            return Delivery(True, detail, attempt)
        except _Undelivered as error:
            last = str(error)
            if not error.retry:
                return Delivery(False, last, attempt)
        if attempt <= sink.retries:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    return Delivery(False, last, sink.retries + 1)


class _Undelivered(Exception):
    def __init__(self, reason: str, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry


def _send_once(
    sink: WebhookSink | SlackSink | EmailSink, pipeline: str, step: int, events: tuple[AlertEvent, ...]
) -> str:
    if isinstance(sink, EmailSink):
        return _send_email(sink, pipeline, step, events)
    if isinstance(sink, SlackSink):
        return _post(sink.url, messages.as_slack(pipeline, step, events), {}, sink.timeout)
    return _post(sink.url, messages.as_json(pipeline, step, events), sink.headers, sink.timeout)


def _post(url: str, payload: dict[str, Any], headers: dict[str, str], timeout: float) -> str:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "pipefix", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        # A 4xx will not get better by asking again (except 429: too many requests).
        raise _Undelivered(f"HTTP {error.code}", retry=error.code >= 500 or error.code == 429) from None
    except urllib.error.URLError as error:
        raise _Undelivered(f"unreachable: {_reason(error.reason)}") from None
    except (TimeoutError, OSError) as error:
        raise _Undelivered(f"unreachable: {_reason(error)}") from None


def _send_email(sink: EmailSink, pipeline: str, step: int, events: tuple[AlertEvent, ...]) -> str:
    message = messages.as_email(pipeline, step, events, sink.sender, sink.to)
    username = os.environ.get(sink.username_env) if sink.username_env else None
    password = os.environ.get(sink.password_env) if sink.password_env else None
    if sink.username_env and (username is None or password is None):
        raise _Undelivered(f"${sink.username_env} / ${sink.password_env} are not set", retry=False)
    try:
        with smtplib.SMTP(sink.host, sink.port, timeout=sink.timeout) as smtp:
            if sink.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=sink.ca_file))
            if username is not None and password is not None:
                smtp.login(username, password)
            refused = smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as error:
        raise _Undelivered(f"SMTP login refused ({error.smtp_code})", retry=False) from None
    except smtplib.SMTPResponseException as error:
        raise _Undelivered(f"SMTP {error.smtp_code}", retry=error.smtp_code >= 400) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        raise _Undelivered(f"SMTP: {_reason(error)}") from None
    if refused:
        return f"sent; refused for {len(refused)} recipient(s)"
    return f"sent to {len(sink.to)} recipient(s)"


def _reason(error: object) -> str:
    """The kind of failure, not its text: some libraries put the URL or login into messages."""
    if isinstance(error, str):
        return "invalid address" if "://" in error else error
    if isinstance(error, TimeoutError | ssl.SSLError | ConnectionRefusedError):
        return type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__
