"""Edits of the contracts in pipefix.yaml, taken up at the start of every run.

Each table's contract in the yaml is compared with the one the yaml produced when pipefix last
applied it (pipeline/contract_edits.py says why not with the active contract). A widening edit
becomes a new contract version through schema_migration's path — a pure plan with its inverse, a
shadow trial, the post-check, the compatibility view `<table>_v<n>` for readers of the previous
version — audited as the user's edit, and the table's held rows are replayed in the same
transaction. An edit that would narrow or drop is refused with `file:line: key: why`; the active
contract stays and the refusal is repeated on every run until the yaml is put back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pipefix.domain.serde import from_json, to_json
from pipefix.engines import health, store, table_shape
from pipefix.engines.base import EngineError, has_rows
from pipefix.engines.dialect_of import dialect_of
from pipefix.engines.safety import DestructiveStatementError
from pipefix.engines.sql import migration as sql
from pipefix.engines.sql.dialects import DUCKDB, Dialect
from pipefix.pipeline.contract_edits import EditPlan, Loc, plan_edit, same_contract
from pipefix.pipeline.contracts import Contract
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected
from pipefix.tools.retry_failed import replay_held
from pipefix.tools.schema_migration import (
    MigrationPlan,
    accepted_rows,
    compatibility_view,
    compatibility_view_name,
    post_check,
    shadow_trial_of,
    views_around_retype,
)

_BASELINE = "contract.yaml."  # setting key prefix: the contract the yaml produced, as last applied


@dataclass(frozen=True)
class EditOutcome:
    """What became of one table's edit in pipefix.yaml."""

    table: str
    status: str  # applied | refused | failed | unchanged (the yaml caught up with the active contract)
    from_version: int
    to_version: int
    changes: tuple[str, ...] = ()  # the edits applied (or, refused or failed, that wait)
    refused: tuple[str, ...] = ()  # `pipefix.yaml:14: tables.orders.columns.status.values: why`
    replayed: int = 0
    still_held: int = 0
    detail: str = ""  # applied: the migration; failed: why

    def lines(self) -> list[str]:
        """The outcome as `pipefix run` prints it: one line each, refusals as warnings."""
        if self.status == "applied":
            return [
                f"contract edited in pipefix.yaml: {self.table} v{self.from_version} -> v{self.to_version}: "
                f"{'; '.join(self.changes)}; replayed {self.replayed:,} held rows, "
                f"{self.still_held:,} still held"
            ]
        if self.status == "unchanged":
            return [
                f"pipefix.yaml: {self.table}: the edit matches the active contract "
                f"v{self.from_version} already ({'; '.join(self.changes)}); nothing to change"
            ]
        stays = f"the active contract v{self.from_version} stays"
        if self.status == "failed":
            lines = [
                f"warning: contract edit of {self.table} in pipefix.yaml not applied: {self.detail}; {stays}"
            ]
        else:
            lines = [f"warning: {refusal}; {stays}" for refusal in self.refused]
        if self.changes and self.status == "refused":
            lines.append(f"         not applied either, a table's edit is whole: {'; '.join(self.changes)}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "status": self.status,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "changes": list(self.changes),
            "refused": list(self.refused),
            "replayed": self.replayed,
            "still_held": self.still_held,
            "detail": self.detail,
        }


def yaml_baseline(ctx: PipelineContext, table: str) -> Contract | None:
    """The contract pipefix.yaml produced for `table` when last applied: saved with each applied
    edit, else the table's first contract (which the yaml created)."""
    text = store.get_setting(ctx.engine, _BASELINE + table, "")
    return from_json(Contract, text) if text else store.contract_version(ctx.engine, table, 1)


def save_yaml_baseline(ctx: PipelineContext, contract: Contract) -> None:
    store.put_setting(ctx.engine, _BASELINE + contract.table, to_json(contract))


def plan_contract_edit(
    current: Contract, target: Contract, changes: tuple[str, ...], dialect: Dialect = DUCKDB
) -> MigrationPlan:
    """Pure: the DDL that takes a table from `current` to `target` (columns added, types widened;
    every other edit is the contract's alone) and the DDL that undoes it."""
    table = current.table
    statements: list[sql.ShapeChange] = []
    inverse: list[sql.ShapeChange] = []
    for column in target.columns:
        before = current.column(column.name)
        if before is None:
            statements.append(sql.AddColumn(table, column.name, column.type))
            inverse.insert(0, sql.DropColumn(table, column.name))
        elif before.type != column.type:
            statements.append(sql.RetypeColumn(table, column.name, column.type))
            inverse.insert(0, sql.RetypeColumn(table, column.name, before.type))
    return MigrationPlan(
        current.table, target, tuple(statements), tuple(inverse), changes, (), dialect=dialect
    )


