"""apply_fix(schema_migration): move a table's contract to what the producer now sends,
losslessly. Adds columns and relaxes removed ones to nullable; never drops, never narrows."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace

from pipefix.engines import health, replays, store, table_shape
from pipefix.engines.base import EngineError
from pipefix.engines.dialect_of import dialect_of
from pipefix.engines.sql import migration as sql
from pipefix.engines.sql.dialects import DUCKDB, Dialect
from pipefix.pipeline.contracts import (
    Adapter,
    ColumnSpec,
    ColumnTransform,
    Contract,
    TransformKind,
    is_lossless_widening,
    type_family,
)
from pipefix.pipeline.conversions import VARIANT, may_have_variant, variant_name
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected


@dataclass(frozen=True)
class MigrationPlan:
    table: str
    new_contract: Contract
    operations: tuple[sql.ShapeChange, ...]
    undo: tuple[sql.ShapeChange, ...]
    changes: tuple[str, ...]
    left_for_adapter: tuple[Drift, ...]
    # Added columns read from a field whose name cannot be a column's: part of the contract,
    # kept in the table's adapter (the mechanism of `source:` in pipefix.yaml).
    renames: tuple[ColumnTransform, ...] = ()
    dialect: Dialect = DUCKDB  # what the statements are shown in (the audit, a dry run)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def statements(self) -> tuple[str, ...]:
        return tuple(op.sql(self.dialect) for op in self.operations)

    @property
    def inverse(self) -> tuple[str, ...]:
        return tuple(op.sql(self.dialect) for op in self.undo)


def plan_schema_migration(
    contract: Contract, drifts: tuple[Drift, ...], version: int, dialect: Dialect = DUCKDB
) -> MigrationPlan:
    """Pure: the contract a migration leads to, the changes to make and the changes that undo them."""
    table = contract.table
    columns = list(contract.columns)
    statements: list[sql.ShapeChange] = []
    inverse: list[sql.ShapeChange] = []
    changes: list[str] = []
    left: list[Drift] = []
    renames: list[ColumnTransform] = []
    for drift in drifts:
        if drift.kind is DriftKind.ADDED and drift.observed is not None:
            if drift.source is not None:
                renames.append(ColumnTransform(drift.column, TransformKind.RENAME, drift.source))
            added = ColumnSpec(drift.column, drift.observed, nullable=True)
            predecessor = _replaced_column(contract, drifts, drift)
            if predecessor is not None:
                added = replace(added, min=predecessor.min, max=predecessor.max, values=predecessor.values)
                changes.append(f"{drift.column} keeps the value rules of {predecessor.name}")
            columns.append(added)
            statements.append(sql.AddColumn(table, drift.column, drift.observed))
            inverse.insert(0, sql.DropColumn(table, drift.column))
            changes.append(f"add column {drift.shown} {drift.observed}")
        elif drift.kind in (DriftKind.REMOVED, DriftKind.NULLABLE):
            spec = contract.column(drift.column)
            if spec is not None and not spec.nullable:
                columns = [replace(c, nullable=True) if c.name == drift.column else c for c in columns]
                changes.append(f"{drift.column} becomes optional (kept, never dropped)")
        elif drift.kind is DriftKind.NEW_VALUE and drift.observed is not None:
            columns = [
                replace(c, values=(*c.values, drift.observed)) if c.name == drift.column and c.values else c
                for c in columns
            ]
            changes.append(f"{drift.column} also allows {drift.observed!r}")
        elif (
            drift.kind is DriftKind.RETYPED
            and drift.observed is not None
            and drift.expected is not None
            and is_lossless_widening(drift.expected, drift.observed)
        ):
            columns = [replace(c, type=drift.observed) if c.name == drift.column else c for c in columns]
            statements.append(sql.RetypeColumn(table, drift.column, drift.observed))
            inverse.insert(0, sql.RetypeColumn(table, drift.column, drift.expected))
            changes.append(f"widen {drift.column} {drift.expected} -> {drift.observed}")
        elif drift.kind is DriftKind.RETYPED and drift.hint == VARIANT:
            name = variant_name(drift.column)
            if may_have_variant(contract, drift.column) and name not in {c.name for c in columns}:
                columns.append(ColumnSpec(name, "varchar", nullable=True))
                statements.append(sql.AddColumn(table, name, "varchar"))
                inverse.insert(0, sql.DropColumn(table, name))
                changes.append(_variant_change(contract, drift.column, name))
        else:
            left.append(drift)
    new_contract = replace(contract, version=version, columns=tuple(columns))
    return MigrationPlan(
        contract.table,
        new_contract,
        tuple(statements),
        tuple(inverse),
        tuple(changes),
        tuple(left),
        tuple(renames),
        dialect,
    )


def adapter_after(plan: MigrationPlan, current: Adapter | None, version: int) -> Adapter | None:
    """Pure: the table's adapter once the migration is applied: the current one, or a new
    version also reading each added column from the field it was sent as."""
    if not plan.renames:
        return current
    return Adapter(plan.table, version, (*(current.transforms if current else ()), *plan.renames))


def _variant_change(contract: Contract, column: str, variant: str) -> str:
    spec = contract.column(column)
    required = "" if spec is None or spec.nullable else f", required unless {variant} holds its value"
    return (
        f"add variant {variant} varchar: the values of {column} no conversion keeps, as sent "
        f"({column} is NULL on their rows{required})"
    )


def _replaced_column(contract: Contract, drifts: tuple[Drift, ...], added: Drift) -> ColumnSpec | None:
    """The one removed column of the same kind an added column most likely replaces.

    Its rules (min, max, allowed values) carry over: a stricter new column holds bad rows in
    quarantine, where a rule-less one would load them silently.
    """
    if added.observed is None:
        return None
    family = type_family(added.observed)
    removed = [
        spec
        for d in drifts
        if d.kind is DriftKind.REMOVED and (spec := contract.column(d.column)) is not None
        if type_family(spec.type) == family
    ]
    candidates = [
        d for d in drifts if d.kind is DriftKind.ADDED and d.observed and type_family(d.observed) == family
    ]
    has_rules = len(removed) == 1 and (removed[0].min, removed[0].max, removed[0].values) != (None,) * 3
    return removed[0] if has_rules and len(candidates) == 1 else None


def compatibility_view_name(previous: Contract) -> str:
    return f"{previous.table}_v{previous.version}"


def compatibility_view(previous: Contract) -> sql.CreateView:
    """Pure: a view with the previous contract's shape, for consumers that still read it.
    Nothing is dropped by a migration, so every column it names still exists."""
    return sql.CreateView(compatibility_view_name(previous), previous.table, previous.column_names)


def pinned_view(previous: Contract, retyped: frozenset[str], detached: bool) -> sql.CreateView:
    """Pure: the compatibility view of `previous` with each retyped column read as the type the
    view has: NULL while the table's column changes type (`detached`), cast from it after. For
    engines whose views pin the types of the columns they read (PostgreSQL alters no column a
    view reads, and changes no view column's type)."""
    casts = {c.name: c.type for c in previous.columns if c.name in retyped}
    view = compatibility_view_name(previous)
    return sql.CreateView(view, previous.table, previous.column_names, casts, detached)


def views_around_retype(
    ctx: PipelineContext, current: Contract, new: Contract
) -> tuple[list[sql.CreateView], list[sql.CreateView]]:
    """What to run before and after a migration's ALTER ... TYPE where views pin column types:
    pipefix's compatibility views that read a retyped column, detached from it, then attached
    again with the types their readers know."""
    engine = ctx.engine
    retyped = frozenset(
        c.name for c in new.columns if (old := current.column(c.name)) is not None and old.type != c.type
    )
    if not retyped or not engine.capabilities.views_pin_column_types:
        return [], []
    views = {str(r[0]) for r in engine.query(sql.views_in_current_schema())}
    before: list[sql.CreateView] = []
    after: list[sql.CreateView] = []
    for version in range(1, store.latest_contract_version(engine, current.table) + 1):
        previous = store.contract_version(engine, current.table, version)
        if previous is None or compatibility_view_name(previous) not in views:
            continue
        reads = retyped & set(previous.column_names)
        if reads:
            before.append(pinned_view(previous, reads, True))
            after.append(pinned_view(previous, reads, False))
    return before, after


def accepted_rows(ctx: PipelineContext, contract: Contract) -> int:
    """How many open quarantined rows of the table this contract (and its adapter) accepts."""
    adapter = store.active_adapter(ctx.engine, contract.table)
    return replays.trial_replay(ctx.engine, contract, adapter)[0]


def post_check(ctx: PipelineContext, contract: Contract, accepted_before: int) -> None:
    physical = health.physical_columns(ctx.engine, contract.table)
    missing = [c for c in contract.column_names if c not in physical]
    if missing:
        raise FixRejected(f"post-check: columns missing after migration: {', '.join(missing)}")
    accepted = accepted_rows(ctx, contract)
    if accepted < accepted_before:
        raise FixRejected(
            f"post-check: new contract accepts fewer held rows ({accepted} < {accepted_before})"
        )


def shadow_trial(ctx: PipelineContext, plan: MigrationPlan, drifts: tuple[Drift, ...]) -> str:
    """Run the migration on an empty shadow copy first, loading the held rows into it."""
    version, dialect = plan.new_contract.version, dialect_of(ctx.engine)
    return shadow_trial_of(
        ctx, plan, lambda shadow: plan_schema_migration(shadow, drifts, version, dialect).operations
    )


def shadow_trial_of(
    ctx: PipelineContext, plan: MigrationPlan, replan: Callable[[Contract], tuple[sql.ShapeChange, ...]]
) -> str:
    """Run a migration on an empty shadow copy first, loading the held rows into it. `replan`
    gives the migration's statements for the active contract renamed to the shadow table."""
    engine = ctx.engine
    dialect = dialect_of(engine)
    shadow = f"_pipefix_shadow_{plan.table}"
    current = store.active_contract(engine, plan.table)
    drop_shadow = sql.drop_temp_table(dialect, shadow)
    engine.execute(drop_shadow)
    table_shape.apply(engine, sql.EmptyTempCopy(shadow, plan.table))
    try:
        statements = replan(replace(current, table=shadow))
        for statement in statements:
            table_shape.apply(engine, statement)
        adapter = store.active_adapter(engine, plan.table)
        before = replays.trial_replay(engine, current, adapter)[0]
        shadow_contract = replace(plan.new_contract, table=shadow)
        loaded = replays.trial_load_into(engine, plan.table, shadow_contract, adapter_after(plan, adapter, 0))
    except BaseException:
        # A failed statement aborts the transaction around it, and the DROP would fail too:
        # its "transaction is aborted" must not take the place of the failure's own message.
        with suppress(EngineError):
            engine.execute(drop_shadow)
        raise
    engine.execute(drop_shadow)
    if loaded < before:
        raise FixRejected(f"shadow trial: migrated copy accepted {loaded} held rows, fewer than {before}")
    return f"shadow trial passed: {len(statements)} statement(s), {loaded} held rows load"


def apply_schema_migration(
    ctx: PipelineContext, drifts: tuple[Drift, ...], step: int, shadow: bool
) -> tuple[str, MigrationPlan]:
    engine = ctx.engine
    if not drifts:
        raise FixRejected("no drift to migrate: run a diagnostic first")
    current = store.active_contract(engine, drifts[0].table)
    version = store.latest_contract_version(engine, current.table) + 1
    dialect = dialect_of(engine)
    plan = plan_schema_migration(current, drifts, version, dialect)
    if plan.is_empty:
        raise FixRejected(f"nothing a lossless migration can change on {current.table}")
    shadow_note = shadow_trial(ctx, plan, drifts) if shadow else ""
    accepted_before = accepted_rows(ctx, current)
    with engine.transaction():
        detach, attach = views_around_retype(ctx, current, plan.new_contract)
        for change in (*detach, *plan.operations, *attach):
            table_shape.apply(engine, change)
        store.save_contract(engine, plan.new_contract, step, "; ".join(plan.changes))
        adapter = store.active_adapter(engine, plan.table)
        if plan.renames:
            adapter = adapter_after(plan, adapter, store.latest_adapter_version(engine, plan.table) + 1)
            assert adapter is not None
            described = ", ".join(t.describe() for t in plan.renames)
            store.save_adapter(engine, adapter, step, f"columns added under plain names: {described}")
        view = compatibility_view(current)
        table_shape.apply(engine, view)
        post_check(ctx, plan.new_contract, accepted_before)
        store.record_table_state(
            engine,
            step,
            plan.table,
            sorted(health.physical_columns(engine, plan.table)),
            "schema_migration",
        )
        store.audit(
            engine,
            step,
            "fix",
            {
                "fix_type": "schema_migration",
                "target": plan.table,
                "from_version": current.version,
                "to_version": plan.new_contract.version,
                "statements": list(plan.statements),
                "inverse": list(plan.inverse),
                "changes": list(plan.changes),
                "adapter": [t.describe() for t in plan.renames],
                "compatibility_view": compatibility_view_name(current),
                "shadow": shadow_note,
            },
        )
    detail = (
        f"{current.label} -> {plan.new_contract.label}: {'; '.join(plan.changes)}; "
        f"v{current.version} readers keep {compatibility_view_name(current)}"
    )
    return (f"{detail} ({shadow_note})" if shadow_note else detail), plan
