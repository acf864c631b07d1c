"""Tables another tool already loaded: judged read-only before pipefix ever ran, and adopted by
the first `pipefix run`.

Judging (`measure_existing`) is what Soda or Great Expectations do: the contract's checks are
measured on the table's rows, and nothing is created or changed. Adopting (`plan_adoption`,
`adopt`) adds pipefix's lineage columns in place — `ALTER TABLE ... ADD COLUMN`, never a copy,
an UPDATE or a rewrite of a row: the rows already there get the batch `adopted:<table>`, no line
and loaded step 0 (before pipefix's first step) through the columns' defaults; `_pipefix_line`
IS NULL is what marks a row pipefix did not load. Then loading proceeds as for any table.

There is no inverse: dropping the lineage columns again would be a DROP COLUMN of columns holding
values, which the engine guard refuses. A table whose columns do not match its contract is never
adopted: the mismatch is reported, column by column, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipefix.domain.records import StepMetrics, TableHealth
from pipefix.engines import health, store
from pipefix.engines.base import Engine, column_facts
from pipefix.engines.dialect_of import dialect_of
from pipefix.engines.sql import adoption as sql
from pipefix.engines.sql.dialects import Dialect
from pipefix.engines.sql.migration import LINEAGE_COLUMNS
from pipefix.errors import ConfigError
from pipefix.pipeline.contracts import Contract
from pipefix.tools.context import PipelineContext

ADOPTED_CAUSE = store.ADOPTED_CAUSE  # pipefix.table_states.cause of the state recorded at adoption


def adopted_batch(table: str) -> str:
    """The lineage batch of the rows a table held when pipefix adopted it."""
    return f"adopted:{table}"


@dataclass(frozen=True)
class ExistingColumn:
    name: str
    type: str  # as health.physical_schemas names it (PostgreSQL decimals with precision, scale)
    nullable: bool
    max_length: int | None  # a varchar(n) limit, which the contract's varchar does not have


def existing_columns(engine: Engine, table: str) -> list[ExistingColumn]:
    """The table's columns in order; empty when there is no such table in the current schema.
    Always empty on Spark: its catalog is read through pipefix's registry of its own tables, so a
    table another tool wrote there is not adopted (supported on DuckDB and PostgreSQL)."""
    if engine.capabilities.versioned_tables:
        return []
    types = health.physical_schemas(engine, (table,))[table]
    if not types:
        return []
    return [
        ExistingColumn(name, types[name], nullable, length)
        for name, nullable, length in column_facts(engine, table)
    ]


def has_lineage(columns: Sequence[ExistingColumn]) -> bool:
    """All of pipefix's lineage columns are there: a table pipefix made, not one to adopt."""
    return set(LINEAGE_COLUMNS) <= {c.name for c in columns}


def mismatches(contract: Contract, columns: Sequence[ExistingColumn], dialect: str) -> tuple[str, ...]:
    """Why the table cannot be loaded under the contract as it is, one line per column: a contract
    column missing or of another type, a column the contract does not name (pipefix would load
    NULL into it), a NOT NULL the contract allows to be null, or a length limit."""
    by_name = {c.name: c for c in columns}
    problems = []
    for spec in contract.columns:
        column = by_name.get(spec.name)
        expected = health.expected_type(spec.type, dialect)
        if column is None:
            problems.append(f"{spec.name}: in pipefix.yaml ({spec.type}), not in the table")
            continue
        if column.type.lower() != expected.lower():
            problems.append(
                f"{spec.name}: pipefix.yaml says {spec.type} ({expected}), the table has {column.type}"
            )
        if spec.nullable and not column.nullable:
            problems.append(
                f"{spec.name}: NOT NULL in the table but nullable in pipefix.yaml "
                "(add `nullable: false`: a null would fail the whole batch)"
            )
        if column.max_length is not None and spec.type == "varchar":
            problems.append(
                f"{spec.name}: the table limits it to {column.max_length} characters; "
                "pipefix.yaml's varchar has no limit"
            )
    names = set(contract.column_names) | set(LINEAGE_COLUMNS)
    for column in columns:
        if column.name not in names:
            problems.append(f"{column.name}: in the table ({column.type}), not in pipefix.yaml")
    lineage = {c.name: c for c in columns if c.name in LINEAGE_COLUMNS}
    if lineage and len(lineage) < len(LINEAGE_COLUMNS):
        problems.append(f"only some of pipefix's lineage columns are there: {', '.join(sorted(lineage))}")
    return tuple(problems)


