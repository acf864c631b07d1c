"""apply_fix(add_adapter): map records of the producer's new schema onto the table's contract
without changing the table: a field renamed back, a value sent in another form converted
exactly (text, epoch numbers, another timestamp format: pipeline/conversions.py)."""

from __future__ import annotations

from pipefix.domain.serde import to_plain
from pipefix.engines import conversions, health, replays, store
from pipefix.pipeline import vocabulary
from pipefix.pipeline.contracts import Adapter, ColumnTransform, Contract, TransformKind, shown_text
from pipefix.pipeline.conversions import is_conversion, transform_for
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.pipeline.vocabulary import is_value_map
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected
from pipefix.tools.run_diagnostic import diagnose


def plan_adapter(
    contract: Contract, drifts: tuple[Drift, ...], current: Adapter | None, version: int
) -> Adapter | None:
    """Pure: the next adapter version, or None when no drift is one an adapter maps exactly."""
    transforms = list(current.transforms) if current else []
    added = []
    for drift in drifts:
        if is_value_map(drift):
            # Read from the field the column is read from now (a rename's, if any).
            now = current.transform_for(drift.column) if current else None
            added.append(vocabulary.transform(drift, now.source if now else drift.column))
        elif drift.kind is DriftKind.RETYPED and drift.hint is not None and is_conversion(drift.hint):
            added.append(transform_for(drift.column, drift.column, drift.hint))
        elif drift.kind is DriftKind.RENAMED and drift.observed is not None:
            # The field as sent (source), when its name is not the column's it was seen as.
            added.append(ColumnTransform(drift.column, TransformKind.RENAME, drift.source or drift.observed))
    if not added:
        return None
    replaced = {t.column for t in added}
    transforms = [t for t in transforms if t.column not in replaced] + added
    return Adapter(contract.table, version, tuple(transforms))


def apply_adapter(
    ctx: PipelineContext, table: str, drifts: tuple[Drift, ...], step: int, shadow: bool
) -> tuple[str, Adapter]:
    engine = ctx.engine
    contract = store.active_contract(engine, table)
    current = store.active_adapter(engine, table)
    adapter = plan_adapter(contract, drifts, current, store.latest_adapter_version(engine, table) + 1)
    current_transforms = current.transforms if current else ()
    if adapter is None:
        raise FixRejected(f"no drift on {table} that an adapter maps without loss")
    before = replays.trial_replay(engine, contract, current)[0]
    # Rows a variant column keeps load either way: the adapter must type more of them.
    typed_before = before - (conversions.variant_rows(engine, contract) if before else 0)
    after, still_held, reasons = replays.trial_replay(engine, contract, adapter)
    typed_after = after - (conversions.variant_rows(engine, contract) if after else 0)
    trial = f"trial: {after} held rows accepted, {still_held} still held"
    trial += "".join(
        f"; {d.column} <- {d.source or d.observed}: rename confidence {d.confidence or 0:.0%}"
        for d in drifts
        if d.kind is DriftKind.RENAMED
    )
    evidence = {d.column: _vocabulary_evidence(d) for d in drifts if is_value_map(d)}
    trial += "".join(f"; {column}: {shown}" for column, shown in evidence.items())
    if (after, typed_after) <= (before, typed_before) and before + still_held > 0:
        raise FixRejected(
            f"adapter would not accept more held rows ({after} <= {before}), nor type more of "
            f"them ({typed_after} <= {typed_before}); "
            f"remaining reasons: {'; '.join(reasons)}"
        )
    with engine.transaction():
        store.save_adapter(engine, adapter, step, ", ".join(t.describe() for t in adapter.transforms))
        store.record_table_state(
            engine, step, table, sorted(health.physical_columns(engine, table)), "add_adapter"
        )
        store.audit(
            engine,
            step,
            "fix",
            {
                "fix_type": "add_adapter",
                "target": table,
                "adapter_version": adapter.version,
                "transforms": [t.describe() for t in adapter.transforms],
                "inverse": f"activate adapter {current.version if current else 'none'}",
                "trial": trial,
                "shadow": shadow,
                "evidence": {d.column: dict(d.values) for d in drifts if is_value_map(d)},
            },
        )
        if any(t.kind is not TransformKind.RENAME for t in adapter.transforms if t not in current_transforms):
            # The diagnosis made before a conversion no longer describes the rows it leaves
            # held (values no conversion reads): described again, the next step plans for them.
            store.remember(engine, step, f"diagnosis.{table}", to_plain(diagnose(ctx, table, step)))
    described = ", ".join(t.describe() for t in adapter.transforms)
    return f"adapter v{adapter.version} for {contract.label}: {described} ({trial})", adapter


def _vocabulary_evidence(drift: Drift) -> str:
    """The held rows of each text a value map reads, and how sure the mapping is."""
    sent = ", ".join(f"{shown_text(text)} ×{rows}" for text, rows in drift.values)
    return f"sent {sent}; confidence {drift.confidence or 0:.0%}"
