"""Stopping a command at SIGINT (Ctrl-C) or SIGTERM at the next safe point, never with a traceback.

The handler records the signal and interrupts what runs (`Pipeline.interrupt`): the statement
running is cancelled and rolled back with its transaction — a batch's rows go with its batch row,
a fix with its audit and ledger rows — and every later statement raises Interrupted. What
committed stays, and every node of the agent's loop is safe to run again (agent/runner.py), so
the next `pipefix run` continues where this one stopped. The command reports where it stopped
and exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).

Python runs a signal handler in the main thread between two bytecodes, which a long statement
(DuckDB judging a large batch, a PostgreSQL query) does not reach until it ends. So the signal
also wakes a watcher thread (`signal.set_wakeup_fd`), which interrupts the statement at once;
the handler itself records the signal when the main thread comes back.

Before there is anything to interrupt (the warehouse still opening, a run lock awaited), and at a
second signal, the handler raises KeyboardInterrupt instead: whatever it cuts short is what a
killed process would leave, which pipefix recovers from, and it too ends as a stop.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class StopRequest:
    """The first signal received, if any, and what to interrupt when it comes."""

    signum: int | None = None
    target: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or 0)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def attach(self, target: Callable[[], None]) -> None:
        """From now on a signal interrupts `target`; at once, if one came already."""
        self.target = target
        if self.requested:
            target()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested or self.target is None:
            self.signum = self.signum or signum
            raise KeyboardInterrupt(signal.Signals(signum).name)
        self.signum = signum
        self.target()


@contextmanager
def on_signals(request: StopRequest | None = None) -> Iterator[StopRequest]:
    """SIGINT and SIGTERM become `request` (a new one if none) for the block; in the main thread
    only: elsewhere signals are not delivered to Python, and the request stays empty."""
    request = request if request is not None else StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    wake, woken = os.pipe()
    os.set_blocking(woken, False)
    watcher = threading.Thread(target=_watch, args=(wake, request), name="pipefix-stop", daemon=True)
    watcher.start()
    previous_fd = signal.set_wakeup_fd(woken, warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, request.handle) for signum in SIGNALS}
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(woken)  # the watcher reads the end of the pipe and returns
        watcher.join(timeout=5)
        os.close(wake)


def _watch(wake: int, request: StopRequest) -> None:
    """Interrupt the target as soon as one of SIGNALS arrives, whatever the main thread is in."""
    while chunk := os.read(wake, 64):
        if any(signum in SIGNALS for signum in chunk) and request.target is not None:
            request.target()
