"""Alerts delivered to real receivers on this machine: an HTTP server for webhook and Slack
payloads, an SMTP server (aiosmtpd, with STARTTLS and login) for email."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.domain.records import StepRecord
from tests import test_policies as policies
from tests.pg_server import free_port
from tests.test_policies import batch

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SECRET_TOKEN = "xoxb-s3cret-token"


@dataclass
class Receiver:
    """Records every POST; the path picks the answer: /ok 200, /fail 500, /slow sleeps."""

    url: str
    posts: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    def bodies(self, path: str) -> list[Any]:
        return [body for p, _, body in self.posts if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received: list[tuple[str, dict[str, str], Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, dict(self.headers), body))
            if self.path == "/slow":
                time.sleep(1.5)
            self.send_response(500 if self.path == "/fail" else 200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    port: int
    ca_file: Path
    messages: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox(free_port(), cert)

    def authenticate(
        server: object, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"mail-pw"
        if ok:
            box.logins.append(data.login.decode())
        return AuthResult(success=ok)

    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=box.port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


CONFIG = policies.CONFIG + "alerts:\n{sinks}\n"


def project(tmp_path: Path, sinks: str, mode: str = "auto") -> Path:
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(mode=mode, sinks=sinks))
    return tmp_path


def run(project: Path, steps: int, **options: Any) -> dict[str, Any]:
    with Pipeline.open(project / "pipefix.yaml", clock=lambda step: NOW) as pipeline:
        return pipeline.run(steps, **options)


def kinds(body: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in body["events"]]


def test_drift_fix_and_recovery_reach_a_webhook_once_grouped_by_step(
    tmp_path: Path, receiver: Receiver
) -> None:
    sinks = f"""  - kind: webhook
    name: ops
    url: {receiver.url}/ok
    headers: {{Authorization: "Bearer {SECRET_TOKEN}"}}"""
    shop = project(tmp_path, sinks)
    batch(shop, "a.jsonl", 1, coupon=False)
    run(shop, 1)
    batch(shop, "b.jsonl", 100, coupon=True)  # a column added without warning
    run(shop, 3)
    bodies = receiver.bodies("/ok")
    assert [body["step"] for body in bodies] == sorted({body["step"] for body in bodies})  # one per step
    events = [kind for body in bodies for kind in kinds(body)]
    assert events.count("drift_detected") == 1
    assert "fix_applied" in events
    assert events[-1] == "healthy_again"
    drift = next(e for body in bodies for e in body["events"] if e["kind"] == "drift_detected")
    assert drift["table"] == "orders"
    assert any("coupon" in item for item in drift["evidence"])
    assert all(headers["Authorization"] == f"Bearer {SECRET_TOKEN}" for _, headers, _ in receiver.posts)

    sent = len(receiver.posts)
    run(shop, 2)  # a repeated run: nothing new happened, nothing is sent again
    assert len(receiver.posts) == sent
    history = CliRunner().invoke(main, ["history", "--config", str(shop / "pipefix.yaml")]).output
    assert SECRET_TOKEN not in history


def test_a_slack_approval_carries_the_exact_commands(tmp_path: Path, receiver: Receiver) -> None:
    sinks = f"""  - kind: slack
    url: {receiver.url}/ok
    events: [approval_waiting]"""
    shop = project(tmp_path, sinks, mode="approve")
    batch(shop, "a.jsonl", 1, coupon=False)
    batch(shop, "b.jsonl", 100, coupon=True)
    run(shop, 3)  # the fix waits for a person at every step; the alert goes out once
    (body,) = receiver.bodies("/ok")
    assert body["text"].startswith("pipefix · ")
    assert "waiting for approval" in body["text"]
    text = "\n".join(block["text"]["text"] for block in body["blocks"] if block["type"] == "section")
    assert "`pipefix approve 1` or `pipefix reject 1`" in text
    assert "table: `orders`" in text


def test_a_receiver_that_fails_or_times_out_never_stops_the_run(tmp_path: Path, receiver: Receiver) -> None:
    sinks = f"""  - kind: webhook
    name: broken
    url: {receiver.url}/fail
    retries: 2
  - kind: webhook
    name: sleepy
    url: {receiver.url}/slow
    timeout: 0.3
    retries: 0"""
    shop = project(tmp_path, sinks)
    batch(shop, "a.jsonl", 1, coupon=False)
    batch(shop, "b.jsonl", 100, coupon=True)
    summary = run(shop, 3)
    assert summary["rows"]["lost"] == 0
    assert summary["fixes"]  # the run went on and repaired the drift
    assert len(receiver.bodies("/fail")) == 3 * len(receiver.bodies("/slow"))  # 1 try + 2 retries each
    history = CliRunner().invoke(main, ["history", "--config", str(shop / "pipefix.yaml")]).output
    assert "alert to broken NOT delivered" in history
    assert "HTTP 500 after 3 attempt(s)" in history
    assert "alert to sleepy NOT delivered" in history
    assert "TimeoutError after 1 attempt(s)" in history
    assert receiver.url not in history


def test_email_over_starttls_with_a_login_from_the_environment(
    tmp_path: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_USER", "pipefix-bot")
    monkeypatch.setenv("SMTP_PASSWORD", "mail-pw")
    sinks = f"""  - kind: email
    host: 127.0.0.1
    port: {mailbox.port}
    from: pipefix@example.com
    to: [data-team@example.com]
    username_env: SMTP_USER
    password_env: SMTP_PASSWORD
    ca_file: {mailbox.ca_file}
    min_severity: warning"""
    shop = project(tmp_path, sinks)
    batch(shop, "a.jsonl", 1, coupon=False)
    batch(shop, "b.jsonl", 100, coupon=True)
    run(shop, 3)
    assert mailbox.logins == ["pipefix-bot"]
    (envelope,) = mailbox.messages  # fixes applied are info: filtered out; the drift is a warning
    message = message_from_bytes(envelope.original_content or b"")
    assert envelope.rcpt_tos == ["data-team@example.com"]
    assert "schema drift on orders" in str(message["Subject"])
    assert "coupon" in message.get_payload()


def test_alerts_test_reports_per_sink(tmp_path: Path, receiver: Receiver, mailbox: Mailbox) -> None:
    sinks = f"""  - kind: slack
    name: team-channel
    url: {receiver.url}/ok
  - kind: webhook
    url: {receiver.url}/fail
    retries: 0
  - kind: email
    host: 127.0.0.1
    port: {mailbox.port}
    from: pipefix@example.com
    to: [a@example.com]
    username_env: PIPEFIX_TEST_NO_SUCH_USER
    password_env: PIPEFIX_TEST_NO_SUCH_PASSWORD
    ca_file: {mailbox.ca_file}"""
    shop = project(tmp_path, sinks)
    result = CliRunner().invoke(main, ["alerts", "test", "--config", str(shop / "pipefix.yaml")])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["team-channel", "delivered"]
    assert lines[1].split()[:4] == ["webhook", "#2", "FAILED", "HTTP"]
    assert "$PIPEFIX_TEST_NO_SUCH_USER / $PIPEFIX_TEST_NO_SUCH_PASSWORD are not set" in lines[2]
    assert receiver.url not in result.output
    (body,) = receiver.bodies("/ok")
    assert "pipefix approve 1" in json.dumps(body)


def test_a_bad_sink_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    shop = project(tmp_path, "  - kind: pager\n    url: http://127.0.0.1:1/x")
    result = CliRunner().invoke(main, ["alerts", "test", "--config", str(shop / "pipefix.yaml")])
    assert result.exit_code == 2
    assert "pipefix.yaml:12: alerts[0]" in result.output
    assert "Traceback" not in result.output


def test_a_run_killed_after_alerting_sends_nothing_twice_when_resumed(
    tmp_path: Path, receiver: Receiver
) -> None:
    shop = project(tmp_path, f"  - kind: webhook\n    url: {receiver.url}/ok")
    batch(shop, "a.jsonl", 1, coupon=False)
    batch(shop, "b.jsonl", 100, coupon=True)

    class Killed(RuntimeError):
        pass

    def die_at_step_3(record: StepRecord) -> None:
        if record.step == 3:
            raise Killed

    with pytest.raises(Killed):
        run(shop, 5, on_step=die_at_step_3)
    before = len(receiver.posts)
    assert before > 0  # the drift of step 1 and the fixes of step 2 went out before the kill
    run(shop, 5, resume=True)  # continues from the checkpoint: step 3 is finished, then 4 and 5
    keys = [event["key"] for body in receiver.bodies("/ok") for event in body["events"]]
    assert len(keys) == len(set(keys)) > 0
    steps = [body["step"] for body in receiver.bodies("/ok")]
    assert len(steps) == len(set(steps))
    assert max(steps) >= 3, steps  # the step cut short had news too, sent once on resume
