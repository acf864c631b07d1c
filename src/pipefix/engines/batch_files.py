"""The bytes of a batch file: its content hash, whether its loaded bytes are still its first bytes,
and the part of it a grown file adds.

A file that grew keeping what was loaded (an append) is read from where the load stopped; its new
lines are numbered on from the lines before, so that (batch, line) stays the record's identity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_BLOCK = 1 << 20


def _blocks(path: Path, end: int | None = None) -> Iterator[bytes]:
    """The file's bytes in blocks, up to `end` (the whole file if None)."""
    left = end
    with path.open("rb") as handle:
        while left is None or left > 0:
            block = handle.read(_BLOCK if left is None else min(_BLOCK, left))
            if not block:
                return
            if left is not None:
                left -= len(block)
            yield block


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for block in _blocks(path):
        digest.update(block)
    return digest.hexdigest()


def prefix_sha256(path: Path, size: int) -> str | None:
    """The hash of the file's first `size` bytes; None if it is shorter."""
    digest = hashlib.sha256()
    read = 0
    for block in _blocks(path, size):
        digest.update(block)
        read += len(block)
    return digest.hexdigest() if read == size else None


def loaded_prefix(path: Path, size: int | None, sha256: str) -> int | None:
    """How many leading bytes of the file are the bytes once loaded (`size` of them, hashing to
    `sha256`), when the file has grown past them; None if they changed (a rewrite).

    Batches recorded before sizes were (size None): the loaded bytes end at some line end, so
    the hash is compared at every line end."""
    if size is not None:
        grown = path.stat().st_size > size
        return size if grown and prefix_sha256(path, size) == sha256 else None
    digest = hashlib.sha256()
    offset = 0
    for block in _blocks(path):
        start = 0
        while (newline := block.find(b"\n", start)) >= 0:
            digest.update(block[start : newline + 1])
            start = newline + 1
            if digest.copy().hexdigest() == sha256:
                return offset + start if path.stat().st_size > offset + start else None
        digest.update(block[start:])
        offset += len(block)
    return None


@dataclass(frozen=True)
class Segment:
    """The part of a grown file to read: from byte `start`, whose line is `first_line` of the file.

    `cut_line`: the loaded bytes ended inside this line (no line end yet: the file was still being
    written), so the segment starts with that line again, completed."""

    start: int
    first_line: int
    cut_line: int | None = None


def plan_segment(path: Path, loaded: int) -> Segment:
    """Where the new lines of a file grown past its first `loaded` bytes begin."""
    lines_before = 0
    line_start = 0  # where the last line of the loaded bytes begins
    offset = 0
    for block in _blocks(path, loaded):
        lines_before += block.count(b"\n")
        last = block.rfind(b"\n")
        if last >= 0:
            line_start = offset + last + 1
        offset += len(block)
    if line_start == loaded:  # the loaded bytes end with a line end (or are empty)
        return Segment(loaded, lines_before + 1)
    with path.open("rb") as handle:
        handle.seek(loaded)
        head = handle.read(2)
    # The producer ends the last line only when it writes the next one: the line was complete.
    for ending in (b"\n", b"\r\n"):
        if head.startswith(ending):
            return Segment(loaded + len(ending), lines_before + 2)
    return Segment(line_start, lines_before + 1, cut_line=lines_before + 1)


def write_segment(path: Path, start: int, end: int, target: Path, header: bool) -> str:
    """Copy bytes [start, end) of `path` to `target` (after the file's first line, if `header`:
    a CSV's header, which the new bytes lack). Returns the hash of the file's first `end` bytes,
    read in the same pass, so that what is recorded is exactly what was read."""
    digest = hashlib.sha256()
    offset = 0
    first_line = b""
    with target.open("wb") as out:
        for block in _blocks(path, end):
            digest.update(block)
            if header and len(first_line) == offset:  # still inside the first line
                newline = block.find(b"\n")
                first_line += block if newline < 0 else block[: newline + 1]
                if newline >= 0:
                    out.write(first_line)
            if offset + len(block) > start:
                out.write(block[max(start - offset, 0) :])
            offset += len(block)
    return digest.hexdigest()
