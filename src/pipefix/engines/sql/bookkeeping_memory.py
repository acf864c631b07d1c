"""The statements of what the agent keeps between steps and runs: knowledge (values by key,
newest wins) and settings. Values are `?` parameters."""

from __future__ import annotations

from pipefix.engines.sql.bookkeeping_schema import next_seq, table
from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders


def insert_knowledge(d: Dialect) -> str:
    """(step, key, value), in insertion order."""
    return f"INSERT INTO {table(d, 'knowledge')} VALUES ({next_seq(d, 'knowledge')}, ?, ?, ?)"


def recall(d: Dialect) -> str:
    return f"SELECT value FROM {table(d, 'knowledge')} WHERE key = ? ORDER BY seq DESC LIMIT 1"


def recall_latest(d: Dialect, keys: int) -> str:
    """The latest value of each of `keys` keys (parameters)."""
    knowledge = table(d, "knowledge")
    return (
        f"SELECT k.key, k.value FROM {knowledge} AS k WHERE k.key IN ({placeholders(keys)}) AND k.seq = "
        f"(SELECT max(l.seq) FROM {knowledge} AS l WHERE l.key = k.key)"
    )


def knowledge(d: Dialect) -> str:
    return f"SELECT step, key, value FROM {table(d, 'knowledge')} ORDER BY step, key, seq"


def setting(d: Dialect) -> str:
    return f"SELECT value FROM {table(d, 'settings')} WHERE key = ?"


def setting_count(d: Dialect) -> str:
    return f"SELECT count(*) FROM {table(d, 'settings')} WHERE key = ?"


def update_setting(d: Dialect) -> str:
    """(value, key)."""
    return f"UPDATE {table(d, 'settings')} SET value = ? WHERE key = ?"


def insert_setting(d: Dialect) -> str:
    """(key, value)."""
    return f"INSERT INTO {table(d, 'settings')} VALUES (?, ?)"
