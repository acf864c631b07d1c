"""How much memory pipefix's own DuckDB connections may hold, and where they spill.

DuckDB's buffer pool defaults to 80 % of the machine's memory and keeps what it read cached:
`pipefix demo` peaked at 462 MiB of which DuckDB held most, for 160k small rows. pipefix's
connections (the warehouse's, and the judge's private in-memory one beside PostgreSQL or Spark)
get a limit instead; work larger than the limit spills to a temporary folder (a file warehouse's
`<file>.tmp`, else one under the system's temp folder), so a big load is slower, never refused.

`PIPEFIX_DUCKDB_MEMORY` sets the limit in DuckDB's own units ("256MB", "1GB", "2GiB"); "default"
leaves DuckDB's own (80 % of memory).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from pipefix.errors import ConfigError

ENV = "PIPEFIX_DUCKDB_MEMORY"
# Enough for the chunked judge (32 MiB chunks) and the demo's diagnosis, which tries every
# conversion of ~6,000 held events at once and ran out of memory at 128 MB (it needs ~125 MB that
# DuckDB cannot spill); 256 MB took the demo's peak from 434-462 MiB to ~400 MiB.
DEFAULT_MEMORY = "256MB"
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def memory_limit() -> str | None:
    """The limit for a new connection: PIPEFIX_DUCKDB_MEMORY, else DEFAULT_MEMORY; None leaves
    DuckDB's own default."""
    setting = os.environ.get(ENV, "").strip() or DEFAULT_MEMORY
    if setting.lower() == "default":
        return None
    if not _SIZE.match(setting):
        raise ConfigError(
            f"{ENV}={setting!r} is not a size: give DuckDB units, like 256MB or 1GB "
            "(or 'default' for DuckDB's own, 80% of memory)"
        )
    return setting.replace(" ", "")


def out_of_memory_hint(message: str) -> str:
    """What to add to a DuckDB error when the limit was hit: how to raise it."""
    if "Out of Memory" not in message:
        return ""
    limit = memory_limit() or "DuckDB's default"
    return f"\n  (pipefix's DuckDB memory limit is {limit}: raise it with {ENV}=1GB)"


def temp_directory(path: str) -> str | None:
    """Where an in-memory connection spills (a file's connection spills beside its file)."""
    if path != ":memory:":
        return None
    return str(Path(tempfile.gettempdir()) / f"pipefix-duckdb-{os.getpid()}")


def settings_sql(path: str) -> list[str]:
    """The SET statements a new connection runs."""
    statements = []
    limit = memory_limit()
    if limit is not None:
        statements.append(f"SET memory_limit = '{limit}'")
    spill = temp_directory(path)
    if spill is not None:
        statements.append(f"SET temp_directory = '{spill}'")
    return statements