def reconcile(
    ctx: PipelineContext, wanted: dict[str, Contract], where: Callable[[Loc], str], step: int
) -> tuple[EditOutcome, ...]:
    """Take up the edits of pipefix.yaml's contracts (`wanted`, per table); `where` names a key's
    file and line. Tables whose yaml did not change since last applied are left alone."""
    outcomes = []
    for table, after in wanted.items():
        before = yaml_baseline(ctx, table)
        if before is None or same_contract(before, after):
            continue
        active = store.active_contract(ctx.engine, table)
        version = store.latest_contract_version(ctx.engine, table) + 1
        plan = plan_edit(before, after, active, version, _needs_rows(ctx, after, active))
        changes = tuple(e.change for e in plan.accepted)
        if plan.refused:
            refused = tuple(f"{where(e.loc)}: {e.refused}" for e in plan.refused)
            outcome = EditOutcome(table, "refused", active.version, active.version, changes, refused)
            _audit_refusal(ctx, step, outcome)
        elif plan.target is None:
            with ctx.engine.transaction():
                save_yaml_baseline(ctx, after)
            if not changes:
                continue  # only the order of columns or values changed
            outcome = EditOutcome(table, "unchanged", active.version, active.version, changes)
        else:
            outcome = apply_edit(ctx, plan, active, after, step)
        outcomes.append(outcome)
    return tuple(outcomes)


def _needs_rows(ctx: PipelineContext, after: Contract, active: Contract) -> bool:
    """Whether the table holds rows, asked only when the yaml adds a required column."""
    if all(c.nullable or active.column(c.name) is not None for c in after.columns):
        return False
    return has_rows(ctx.engine, after.table)


def apply_edit(
    ctx: PipelineContext, plan: EditPlan, active: Contract, after: Contract, step: int
) -> EditOutcome:
    """Migrate to the edited contract, replay the held rows and record the edit, all or nothing."""
    engine = ctx.engine
    target = plan.target
    assert target is not None
    applied = tuple(e.change for e in plan.accepted if not e.changes_nothing)
    dialect = dialect_of(engine)
    migration = plan_contract_edit(active, target, applied, dialect)
    try:
        shadow_note = shadow_trial_of(
            ctx,
            migration,
            lambda shadow: (
                plan_contract_edit(shadow, replace(target, table=shadow.table), (), dialect).operations
            ),
        )
        accepted_before = accepted_rows(ctx, active)
        with engine.transaction():
            detach, attach = views_around_retype(ctx, active, target)
            for change in (*detach, *migration.operations, *attach):
                table_shape.apply(engine, change)
            store.save_contract(engine, target, step, "edited in pipefix.yaml: " + "; ".join(applied))
            table_shape.apply(engine, compatibility_view(active))
            post_check(ctx, target, accepted_before)
            columns = sorted(health.physical_columns(engine, target.table))
            store.record_table_state(engine, step, target.table, columns, "contract_edit")
            replayed, still_held = replay_held(ctx, target.table, step)
            store.audit(
                engine,
                step,
                "contract_edit",
                {
                    "target": target.table,
                    "by": "pipefix.yaml",
                    "from_version": active.version,
                    "to_version": target.version,
                    "changes": list(applied),
                    "statements": list(migration.statements),
                    "inverse": list(migration.inverse),
                    "compatibility_view": compatibility_view_name(active),
                    "shadow": shadow_note,
                    "replayed": replayed,
                    "still_held": still_held,
                },
            )
            save_yaml_baseline(ctx, after)
    except (FixRejected, EngineError, DestructiveStatementError) as error:
        return EditOutcome(target.table, "failed", active.version, active.version, applied, detail=str(error))
    detail = f"v{active.version} readers keep {compatibility_view_name(active)} ({shadow_note})"
    return EditOutcome(
        target.table, "applied", active.version, target.version, applied, (), replayed, still_held, detail
    )


def _audit_refusal(ctx: PipelineContext, step: int, outcome: EditOutcome) -> None:
    """Recorded once for as long as the yaml says the same: each run prints it again."""
    payload = {
        "target": outcome.table,
        "refused": list(outcome.refused),
        "waiting": list(outcome.changes),
        "active_version": outcome.from_version,
    }
    earlier = [
        p
        for _, _, p in store.audit_trail(ctx.engine, ("contract_edit_refused",))
        if p["target"] == outcome.table
    ]
    if earlier and earlier[-1] == payload:
        return
    with ctx.engine.transaction():
        store.audit(ctx.engine, step, "contract_edit_refused", payload)
