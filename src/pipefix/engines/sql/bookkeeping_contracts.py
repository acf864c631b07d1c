"""The statements of pipefix's contract bookkeeping: contract and adapter versions, the version
active per table, and the table states that tie them to a table's physical columns.

`history` is `contracts` or `adapters`; `active` is `active_contracts` or `active_adapters`.
Values are `?` parameters.
"""

from __future__ import annotations

from pipefix.engines.sql.bookkeeping_schema import next_seq, table
from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.dialects.base import placeholders


def insert_version(d: Dialect, history: str) -> str:
    """A contract or adapter version (table_name, version, spec, step, note)."""
    return f"INSERT INTO {table(d, history)} VALUES (?, ?, ?, ?, ?)"


def count_active(d: Dialect, active: str) -> str:
    return f"SELECT count(*) FROM {table(d, active)} WHERE table_name = ?"


def update_active(d: Dialect, active: str) -> str:
    return f"UPDATE {table(d, active)} SET version = ? WHERE table_name = ?"


def insert_active(d: Dialect, active: str) -> str:
    return f"INSERT INTO {table(d, active)} VALUES (?, ?)"


def contract_spec(d: Dialect) -> str:
    return f"SELECT spec FROM {table(d, 'contracts')} WHERE table_name = ? AND version = ?"


def active_contract_version(d: Dialect) -> str:
    return f"SELECT version FROM {table(d, 'active_contracts')} WHERE table_name = ?"


def active_contract_specs(d: Dialect) -> str:
    return (
        f"SELECT c.table_name, c.spec FROM {table(d, 'contracts')} c JOIN {table(d, 'active_contracts')} a "
        "ON a.table_name = c.table_name AND a.version = c.version ORDER BY c.table_name"
    )


def latest_version(d: Dialect, history: str) -> str:
    return f"SELECT coalesce(max(version), 0) FROM {table(d, history)} WHERE table_name = ?"


def active_adapter_spec(d: Dialect) -> str:
    return (
        f"SELECT d.spec FROM {table(d, 'adapters')} d JOIN {table(d, 'active_adapters')} a "
        "ON a.table_name = d.table_name AND a.version = d.version WHERE d.table_name = ?"
    )


def contract_versions(d: Dialect) -> str:
    return f"SELECT version FROM {table(d, 'contracts')} WHERE table_name = ? ORDER BY version"


def adapter_versions(d: Dialect) -> str:
    return f"SELECT version, step, spec FROM {table(d, 'adapters')} WHERE table_name = ? ORDER BY version"


def contract_version_with_adapter(d: Dialect) -> str:
    return (
        f"SELECT contract_version FROM {table(d, 'table_states')} WHERE table_name = ? "
        "AND adapter_version = ? ORDER BY seq LIMIT 1"
    )


def insert_table_state(d: Dialect) -> str:
    """(step, table_name, contract_version, adapter_version, columns, cause), in insertion order."""
    return f"INSERT INTO {table(d, 'table_states')} VALUES ({next_seq(d, 'table_states')}, ?, ?, ?, ?, ?, ?)"


def table_state(d: Dialect) -> str:
    return (
        f"SELECT adapter_version, columns FROM {table(d, 'table_states')} WHERE table_name = ? "
        "AND contract_version = ? ORDER BY seq DESC LIMIT 1"
    )


def state_before(d: Dialect, causes: int) -> str:
    """The state before a step's first change for one of `causes` causes (parameters: table,
    table, step, the causes)."""
    states = table(d, "table_states")
    return (
        f"SELECT contract_version, adapter_version, columns FROM {states} "
        f"WHERE table_name = ? AND seq < (SELECT min(seq) FROM {states} WHERE "
        f"table_name = ? AND step = ? AND cause IN ({placeholders(causes)})) ORDER BY seq DESC LIMIT 1"
    )


def adopted_tables(d: Dialect, tables: int) -> str:
    """Tables among `tables` with a state of a cause (parameters: the cause, the tables)."""
    return (
        f"SELECT DISTINCT table_name FROM {table(d, 'table_states')} "
        f"WHERE cause = ? AND table_name IN ({placeholders(tables)})"
    )
