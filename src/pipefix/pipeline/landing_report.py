"""Every file under landing/ is read or reported: which files pipefix does not read, and why.
Pure rules, no I/O (tools/landing_survey.py walks the folder).

A file is reported, by name and with its reason, when it is
- in an unsupported format (`notes.txt`, `export.xml`): no reader takes it;
- in a folder no contract names (`refunds/b1.jsonl`): a new table, proposed (tools/new_tables.py);
- empty (and settled: a producer may still be about to write it);
- unreadable (the file cannot be opened or read);
- not in a table's folder (a file directly in landing/, or in a subfolder pipefix does not read).
Names a producer gives a file while it writes it (`.tmp`, `.part`, `.x`, `_x`, `_SUCCESS`) are
its protocol (pipeline/landing.py), never reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

UNSUPPORTED = "unsupported"
NO_CONTRACT = "no_contract"
EMPTY = "empty"
UNREADABLE = "unreadable"
OUTSIDE = "outside"
KINDS = (UNSUPPORTED, NO_CONTRACT, EMPTY, UNREADABLE, OUTSIDE)
LABELS = {
    UNSUPPORTED: "unsupported",
    NO_CONTRACT: "no contract",
    EMPTY: "empty",
    UNREADABLE: "unreadable",
    OUTSIDE: "not in a table's folder",
}


@dataclass(frozen=True)
class Reported:
    """A landed file pipefix does not read, and why. `folder`: the table folder it is in (for a
    file of a new table, the table it would be); `records`: what a new table's file holds."""

    file: str  # under landing/: `notes.txt`, `orders/export.xml`, `refunds/b1.jsonl`
    kind: str
    reason: str
    size_bytes: int
    folder: str | None = None
    records: int = 0

    @property
    def text(self) -> str:
        return f"{self.file}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "reason": self.reason,
            "size_bytes": self.size_bytes,
            "folder": self.folder,
            "records": self.records,
        }


def unsupported(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    return f"unsupported format ({suffix or 'no extension'})"


def no_contract(folder: str) -> str:
    return f"no contract for its folder ({folder}/)"


def unreadable(why: str) -> str:
    return f"unreadable ({' '.join(why.split())[:200]})"


def outside(folder: str | None = None) -> str:
    if folder is None:
        return "not in a table's folder"
    return f"not in a table's folder (in a subfolder of {folder}/: only the folder's own files are read)"


def classify(
    name: str, folder: str, *, readable: bool, size: int, settled: bool, known: bool
) -> tuple[str, str] | None:
    """(kind, reason) of the file `name` in the folder `folder` of landing/, or None: a file
    the table's scan reads (or waits for, while it is still being written). `readable`: a
    format pipefix reads; `known`: the folder is a table's of the pipeline."""
    if not readable:
        return UNSUPPORTED, unsupported(name)
    if size == 0:
        return (EMPTY, "empty") if settled else None
    return None if known else (NO_CONTRACT, no_contract(folder))


def counts(reported: Iterable[Reported]) -> dict[str, int]:
    """Files reported, per kind, in KINDS order; kinds with none left out."""
    counted = Counter(r.kind for r in reported)
    return {kind: counted[kind] for kind in KINDS if counted[kind]}


def accounting_text(read: int, reported: Iterable[Reported]) -> str:
    """`files: 12 read, 3 reported (1 unsupported, 1 no contract, 1 empty)`."""
    by_kind = counts(reported)
    total = sum(by_kind.values())
    text = f"files: {read:,} read, {total:,} reported"
    if total:
        text += " (" + ", ".join(f"{n} {LABELS[k]}" for k, n in by_kind.items()) + ")"
    return text
