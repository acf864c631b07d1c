"""The `alerts:` section of pipefix.yaml: one entry per sink, each with its own filter."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipefix.domain.alerts import AlertEvent, EventKind, Severity

EventName = Literal[
    "drift_detected",
    "goal_revised",
    "fix_applied",
    "fix_failed",
    "fix_rolled_back",
    "approval_waiting",
    "budget_exhausted",
    "action_refused",
    "repair_needed",
    "healthy_again",
]
SeverityName = Literal["info", "warning", "critical"]


class _Sink(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = Field(default=None, min_length=1, max_length=60)
    events: tuple[EventName, ...] | None = Field(default=None, min_length=1)  # None: every kind
    min_severity: SeverityName = "info"
    timeout: float = Field(default=5.0, gt=0, le=60, allow_inf_nan=False)
    retries: int = Field(default=2, ge=0, le=5)

    def wants(self, event: AlertEvent) -> bool:
        kinds = self.events or tuple(EventKind)
        return event.kind in kinds and event.severity >= Severity.named(self.min_severity)


class _HttpSink(_Sink):
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class WebhookSink(_HttpSink):
    """A JSON POST of the step's events to `url`, with optional headers (e.g. Authorization)."""

    kind: Literal["webhook"]
    headers: dict[str, str] = Field(default_factory=dict)


class SlackSink(_HttpSink):
    """A Slack incoming webhook."""

    kind: Literal["slack"]


class EmailSink(_Sink):
    """SMTP; the login comes from environment variables, never from the file."""

    kind: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    sender: str = Field(alias="from", min_length=3)
    to: tuple[str, ...] = Field(min_length=1)
    username_env: str | None = None
    password_env: str | None = None
    ca_file: str | None = None  # a private CA for the server's certificate


AlertSink = Annotated[WebhookSink | SlackSink | EmailSink, Field(discriminator="kind")]


def label(sink: WebhookSink | SlackSink | EmailSink, index: int) -> str:
    """How a sink is named in output and the audit trail: never its URL or credentials."""
    return sink.name or f"{sink.kind} #{index + 1}"
