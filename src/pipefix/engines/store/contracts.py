"""Contracts and adapters, every version saved and the one active per table, and the table
states that tie those versions to the table's physical columns: what rollback restores."""

from __future__ import annotations

import json

from pipefix.domain.serde import from_json, to_json
from pipefix.engines.base import Engine, scalar
from pipefix.engines.sql import bookkeeping_contracts as sql
from pipefix.engines.store.schema import ADOPTED_CAUSE, _dialect
from pipefix.errors import NotFoundError
from pipefix.pipeline.contracts import Adapter, Contract


def save_contract(engine: Engine, contract: Contract, step: int, note: str) -> None:
    engine.execute(
        sql.insert_version(_dialect(engine), "contracts"),
        (contract.table, contract.version, to_json(contract), step, note),
    )
    _set_active(engine, "active_contracts", contract.table, contract.version)


def _set_active(engine: Engine, table: str, name: str, version: int | None) -> None:
    d = _dialect(engine)
    if scalar(engine, sql.count_active(d, table), (name,)):
        engine.execute(sql.update_active(d, table), (version, name))
    else:
        engine.execute(sql.insert_active(d, table), (name, version))


def activate_contract(engine: Engine, table: str, version: int) -> None:
    _set_active(engine, "active_contracts", table, version)


def contract_version(engine: Engine, table: str, version: int) -> Contract | None:
    spec = scalar(engine, sql.contract_spec(_dialect(engine)), (table, version))
    return from_json(Contract, spec) if spec else None


def active_contract(engine: Engine, table: str) -> Contract:
    version = scalar(engine, sql.active_contract_version(_dialect(engine)), (table,))
    contract = contract_version(engine, table, version) if version is not None else None
    if contract is None:
        raise NotFoundError(f"no contract for table {table!r}")
    return contract


def active_contracts(engine: Engine) -> dict[str, Contract]:
    rows = engine.query(sql.active_contract_specs(_dialect(engine)))
    return {name: from_json(Contract, spec) for name, spec in rows}


def _latest_version(engine: Engine, history: str, table: str) -> int:
    return int(scalar(engine, sql.latest_version(_dialect(engine), history), (table,)))


def latest_contract_version(engine: Engine, table: str) -> int:
    return _latest_version(engine, "contracts", table)


def save_adapter(engine: Engine, adapter: Adapter, step: int, note: str) -> None:
    engine.execute(
        sql.insert_version(_dialect(engine), "adapters"),
        (adapter.table, adapter.version, to_json(adapter), step, note),
    )
    _set_active(engine, "active_adapters", adapter.table, adapter.version)


def deactivate_adapter(engine: Engine, table: str, version: int | None) -> None:
    _set_active(engine, "active_adapters", table, version)


def active_adapter(engine: Engine, table: str) -> Adapter | None:
    rows = engine.query(sql.active_adapter_spec(_dialect(engine)), (table,))
    return from_json(Adapter, rows[0][0]) if rows else None


def latest_adapter_version(engine: Engine, table: str) -> int:
    return _latest_version(engine, "adapters", table)


def contract_versions(engine: Engine, table: str) -> list[int]:
    rows = engine.query(sql.contract_versions(_dialect(engine)), (table,))
    return [int(r[0]) for r in rows]


def adapter_versions(engine: Engine, table: str) -> list[tuple[int, int, Adapter]]:
    """Every adapter version a table had, oldest first: (version, step saved, adapter)."""
    rows = engine.query(sql.adapter_versions(_dialect(engine)), (table,))
    return [(int(v), int(s), from_json(Adapter, spec)) for v, s, spec in rows]


def contract_version_with_adapter(engine: Engine, table: str, adapter_version: int) -> int | None:
    """The contract version the table had when an adapter version first became active."""
    value = scalar(engine, sql.contract_version_with_adapter(_dialect(engine)), (table, adapter_version))
    return int(value) if value is not None else None


def record_table_state(engine: Engine, step: int, table: str, columns: list[str], cause: str) -> None:
    contract = active_contract(engine, table)
    adapter = active_adapter(engine, table)
    engine.execute(
        sql.insert_table_state(_dialect(engine)),
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
    rows = engine.query(sql.table_state(_dialect(engine)), (table, contract_version))
    if not rows:
        raise NotFoundError(f"{table} never had contract version {contract_version}")
    return rows[0][0], json.loads(rows[0][1])


def state_before(
    engine: Engine, table: str, step: int, causes: tuple[str, ...]
) -> tuple[int, int | None, list[str]] | None:
    """(contract version, adapter version, physical columns) the table had before the first of
    `step`'s changes of it made for one of `causes` (schema_migration, add_adapter)."""
    rows = engine.query(sql.state_before(_dialect(engine), len(causes)), (table, table, step, *causes))
    return (int(rows[0][0]), rows[0][1], json.loads(rows[0][2])) if rows else None


def adopted(engine: Engine, tables: tuple[str, ...]) -> set[str]:
    """The tables pipefix adopted (another tool had loaded them): their rows from before count as
    `rows.adopted`, loaded but never received by pipefix."""
    if not tables:
        return set()
    rows = engine.query(sql.adopted_tables(_dialect(engine), len(tables)), (ADOPTED_CAUSE, *tables))
    return {str(r[0]) for r in rows}
