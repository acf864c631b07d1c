"""Run pipefix's command line and kill it with SIGKILL just before a chosen statement.

The crash tests' fault injection lives here, not in the engines:

    python -m tests.crash_harness --crash-at N [--matching REGEX] [--engine E] -- demo --db ...
    python -m tests.crash_harness --trace FILE [--engine E] -- run ...

(from the repository root, so `tests` is importable) runs `pipefix demo --db ...` with the
engine classes' `execute` and `query` wrapped: the process dies just before its N-th statement,
or its N-th statement matching REGEX, wherever that falls — mid-load, mid-migration, mid-replay,
between an action and its ledger row. Those two methods are the Engine protocol's statement
entry points on every engine (`query_many`, `stage_jsonl` and the catalog helpers go through
them); BEGIN/COMMIT and `copy_rows` are not counted. Only the outermost call counts, so an
engine that delegates to another (Spark's bookkeeping on its state DuckDB) counts a statement
once when both are armed. `--trace FILE` writes a line as each statement starts (`start`, its
first line) and ends (`end`, or `raised` and the exception's type), flushed at once: a test sees
which statement runs now, and whether a signal cut it short.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

ENGINES = {
    "duckdb": "pipefix.engines.duckdb:DuckDBEngine",
    "postgres": "pipefix.engines.postgres:PostgresEngine",
    "spark": "pipefix.engines.spark:SparkEngine",
}
STATEMENT_METHODS = ("execute", "query")


@dataclass
class CrashPoint:
    """Die just before the `at`-th statement matching `pattern` (any statement when None);
    `at=0` only counts. `seen` holds the statements counted so far, in order."""

    at: int = 0
    pattern: re.Pattern[str] | None = None
    seen: list[str] = field(default_factory=list)
    trace: TextIO | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def before(self, sql: str) -> None:
        self._trace("start", sql.strip().splitlines()[0][:160] if sql.strip() else "")
        if self.pattern is not None and not self.pattern.search(sql.lstrip()):
            return
        with self._lock:  # Spark's query_many runs statements from threads
            self.seen.append(sql)
            if len(self.seen) == self.at:
                os.kill(os.getpid(), signal.SIGKILL)

    def after(self, error: BaseException | None) -> None:
        self._trace("end" if error is None else "raised", "" if error is None else type(error).__name__)

    def _trace(self, event: str, detail: str) -> None:
        if self.trace is not None:
            self.trace.write(f"{event}\t{detail}\n")
            self.trace.flush()


def engine_class(name: str) -> type:
    module, _, attribute = ENGINES[name].partition(":")
    cls: type = getattr(importlib.import_module(module), attribute)
    return cls


@contextmanager
def armed(point: CrashPoint, classes: Sequence[type]) -> Iterator[CrashPoint]:
    """Count (and crash at) every statement the classes' instances run, until the block ends."""
    depth = threading.local()
    originals = [(cls, name, vars(cls)[name]) for cls in classes for name in STATEMENT_METHODS]
    for cls, name, method in originals:
        setattr(cls, name, _counted(method, point, depth))
    try:
        yield point
    finally:
        for cls, name, method in originals:
            setattr(cls, name, method)


def _counted(method: Callable[..., Any], point: CrashPoint, depth: threading.local) -> Callable[..., Any]:
    @functools.wraps(method)
    def counted(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        level: int = getattr(depth, "level", 0)
        if level == 0:
            point.before(sql)
        depth.level = level + 1
        try:
            result = method(self, sql, *args, **kwargs)
        except BaseException as error:
            if level == 0:
                point.after(error)
            raise
        finally:
            depth.level = level
        if level == 0:
            point.after(None)
        return result

    return counted


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m tests.crash_harness",
        usage="%(prog)s (--crash-at N [--matching REGEX] | --trace FILE) [--engine NAME] -- PIPEFIX-ARGS...",
        description="Run the pipefix command line; SIGKILL it just before its N-th statement, "
        "or trace its statements.",
    )
    parser.add_argument("--crash-at", type=int, default=0, metavar="N", help="1 is the first statement")
    parser.add_argument("--trace", metavar="FILE", help="write each statement's start and end to FILE")
    parser.add_argument("--matching", metavar="REGEX", help="count only statements matching (re.search)")
    parser.add_argument(
        "--engine", choices=sorted(ENGINES), action="append", help="engine class to arm (default: duckdb)"
    )
    if "--" not in args:
        parser.error("pipefix's own arguments go after --")
    split = args.index("--")
    options = parser.parse_args(args[:split])
    if options.crash_at < 1 and not options.trace:
        parser.error("--crash-at counts from 1")
    pattern = re.compile(options.matching) if options.matching else None
    classes = [engine_class(name) for name in options.engine or ["duckdb"]]

    from pipefix.cli import main as pipefix

    trace = open(options.trace, "a", encoding="utf-8") if options.trace else None  # noqa: SIM115
    with armed(CrashPoint(options.crash_at, pattern, trace=trace), classes):
        pipefix(args=args[split + 1 :], prog_name="pipefix")


if __name__ == "__main__":
    main()
