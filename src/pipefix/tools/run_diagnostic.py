"""run_diagnostic: compare what the producer sends with the table's contract, from the rows
held in quarantine: which columns were added, removed or retyped, how many rows, where it began."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from pipefix.domain.actions import Action, ActionResult
from pipefix.domain.serde import from_plain, to_plain
from pipefix.engines import quarantine, rename_figures, replays, store, vocabulary
from pipefix.engines.conversions import held_conversions
from pipefix.pipeline.contracts import Contract, type_family
from pipefix.pipeline.drift import Drift, DriftKind, diff, new_values
from pipefix.pipeline.drift_diagnosis import rename_candidates, with_renames
from pipefix.pipeline.renames import RenameEvidence, name_evidence, weigh
from pipefix.pipeline.vocabulary import with_vocabulary
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
    # Every (removed, added) pair weighed as a rename, whatever the verdict: the evidence shown.
    renames: tuple[RenameEvidence, ...] = ()
    # What earlier attempts on this contract version taught: fix types that released no held row
    # for these drifts (the planner does not try them again), and why.
    failed_fixes: tuple[str, ...] = ()
    learned: tuple[str, ...] = ()
    # The adapter version active when it was made (0: none; None: made before this was kept). An
    # adapter saved since answered it: the planner does not plan from it again.
    adapter_version: int | None = None

    def covers(self) -> frozenset[str]:
        """The load-time drift labels (`kind:column`) this diagnosis explains."""
        labels = {f"{d.kind}:{d.column}" for d in self.drifts}
        for d in self.drifts:
            if d.kind is DriftKind.RENAMED and d.observed:
                labels |= {f"{DriftKind.REMOVED}:{d.column}", f"{DriftKind.ADDED}:{d.observed}"}
            if d.kind is DriftKind.RETYPED and d.values:
                # Another vocabulary explains an enum's values a load took for new ones.
                labels.add(f"{DriftKind.NEW_VALUE}:{d.column}")
        return frozenset(labels)

    def summary(self) -> str:
        found = "; ".join(str(d) for d in self.drifts) or "no schema drift"
        weighed = "".join(f"; rename? {e.summary()}" for e in self.renames)
        return f"{self.table}: {self.schema_rows} rows held by schema: {found}{weighed}"

    def rename_evidence(self, old: str, new: str) -> RenameEvidence | None:
        return next((e for e in self.renames if (e.old, e.new) == (old, new)), None)

    def has_failed(self, fix_type: str) -> bool:
        """This fix released no held row for these very drifts before (fix_outcome.py)."""
        return failure_key(fix_type, self.drifts) in self.failed_fixes


def failure_key(fix_type: str, drifts: tuple[Drift, ...]) -> str:
    """A fix type with the drifts it was tried on: what a failed fix is remembered by."""
    return f"{fix_type}: " + "; ".join(sorted(f"{d.kind}:{d.column}:{d.observed}" for d in drifts))


def diagnose(
    ctx: PipelineContext,
    table: str,
    step: int = 0,
    not_renames: Mapping[tuple[str, str], str] | None = None,
    failed_fixes: tuple[str, ...] = (),
    learned: tuple[str, ...] = (),
) -> Diagnosis:
    """`not_renames`: pairs already known not to be renames (a person rejected the rename, or its
    adapter released no held row), with why: they stay a removal and an addition."""
    engine = ctx.engine
    contract = store.active_contract(engine, table)
    adapter = store.active_adapter(engine, table)
    rows, observed = replays.profile_open_quarantine(engine, table, "schema")
    drifts = diff(contract, observed, rows, adapter)
    drifts = held_conversions(engine, contract, adapter, drifts)  # each held value tried
    earlier = latest_diagnosis(ctx, table)
    if earlier is not None and earlier.contract_version == contract.version:
        # What was learned about this contract version holds until it changes.
        failed_fixes = tuple(dict.fromkeys((*earlier.failed_fixes, *failed_fixes)))
        learned = tuple(dict.fromkeys((*earlier.learned, *learned)))
        refused = {(e.old, e.new): e.why for e in earlier.renames if e.why.startswith(_REFUSED)}
        not_renames = {**refused, **(not_renames or {})}
    evidence = rename_evidence(ctx, contract, drifts, rows, not_renames or {})
    drifts = with_renames(drifts, {(e.old, e.new): e.confidence for e in evidence if e.is_rename})
    drifts += _new_values(ctx, contract)
    # Booleans as yes/no, an enum's values in another case: a mapping, preferred to a variant
    # column or a new allowed value (last: it stages every held record, the steps above read
    # only those held for their shape).
    drifts = with_vocabulary(contract, adapter, drifts, vocabulary.held_texts(engine, contract, adapter))
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
        renames=tuple(evidence),
        failed_fixes=failed_fixes,
        learned=learned,
        adapter_version=adapter.version if adapter is not None else 0,
    )


_REFUSED = "known not to be a rename"


def rename_evidence(
    ctx: PipelineContext,
    contract: Contract,
    drifts: tuple[Drift, ...],
    rows: int,
    not_renames: Mapping[tuple[str, str], str],
) -> list[RenameEvidence]:
    """Each removed/added pair of one kind of type, weighed: the swap, the types, the values (as
    far as the old column's history predicts them; numbers compared as numbers), a key of another
    table both belong to, and the names."""
    engine = ctx.engine
    found = []
    added_text = [d.field for d in drifts if d.kind is DriftKind.ADDED and d.observed == "varchar"]
    contracts = {t: c for t, c in store.active_contracts(engine).items() if t in ctx.source_tables}
    for gone, new in rename_candidates(contract, drifts, rows):
        spec = contract.column(gone.column)
        if spec is None or new.observed is None:
            continue
        family = type_family(spec.type)
        numeric = family == "numeric"
        old_values, old_sample = rename_figures.history(engine, contract.table, gone.column, numeric)
        new_values, new_sample = rename_figures.held(engine, new.field)
        matched = (
            quarantine.distinct_matches(engine, contract.table, gone.column, new_sample, numeric)
            if new_sample
            else 0
        )
        reference, share = rename_figures.referenced_key(
            engine, contracts, contract.table, family, old_sample, new_sample
        )
        dropped = name_evidence(gone.column, new.field).dropped
        others = [f for f in added_text if f != new.field]
        evidence = weigh(
            RenameEvidence(
                table=contract.table,
                old=gone.column,
                new=new.column,
                old_type=spec.type,
                new_type=new.observed,
                rows=new.rows,
                swap=rename_figures.carried_by_every_record(engine, contract.table, gone.column, new.field),
                old_values=old_values,
                new_values=new_values,
                overlap=round(matched / len(new_sample), 3) if new_sample else 0.0,
                reference=reference,
                reference_share=share,
                unit_moved=rename_figures.sent_as_value(engine, dropped, others),
                sent=new.source,
            )
        )
        refused = not_renames.get((gone.column, new.column))
        if refused is not None and evidence.is_rename:
            evidence = replace(evidence, verdict="add + optional", why=f"{_REFUSED}: {refused}")
        found.append(evidence)
    return found


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


def latest_diagnoses(ctx: PipelineContext, tables: Iterable[str]) -> dict[str, Diagnosis]:
    """latest_diagnosis() of each table that has one, read in one statement."""
    names = list(tables)
    found = store.recall_latest(ctx.engine, [f"diagnosis.{table}" for table in names])
    # In the tables' order, as the planner reads them.
    return {
        table: from_plain(Diagnosis, data)
        for table in names
        if (data := found.get(f"diagnosis.{table}")) is not None
    }
