"""run_diagnostic: compare what the producer sends with the table's contract, from the rows
held in quarantine: which columns were added, removed or retyped, how many rows, where it began."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipefix.domain.actions import Action, ActionResult
from pipefix.domain.serde import from_plain, to_plain
from pipefix.engines import loader, quarantine, store
from pipefix.pipeline.contracts import Contract, type_family
from pipefix.pipeline.drift import Drift, DriftKind, diff, new_values, rename_candidates, with_renames
from pipefix.tools.context import PipelineContext


@dataclass(frozen=True)
class Diagnosis:
    table: str
    contract_version: int
    open_rows: int
    schema_rows: int
    drifts: tuple[Drift, ...]
    top_reasons: tuple[tuple[str, int], ...]
    first_bad_batch: str | None
    samples: tuple[str, ...]
    step: int = 0

    def covers(self) -> frozenset[str]:
        """The load-time drift labels (`kind:column`) this diagnosis explains."""
        labels = {f"{d.kind}:{d.column}" for d in self.drifts}
        for d in self.drifts:
            if d.kind is DriftKind.RENAMED and d.observed:
                labels |= {f"{DriftKind.REMOVED}:{d.column}", f"{DriftKind.ADDED}:{d.observed}"}
        return frozenset(labels)

    def summary(self) -> str:
        found = "; ".join(str(d) for d in self.drifts) or "no schema drift"
        return f"{self.table}: {self.schema_rows} rows held by schema: {found}"


def diagnose(ctx: PipelineContext, table: str, step: int = 0) -> Diagnosis:
    engine = ctx.engine
    contract = store.active_contract(engine, table)
    adapter = store.active_adapter(engine, table)
    rows, observed = loader.profile_open_quarantine(engine, table, "schema")
    drifts = diff(contract, observed, rows, adapter)
    drifts = with_renames(drifts, _rename_overlaps(ctx, contract, drifts, rows))
    drifts += _new_values(ctx, contract)
    held = quarantine.held_rows(engine, table)
    return Diagnosis(
        table=table,
        contract_version=contract.version,
        open_rows=held.total,
        schema_rows=rows,
        drifts=drifts,
        top_reasons=held.top_reasons,
        first_bad_batch=held.first_schema_batch,
        samples=held.schema_samples,
        step=step,
    )


def _rename_overlaps(
    ctx: PipelineContext, contract: Contract, drifts: tuple[Drift, ...], rows: int
) -> dict[tuple[str, str], float]:
    """For each removed/added pair of one kind: the share of the added column's held values that
    the removed column already holds in the table. Values are compared as text, numbers as numbers."""
    overlaps = {}
    for gone, new in rename_candidates(contract, drifts, rows):
        values = loader.held_values(ctx.engine, new.column)
        spec = contract.column(gone.column)
        if not values or spec is None:
            continue
        numeric = type_family(spec.type) == "numeric"
        matched = quarantine.distinct_matches(ctx.engine, contract.table, gone.column, values, numeric)
        overlaps[(gone.column, new.column)] = matched / len(values)
    return overlaps


def _new_values(ctx: PipelineContext, contract: Contract) -> tuple[Drift, ...]:
    """New allowed values among held rows, judged batch by batch against what each batch sent."""
    found: dict[tuple[str, str | None], Drift] = {}
    for reason, count, received in quarantine.value_reasons_by_batch(ctx.engine, contract.table):
        for drift in new_values(contract, [(reason, count)], received):
            key = (drift.column, drift.observed)
            found[key] = replace(drift, rows=drift.rows + (found[key].rows if key in found else 0))
    return tuple(found.values())


def run_diagnostic(ctx: PipelineContext, action: Action, step: int) -> ActionResult:
    diagnosis = diagnose(ctx, action.target, step)
    store.remember(ctx.engine, step, f"diagnosis.{action.target}", to_plain(diagnosis))
    return ActionResult(action, True, diagnosis.summary(), evidence={"diagnosis": to_plain(diagnosis)})


def latest_diagnosis(ctx: PipelineContext, table: str) -> Diagnosis | None:
    data = store.recall(ctx.engine, f"diagnosis.{table}")
    return from_plain(Diagnosis, data) if data is not None else None
