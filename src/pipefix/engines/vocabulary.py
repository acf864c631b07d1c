"""The held texts a vocabulary change may explain (pipeline/vocabulary.py decides the mapping).

Per boolean column, the texts of the held records it cannot type; per enum column, the texts it
does not allow: each with its rows, read by the judge's own SQL (contract and active adapter) over
every open held record, whatever else held it.
"""

from __future__ import annotations

from pipefix.engines.base import Engine
from pipefix.engines.judge import judge_for
from pipefix.engines.sql import vocabulary as texts_sql
from pipefix.engines.sql.staging import STAGE
from pipefix.pipeline.contracts import Adapter, Contract


def held_texts(engine: Engine, contract: Contract, adapter: Adapter | None) -> dict[str, dict[str, int]]:
    """Column -> text sent -> held rows, over every open held record of the table."""
    sql = texts_sql.held_texts_sql(contract, adapter, STAGE)
    judge = judge_for(engine)
    if sql is None or judge.stage_open_quarantine(contract.table) == 0:
        return {}
    found: dict[str, dict[str, int]] = {}
    for i, text, rows in judge.duck.query(sql):
        found.setdefault(contract.columns[int(i)].name, {})[str(text)] = int(rows)
    return found
