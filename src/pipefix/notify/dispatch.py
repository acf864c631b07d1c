"""After each step: the step's events, filtered per sink, grouped into one message per sink,
sent once. What was sent is recorded in the warehouse (`pipefix.alerts`), so a resumed or
repeated run never sends an event again; an undelivered alert is audited for `pipefix history`.
Delivery never raises into the loop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipefix.domain.alerts import AlertEvent, EventKind, Severity, step_events
from pipefix.domain.records import StepRecord
from pipefix.engines import store
from pipefix.engines.base import Engine
from pipefix.notify.delivery import Delivery, deliver
from pipefix.notify.settings import EmailSink, SlackSink, WebhookSink, label

Sink = WebhookSink | SlackSink | EmailSink


@dataclass(frozen=True)
class Sent:
    sink: str
    events: tuple[AlertEvent, ...]
    delivery: Delivery


class Alerter:
    def __init__(self, engine: Engine, sinks: Sequence[Sink], pipeline: str) -> None:
        self.engine = engine
        self.sinks = tuple(sinks)
        self.pipeline = pipeline

    def after_step(self, record: StepRecord, previous: StepRecord | None) -> list[Sent]:
        events = step_events(record, previous)
        sent = []
        for index, sink in enumerate(self.sinks):
            name = label(sink, index)
            wanted = tuple(
                e for e in events if sink.wants(e) and not store.alert_recorded(self.engine, e.key, name)
            )
            if not wanted:
                continue
            delivery = deliver(sink, self.pipeline, record.step, wanted)
            with self.engine.transaction():
                for event in wanted:
                    store.record_alert(
                        self.engine, record.step, event.key, name, delivery.ok, delivery.detail
                    )
                if not delivery.ok:
                    store.audit(
                        self.engine,
                        record.step,
                        "alert_undelivered",
                        {
                            "sink": name,
                            "events": [str(e.kind) for e in wanted],
                            "reason": delivery.detail,
                            "attempts": delivery.attempts,
                        },
                    )
            sent.append(Sent(name, wanted, delivery))
        return sent


def sample_events() -> tuple[AlertEvent, ...]:
    """What `pipefix alerts test` sends: one drift, one fix waiting for a person."""
    return (
        AlertEvent(
            EventKind.DRIFT_DETECTED,
            Severity.WARNING,
            0,
            "schema drift on orders (a test alert from pipefix)",
            "orders",
            ("removed: price_usd", "added: currency_code", "24 rows held until it is repaired"),
        ),
        AlertEvent(
            EventKind.APPROVAL_WAITING,
            Severity.WARNING,
            0,
            "apply_fix(schema_migration, orders) is waiting for approval (test)",
            "orders",
            ("waiting for approval (policy rename_column)",),
            ("pipefix approve 1", "pipefix reject 1"),
        ),
    )


def send_test(sinks: Sequence[Sink], pipeline: str) -> list[Sent]:
    """A sample alert to every sink, whatever its filters; nothing is recorded."""
    events = sample_events()
    return [
        Sent(label(sink, index), events, deliver(sink, pipeline, 0, events))
        for index, sink in enumerate(sinks)
    ]