def plan_adoption(contract: Contract, dialect: Dialect) -> tuple[str, ...]:
    """Pure: the statements that add pipefix's lineage columns to a table another tool loaded.
    The rows already there take the defaults: batch `adopted:<table>`, line NULL, loaded step 0."""
    batch, line, step = LINEAGE_COLUMNS
    added = sql.lineage_columns(contract.table, (batch, line, step), adopted_batch(contract.table))
    return tuple(column.sql(dialect) for column in added)


def refusal(table: str, problems: Sequence[str]) -> str:
    listed = "\n".join(f"  {p}" for p in problems)
    return (
        f"table {table} already exists and does not match its contract in pipefix.yaml, "
        f"so pipefix does not adopt it (nothing was changed):\n{listed}\n"
        "Make pipefix.yaml describe the table as it is, then run again; "
        "`pipefix check` judges the table read-only meanwhile."
    )


def refuse_mismatches(
    engine: Engine, tables: Mapping[str, tuple[Contract, Sequence[ExistingColumn]]]
) -> None:
    """Raise ConfigError naming every column of every table that does not match its contract,
    before anything is created or changed."""
    dialect = engine.capabilities.dialect
    found = [(table, mismatches(contract, columns, dialect)) for table, (contract, columns) in tables.items()]
    refused = [refusal(table, problems) for table, problems in found if problems]
    if refused:
        raise ConfigError("\n".join(refused))


def adopt(engine: Engine, contract: Contract, columns: Sequence[ExistingColumn]) -> int:
    """Add the lineage columns to a table another tool loaded (in the caller's transaction, with
    the contract's first version); returns the rows it held. Raises ConfigError, changing
    nothing, when the table does not match the contract."""
    refuse_mismatches(engine, {contract.table: (contract, columns)})
    dialect = dialect_of(engine)
    for statement in plan_adoption(contract, dialect):
        engine.execute(statement)
    return int(engine.query(sql.rows_without_line(dialect, contract.table, LINEAGE_COLUMNS[1]))[0][0])


# --- `pipefix check` before pipefix ever ran ----------------------------------------------------


@dataclass(frozen=True)
class ExistingCheck:
    metrics: StepMetrics
    notes: tuple[str, ...]


def measure_existing(ctx: PipelineContext, contracts: Mapping[str, Contract]) -> ExistingCheck | None:
    """The contract checks measured on the tables another tool loaded, read-only (pipefix holds
    no state here yet); None when none of the contracts' tables exists. A table that is missing
    or would not be adopted fails its schema check, with the reasons in the notes."""
    engine = ctx.engine
    dialect = engine.capabilities.dialect
    found = {table: existing_columns(engine, table) for table in contracts}
    if not any(found.values()):
        return None
    now = ctx.clock(0).replace(tzinfo=None)
    tables = []
    notes = []
    for table, contract in contracts.items():
        columns = found[table]
        if not columns:
            notes.append(f"{table}: no such table yet (`pipefix run` creates it)")
            tables.append(TableHealth(table=table, checks={"schema": False}))
            continue
        problems = mismatches(contract, columns, dialect)
        notes += [f"{table}.{p}" for p in problems]
        physical = {c.name: c.type for c in columns}
        planned = health.plan_measure(contract, physical, 0, None, keep=False)
        figures = planned.read(engine.query(planned.sql)[0]).figures
        checks = health.judge(contract, figures, problems, now)
        if not problems:
            notes.append(f"{table}: {figures.rows:,} rows judged read-only; `pipefix run` adopts them")
        tables.append(TableHealth(table=table, checks=checks))
    tables_t = tuple(tables)
    total = sum(len(t.checks) for t in tables_t)
    return ExistingCheck(
        StepMetrics(
            step=0,
            health=round(sum(t.passed for t in tables_t) / total, 4) if total else 1.0,
            error_rate=0.0,
            throughput=0.0,
            throughput_ratio=1.0,
            schema_conformance=round(sum(t.checks["schema"] for t in tables_t) / len(tables_t), 4),
            received=0,
            loaded=0,
            quarantined=0,
            tables=tables_t,
        ),
        tuple(notes),
    )
