"""Contracts and adapters, every version saved and the one active per table, and the table
states that tie those versions to the table's physical columns: what rollback restores."""

from __future__ import annotations

import json

from pipefix.domain.serde import from_json, to_json
from pipefix.engines.base import Engine, scalar
from pipefix.engines.store.schema import ADOPTED_CAUSE, SCHEMA, _next_seq
from pipefix.errors import NotFoundError
from pipefix.pipeline.contracts import Adapter, Contract


def save_contract(engine: Engine, contract: Contract, step: int, note: str) -> None:
    engine.execute(
        f"INSERT INTO {SCHEMA}.contracts VALUES (?, ?, ?, ?, ?)",
        (contract.table, contract.version, to_json(contract), step, note),
    )
    _set_active(engine, "active_contracts", contract.table, contract.version)


def _set_active(engine: Engine, table: str, name: str, version: int | None) -> None:
    exists = scalar(engine, f"SELECT count(*) FROM {SCHEMA}.{table} WHERE table_name = ?", (name,))
    if exists:
        engine.execute(f"UPDATE {SCHEMA}.{table} SET version = ? WHERE table_name = ?", (version, name))
    else:
        engine.execute(f"INSERT INTO {SCHEMA}.{table} VALUES (?, ?)", (name, version))


def activate_contract(engine: Engine, table: str, version: int) -> None:
    _set_active(engine, "active_contracts", table, version)


def contract_version(engine: Engine, table: str, version: int) -> Contract | None:
    spec = scalar(
        engine,
        f"SELECT spec FROM {SCHEMA}.contracts WHERE table_name = ? AND version = ?",
        (table, version),
    )
    return from_json(Contract, spec) if spec else None


def active_contract(engine: Engine, table: str) -> Contract:
    version = scalar(engine, f"SELECT version FROM {SCHEMA}.active_contracts WHERE table_name = ?", (table,))
    contract = contract_version(engine, table, version) if version is not None else None
    if contract is None:
        raise NotFoundError(f"no contract for table {table!r}")
    return contract


def active_contracts(engine: Engine) -> dict[str, Contract]:
    rows = engine.query(
        f"SELECT c.table_name, c.spec FROM {SCHEMA}.contracts c JOIN {SCHEMA}.active_contracts a "
        "ON a.table_name = c.table_name AND a.version = c.version ORDER BY c.table_name"
    )
    return {name: from_json(Contract, spec) for name, spec in rows}


def _latest_version(engine: Engine, history: str, table: str) -> int:
    query = f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.{history} WHERE table_name = ?"
    return int(scalar(engine, query, (table,)))


def latest_contract_version(engine: Engine, table: str) -> int:
    return _latest_version(engine, "contracts", table)


def save_adapter(engine: Engine, adapter: Adapter, step: int, note: str) -> None:
    engine.execute(
        f"INSERT INTO {SCHEMA}.adapters VALUES (?, ?, ?, ?, ?)",
        (adapter.table, adapter.version, to_json(adapter), step, note),
    )
    _set_active(engine, "active_adapters", adapter.table, adapter.version)


def deactivate_adapter(engine: Engine, table: str, version: int | None) -> None:
    _set_active(engine, "active_adapters", table, version)


def active_adapter(engine: Engine, table: str) -> Adapter | None:
    rows = engine.query(
        f"SELECT d.spec FROM {SCHEMA}.adapters d JOIN {SCHEMA}.active_adapters a "
        "ON a.table_name = d.table_name AND a.version = d.version WHERE d.table_name = ?",
        (table,),
    )
    return from_json(Adapter, rows[0][0]) if rows else None


def latest_adapter_version(engine: Engine, table: str) -> int:
    return _latest_version(engine, "adapters", table)


def contract_versions(engine: Engine, table: str) -> list[int]:
    rows = engine.query(
        f"SELECT version FROM {SCHEMA}.contracts WHERE table_name = ? ORDER BY version", (table,)
    )
    return [int(r[0]) for r in rows]


def adapter_versions(engine: Engine, table: str) -> list[tuple[int, int, Adapter]]:
    """Every adapter version a table had, oldest first: (version, step saved, adapter)."""
    rows = engine.query(
        f"SELECT version, step, spec FROM {SCHEMA}.adapters WHERE table_name = ? ORDER BY version",
        (table,),
    )
    return [(int(v), int(s), from_json(Adapter, spec)) for v, s, spec in rows]


def contract_version_with_adapter(engine: Engine, table: str, adapter_version: int) -> int | None:
    """The contract version the table had when an adapter version first became active."""
    value = scalar(
        engine,
        f"SELECT contract_version FROM {SCHEMA}.table_states WHERE table_name = ? "
        "AND adapter_version = ? ORDER BY seq LIMIT 1",
        (table, adapter_version),
    )
    return int(value) if value is not None else None


def record_table_state(engine: Engine, step: int, table: str, columns: list[str], cause: str) -> None:
    contract = active_contract(engine, table)
    adapter = active_adapter(engine, table)
    engine.execute(
        f"INSERT INTO {SCHEMA}.table_states VALUES ({_next_seq('table_states')}, ?, ?, ?, ?, ?, ?)",
        (
            step,
            table,
            contract.version,
            adapter.version if adapter else None,
            json.dumps(columns),
            cause,
        ),
    )


def table_state(engine: Engine, table: str, contract_version: int) -> tuple[int | None, list[str]]:
    """The adapter version and physical columns the table last had under a contract version."""
    rows = engine.query(
        f"SELECT adapter_version, columns FROM {SCHEMA}.table_states WHERE table_name = ? "
        "AND contract_version = ? ORDER BY seq DESC LIMIT 1",
        (table, contract_version),
    )
    if not rows:
        raise NotFoundError(f"{table} never had contract version {contract_version}")
    return rows[0][0], json.loads(rows[0][1])


def state_before(
    engine: Engine, table: str, step: int, causes: tuple[str, ...]
) -> tuple[int, int | None, list[str]] | None:
    """(contract version, adapter version, physical columns) the table had before the first of
    `step`'s changes of it made for one of `causes` (schema_migration, add_adapter)."""
    marks = ", ".join("?" for _ in causes)
    rows = engine.query(
        f"SELECT contract_version, adapter_version, columns FROM {SCHEMA}.table_states "
        f"WHERE table_name = ? AND seq < (SELECT min(seq) FROM {SCHEMA}.table_states WHERE "
        f"table_name = ? AND step = ? AND cause IN ({marks})) ORDER BY seq DESC LIMIT 1",
        (table, table, step, *causes),
    )
    return (int(rows[0][0]), rows[0][1], json.loads(rows[0][2])) if rows else None


def adopted(engine: Engine, tables: tuple[str, ...]) -> set[str]:
    """The tables pipefix adopted (another tool had loaded them): their rows from before count as
    `rows.adopted`, loaded but never received by pipefix."""
    if not tables:
        return set()
    names = ", ".join("?" for _ in tables)
    rows = engine.query(
        f"SELECT DISTINCT table_name FROM {SCHEMA}.table_states WHERE cause = ? AND table_name IN ({names})",
        (ADOPTED_CAUSE, *tables),
    )
    return {str(r[0]) for r in rows}
