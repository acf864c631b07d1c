"""The bytes of a grown batch file, on real files: where its new lines begin and what they are
numbered, whether its loaded bytes are still its first bytes, and the copy read in their place."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipefix.engines import batch_files, batch_history
from pipefix.engines.batch_files import Segment
from pipefix.engines.judge import Judge
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext
from tests.conftest import settled, v1_order


def grown(tmp_path: Path, loaded: bytes, added: bytes) -> Path:
    path = tmp_path / "b.jsonl"
    path.write_bytes(loaded + added)
    return path


@pytest.mark.parametrize(
    ("loaded", "added", "expected"),
    [
        (b"a\nb\n", b"c\nd\n", Segment(4, 3)),  # the usual append: line 3 on
        (b"", b"a\n", Segment(0, 1)),  # an empty file that grew
        (b"a\nb", b"\nc\n", Segment(4, 3)),  # line 2 was complete: its line end came later
        (b"a\r\nb", b"\r\nc\r\n", Segment(6, 3)),
        (b"a\nb", b"b\nc\n", Segment(2, 2, cut_line=2)),  # line 2 was cut: read again, completed
        (b"ab", b"c\n", Segment(0, 1, cut_line=1)),
    ],
)
def test_where_the_new_lines_of_a_grown_file_begin(
    tmp_path: Path, loaded: bytes, added: bytes, expected: Segment
) -> None:
    assert batch_files.plan_segment(grown(tmp_path, loaded, added), len(loaded)) == expected


def test_loaded_bytes_are_found_in_front_or_the_file_was_rewritten(tmp_path: Path) -> None:
    path = grown(tmp_path, b"a\nb\n", b"c\n")
    sha = hashlib.sha256(b"a\nb\n").hexdigest()
    assert batch_files.loaded_prefix(path, 4, sha) == 4
    assert batch_files.loaded_prefix(path, None, sha) == 4  # recorded before sizes were: found at a line end
    assert batch_files.loaded_prefix(path, 4, hashlib.sha256(b"x\nb\n").hexdigest()) is None
    assert batch_files.loaded_prefix(path, 6, hashlib.sha256(b"a\nb\nc\n").hexdigest()) is None  # not grown
    path.write_bytes(b"a\n")  # shorter than what was loaded
    assert batch_files.loaded_prefix(path, 4, sha) is None


def test_the_copy_read_in_place_of_a_grown_csv_keeps_its_header(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(b"kind,n\nclick,1\nview,2\n")
    target = tmp_path / "part.csv"
    sha = batch_files.write_segment(path, 15, 22, target, header=True)
    assert target.read_bytes() == b"kind,n\nview,2\n"
    assert sha == hashlib.sha256(b"kind,n\nclick,1\nview,2\n").hexdigest()
    batch_files.write_segment(path, 7, 15, target, header=False)
    assert target.read_bytes() == b"click,1\n"


def test_a_file_that_changes_while_it_is_read_is_left_for_a_later_step(
    ctx: PipelineContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The producer writes on while the loader reads: nothing is loaded or recorded from that read,
    the file is reported as still being written, and the next step loads it whole."""
    path = tmp_path / "landing" / "orders" / "b.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(v1_order(1)) + "\n")
    settled(path)
    stage = Judge._stage_file

    def stage_then_append(judge: Judge, staged: Path, batch_id: str, contract: object, dialect: None) -> int:
        count = stage(judge, staged, batch_id, contract, dialect)  # type: ignore[arg-type]
        with path.open("a") as handle:  # the producer's next line lands during the read
            handle.write("\n")
        return count

    monkeypatch.setattr(Judge, "_stage_file", stage_then_append)
    ingested = ingest.ingest(ctx, tmp_path / "landing", 1)
    assert ingested.loads == []
    assert [(u.file, u.reason) for u in ingested.unready] == [
        ("orders/b.jsonl", "still being written: it changed while it was read")
    ]
    assert ctx.engine.query("SELECT count(*) FROM pipefix.batches") == [(0,)]
    monkeypatch.undo()
    settled(path)
    [load] = ingest.ingest_step(ctx, tmp_path / "landing", 2)
    assert (load.received, load.loaded) == (1, 1)
    assert (
        batch_history.file_batches(ctx.engine, "orders")["orders/b.jsonl"][0].size_bytes
        == path.stat().st_size
    )
