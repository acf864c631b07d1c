"""Decompressing a zstd batch: every frame read, and a file cut inside a frame refused (zstd's
stream reader alone returns what it has and no error, so four bytes of magic read as empty)."""

from __future__ import annotations

from pathlib import Path

import pytest
import zstandard

from pipefix.engines import compressed

ONE_FRAME = zstandard.ZstdCompressor().compress(b'{"id": 1}\n' * 10)


def _decompressed(tmp_path: Path, data: bytes) -> bytes:
    path = tmp_path / "b.jsonl.zst"
    path.write_bytes(data)
    with compressed.decompressed(path, "zstd") as plain:
        return plain.read_bytes()


def test_every_frame_of_a_zstd_file_is_read(tmp_path: Path) -> None:
    assert _decompressed(tmp_path, ONE_FRAME) == b'{"id": 1}\n' * 10
    assert _decompressed(tmp_path, ONE_FRAME + ONE_FRAME) == b'{"id": 1}\n' * 20


@pytest.mark.parametrize("data", [ONE_FRAME[:4], ONE_FRAME[:-3], ONE_FRAME + ONE_FRAME[:-1]])
def test_a_zstd_file_cut_inside_a_frame_is_unreadable(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(compressed.UnreadableFile, match="corrupt or truncated zstd data"):
        _decompressed(tmp_path, data)
