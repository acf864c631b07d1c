"""A batch file cut into chunks that are read, judged and written one at a time, so that a
load's memory depends on the chunk's size, never on the batch's.

A JSON-lines chunk is a run of whole lines (cut after a line end), its first line numbered on
from the lines of the chunks before it: a record keeps its physical line number, which is its
identity (batch, line) for crash-resume and appended files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Bytes of a file read at a time; a line longer than that is read whole all the same.
DEFAULT_BYTES = 32 << 20
# Records of a file read in Python (CSV) spooled at a time, and rows a Parquet chunk holds.
BYTES_PER_ROW = 128


def chunk_bytes() -> int:
    """The chunk size: PIPEFIX_CHUNK_BYTES (tests lower it to split small files), else 32 MiB."""
    setting = os.environ.get("PIPEFIX_CHUNK_BYTES", "")
    return max(1, int(setting)) if setting.isdigit() else DEFAULT_BYTES


def chunk_rows() -> int:
    """Records per chunk for the readers that count records, not bytes."""
    return max(1, chunk_bytes() // BYTES_PER_ROW)


@dataclass(frozen=True)
class LineChunk:
    """Whole lines of a file: `data` holds lines first_line, first_line + 1, ..."""

    first_line: int  # 1-based physical line number of the chunk's first line
    data: bytes


def line_chunks(path: Path, size: int | None = None) -> Iterator[LineChunk]:
    """The file's bytes in chunks of about `size` bytes, each cut after a line end (the last
    ends where the file does)."""
    size = size or chunk_bytes()
    first_line = 1
    carry = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(size)
            if not block:
                break
            data = carry + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no line end yet: a line longer than a chunk, read on
                carry = data
                continue
            carry = data[cut:]
            chunk = data[:cut]
            yield LineChunk(first_line, chunk)
            first_line += chunk.count(b"\n")
    if carry:
        yield LineChunk(first_line, carry)
