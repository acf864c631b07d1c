"""A contract change judged by what it was for: the held rows it was planned to release.

The agent changes a table's contract (schema_migration, add_adapter) to let its held rows in, and
replays them in the same step: planners/rules.py plans [fix, retry_failed], and the constraint
replay_after_change appends the replay to any change. That replay is the change's post-check.
When it releases none of the rows held on the table, the change fixed nothing: it is undone
through its inverse (the contract and adapter versions from before the step's first change; the
columns added since dropped while they hold no value, as a rollback does), every change of the
step is recorded as failed, and the table is diagnosed again with what was learned — so that the
same change is not planned again for the same drift, and a rename whose adapter released nothing
is a removal and an addition from then on.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipefix.domain.serde import to_plain
from pipefix.engines import quarantine, store
from pipefix.pipeline.drift import DriftKind
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected
from pipefix.tools.rollback import restore_state
from pipefix.tools.run_diagnostic import diagnose, failure_key, latest_diagnosis

CHANGES = ("schema_migration", "add_adapter")


@dataclass(frozen=True)
class UnreleasedRows:
    """The step's changes of a table whose replay released none of its held rows."""

    table: str
    changes: tuple[tuple[int, str], ...]  # (ledger index, fix type), in plan order
    held: int
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        kinds = " and ".join(dict.fromkeys(f for _, f in self.changes))
        still = "; ".join(self.reasons)
        return f"{kinds} released none of the {self.held} held rows it was planned for (still held: {still})"


def changes_of_step(ctx: PipelineContext, table: str, step: int) -> tuple[tuple[int, str], ...]:
    """The contract changes of `table` that `step` applied so far: (ledger index, fix type)."""
    wanted = {f"apply_fix({fix}, {table})": fix for fix in CHANGES}
    return tuple(
        (index, wanted[action])
        for index, action, ok, _ in store.ledger_of_step(ctx.engine, step)
        if ok and action in wanted
    )


def judge_replay(ctx: PipelineContext, table: str, step: int, replayed: int) -> UnreleasedRows | None:
    """None unless this step changed the table's contract, rows are held, and the replay that
    followed released none of them."""
    if replayed > 0:
        return None
    changes = changes_of_step(ctx, table, step)
    kinds = quarantine.open_kinds(ctx.engine, table)
    held = kinds.get("schema", 0) + kinds.get("value", 0)
    if not changes or held == 0:
        return None
    top = quarantine.held_rows(ctx.engine, table).top_reasons[:3]
    reasons = tuple(f"{count} × {reason}" for reason, count in top)
    return UnreleasedRows(table, changes, held, reasons)


def undo_changes(ctx: PipelineContext, failed: UnreleasedRows, step: int) -> str:
    """Undo the step's changes of the table through their inverse, record each as failed, and
    diagnose the table again with what was learned. Inside the caller's transaction."""
    engine, table = ctx.engine, failed.table
    before = store.state_before(engine, table, step, CHANGES)
    if before is None:
        raise FixRejected(f"{failed.why}; no earlier state of {table} is recorded to restore")
    version, adapter_version, columns_then = before
    with engine.transaction():
        plan = restore_state(ctx, table, version, adapter_version, columns_then, step, "fix_failed")
        undone = f"undone: {table} back to v{version}.0 and adapter {adapter_version or 'none'}"
        if plan.drop_columns:
            undone += f", {', '.join(plan.drop_columns)} dropped (empty)"
        if plan.keep_columns:
            undone += f", {', '.join(plan.keep_columns)} kept (hold data)"
        recorded = {index: detail for index, _, _, detail in store.ledger_of_step(engine, step)}
        for index, _ in failed.changes:
            detail = f"{recorded[index]}; FAILED: {failed.why}; {undone}"
            store.fail_ledger_entry(engine, step, index, detail)
        store.audit(
            engine,
            step,
            "fix_failed",
            {
                "target": table,
                "fixes": [fix for _, fix in failed.changes],
                "held": failed.held,
                "released": 0,
                "still_held_for": list(failed.reasons),
                "restored_contract_version": version,
                "restored_adapter_version": adapter_version,
                "dropped_empty_columns": list(plan.drop_columns),
            },
        )
        _learn(ctx, failed, step)
    return f"replayed 0 held rows into {table}: {failed.why}; {undone}"


def _learn(ctx: PipelineContext, failed: UnreleasedRows, step: int) -> None:
    """Diagnose the table again, remembering that these fixes do not release its rows for these
    drifts, and that a rename an adapter made of them was none."""
    planned = latest_diagnosis(ctx, failed.table)
    fixes = tuple(dict.fromkeys(fix for _, fix in failed.changes))
    renames = {}
    if planned is not None and "add_adapter" in fixes:
        renames = {
            (d.column, d.observed): f"its adapter released no held row (step {step})"
            for d in planned.drifts
            if d.kind is DriftKind.RENAMED and d.observed is not None
        }
    keys = tuple(failure_key(fix, planned.drifts) for fix in fixes) if planned else ()
    lesson = f"step {step}: {failed.why}; undone"
    diagnosis = diagnose(ctx, failed.table, step, not_renames=renames, failed_fixes=keys, learned=(lesson,))
    store.remember(ctx.engine, step, f"diagnosis.{failed.table}", to_plain(diagnosis))
