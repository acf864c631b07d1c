from collections.abc import Callable
from pathlib import Path

from pipefix.engines import loader
from pipefix.tools.context import PipelineContext
from tests.conftest import v1_order


def test_a_conforming_batch_loads_every_row(ctx: PipelineContext, write_batch: Callable[..., Path]) -> None:
    path = write_batch("orders", "b1.jsonl", [v1_order(1), v1_order(2)])
    result = loader.load_batch(ctx.engine, path, "orders", step=1)
    assert result is not None
    assert (result.received, result.loaded, result.quarantined) == (2, 2, 0)
    assert ctx.engine.query("SELECT order_id FROM orders ORDER BY 1") == [(1,), (2,)]
