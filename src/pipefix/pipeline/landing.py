"""When a file in the landing folder is complete enough to read: pure rules, no I/O.

Producers signal "done" in one of three ways, and pipefix honours each:
- they write under a name no reader takes (`b1.jsonl.tmp`, `.b1.jsonl`, `_b1.jsonl`) and rename
  the file when it is complete (dlt, Spark, Hive and most object-store writers);
- they put a `_SUCCESS` file in the folder once every file in it is written (Spark, Hadoop);
- or they simply stop writing: a file unchanged for the quiet time (`landing.settle`) is done.
"""

from __future__ import annotations

from dataclasses import dataclass

SUCCESS_MARKER = "_SUCCESS"
IN_PROGRESS_SUFFIXES = (".tmp", ".part")


@dataclass(frozen=True)
class LandingRules:
    """`settle_seconds`: a file is read once unchanged that long (by its mtime); 0 reads it at
    once (a producer that renames when done). `require_success_marker`: a folder's files are
    read only once `_SUCCESS` is in it."""

    settle_seconds: float = 0.0
    require_success_marker: bool = False


def in_progress_name(name: str) -> bool:
    """A name producers give a file while they write it: never read, whatever its suffix."""
    lowered = name.lower()
    return name.startswith((".", "_")) or lowered.endswith(IN_PROGRESS_SUFFIXES)


def not_settled(age_seconds: float, rules: LandingRules) -> float | None:
    """Seconds until a file last modified `age_seconds` ago has settled; None if it has."""
    if age_seconds >= rules.settle_seconds:
        return None
    return rules.settle_seconds - max(age_seconds, 0.0)


def still_writing(age_seconds: float) -> str:
    return f"still being written: modified {max(age_seconds, 0.0):.0f} s ago"


def waits_for_marker(folder: str) -> str:
    return f"waits for {SUCCESS_MARKER} in {folder}/ (landing.require_success_marker)"
