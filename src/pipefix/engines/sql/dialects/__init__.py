"""One module per dialect over a shared core (base.py): only what differs is written there."""

from __future__ import annotations

from pipefix.engines.sql.dialects.base import Dialect
from pipefix.engines.sql.dialects.duckdb import DUCKDB
from pipefix.engines.sql.dialects.postgres import POSTGRES
from pipefix.engines.sql.dialects.spark import SPARK

__all__ = ["DUCKDB", "POSTGRES", "SPARK", "Dialect", "dialect_named"]

_BY_NAME = {d.name: d for d in (DUCKDB, POSTGRES, SPARK)}


def dialect_named(name: str) -> Dialect:
    """The dialect an engine declares by name (`Capabilities.dialect`)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"no SQL dialect {name!r}: one of {', '.join(sorted(_BY_NAME))}") from None
