"""Compressed batch files (gzip, zstd, bz2): known by their name *and* their first bytes, read
as a stream into a temporary plain file that the usual readers then read.

A file named `.gz` whose bytes are not gzip is unreadable (held with that reason), never read as
plain text; a `.jsonl` whose bytes are gzip is read as gzip. Decompression streams in blocks, so
memory stays bounded whatever the file's size; the batch's identity (sha256, size) stays the
compressed bytes, which is what the producer sent.
"""

from __future__ import annotations

import bz2
import gzip
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

import zstandard

from pipefix.errors import PipefixError

MAGIC = {"gzip": b"\x1f\x8b\x08", "zstd": b"\x28\xb5\x2f\xfd"}
# bz2 opens with text a CSV header could start with (`BZh`): a block size digit and the magic of
# a first block (or of the end of an empty stream) must follow.
_BZ2 = re.compile(rb"BZh[1-9](\x31\x41\x59\x26\x53\x59|\x17\x72\x45\x38\x50\x90)", re.DOTALL)
SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2"}
_BLOCK = 1 << 20


class UnreadableFile(PipefixError):
    """A batch file that cannot be read as a whole: held as one record with this reason."""


def sniffed(path: Path) -> str | None:
    """The compression the file's first bytes show, or None."""
    with path.open("rb") as handle:
        head = handle.read(10)
    if _BZ2.match(head):
        return "bz2"
    return next((kind for kind, magic in MAGIC.items() if head.startswith(magic)), None)


def compression_of(path: Path, named: str | None) -> str | None:
    """The compression to read the file with: its bytes decide. UnreadableFile if its name says
    one compression and its bytes are not that."""
    actual = sniffed(path)
    if named is not None and actual != named:
        found = f"{actual} data" if actual else "not compressed"
        raise UnreadableFile(f"named as {named} but its bytes are {found}")
    return actual


def _open(path: Path, compression: str) -> IO[bytes]:
    if compression == "gzip":
        return cast(IO[bytes], gzip.open(path, "rb"))
    if compression == "bz2":
        return cast(IO[bytes], bz2.open(path, "rb"))
    return cast(IO[bytes], zstandard.ZstdDecompressor().stream_reader(path.open("rb"), closefd=True))


@contextmanager
def _reading(path: Path, compression: str) -> Iterator[IO[bytes]]:
    try:
        with _open(path, compression) as stream:
            yield stream
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as error:
        why = str(error) or type(error).__name__
        raise UnreadableFile(f"corrupt or truncated {compression} data ({why})") from error


def head(path: Path, compression: str | None, size: int = 64 * 1024) -> bytes:
    """The first `size` bytes of the file's content (decompressed)."""
    if compression is None:
        with path.open("rb") as handle:
            return handle.read(size)
    with _reading(path, compression) as stream:
        return stream.read(size)


def plain_name(name: str) -> str:
    """`b5.jsonl.gz` -> `b5.jsonl`: the name the content has once decompressed."""
    lowered = name.lower()
    suffix = next((s for s in SUFFIXES if lowered.endswith(s)), "")
    return name[: len(name) - len(suffix)] if suffix else name


@contextmanager
def decompressed(path: Path, compression: str) -> Iterator[Path]:
    """The file's content in a temporary plain file, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="pipefix-decompress-") as folder:
        target = Path(folder) / plain_name(path.name)
        if compression == "zstd":
            with target.open("wb") as out:
                _copy_zstd(path, out)
        else:
            with _reading(path, compression) as stream, target.open("wb") as out:
                shutil.copyfileobj(stream, out, _BLOCK)
        yield target


def _copy_zstd(path: Path, out: IO[bytes]) -> None:
    """zstd's stream reader ends a frame the file is cut inside without a word (four bytes of
    magic read as an empty file): frames are read one at a time here, and a file ending inside
    one is UnreadableFile, as a truncated gzip or bz2 file is."""
    decompressor = zstandard.ZstdDecompressor()
    frame, fed = decompressor.decompressobj(), False
    try:
        with path.open("rb") as source:
            while block := source.read(_BLOCK):
                while block:
                    out.write(frame.decompress(block))
                    fed = True
                    if not frame.eof:
                        break
                    block = frame.unused_data  # the next frame's first bytes
                    frame, fed = decompressor.decompressobj(), False
    except zstandard.ZstdError as error:
        raise UnreadableFile(f"corrupt or truncated zstd data ({error})") from error
    if fed and not frame.eof:
        raise UnreadableFile("corrupt or truncated zstd data (the file ends inside a frame)")
