"""run_diagnostic: compare what the producer sends with the table's contract, from the rows
held in quarantine: which columns were added, removed or retyped, how many rows, where it began."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipefix.domain.actions import Action, ActionResult
from pipefix.domain.serde import from_plain, to_plain
from pipefix.engines import loader, store
from pipefix.engines.base import quote, scalar
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
    drifts = with_renames(drifts, _rename_overlaps(ctx, contract, drifts))
    drifts += _new_values(ctx, contract)
    quarantine = f"{store.SCHEMA}.quarantine"
    reasons = engine.query(
        f"SELECT reason, count(*) FROM {quarantine} WHERE table_name = ? AND replayed_step IS NULL "
        "GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 5",
        (table,),
    )
    first = engine.query(
        f"SELECT batch_id FROM {quarantine} WHERE table_name = ? AND kind = 'schema' "
        "AND replayed_step IS NULL ORDER BY quarantined_step, batch_id LIMIT 1",
        (table,),
    )
    samples = engine.query(
        f"SELECT raw FROM {quarantine} WHERE table_name = ? AND kind = 'schema' "
        "AND replayed_step IS NULL ORDER BY batch_id, line_no LIMIT 2",
        (table,),
    )
    open_rows = sum(n for _, n in reasons)
    total_open = engine.query(
        f"SELECT count(*) FROM {quarantine} WHERE table_name = ? AND replayed_step IS NULL",
        (table,),
    )[0][0]
    return Diagnosis(
        table=table,
        contract_version=contract.version,
        open_rows=int(total_open) if total_open is not None else open_rows,
        schema_rows=rows,
        drifts=drifts,
        top_reasons=tuple((str(r), int(n)) for r, n in reasons),
        first_bad_batch=first[0][0] if first else None,
        samples=tuple(s[0][:300] for s in samples),
        step=step,
    )


def _rename_overlaps(
    ctx: PipelineContext, contract: Contract, drifts: tuple[Drift, ...]
) -> dict[tuple[str, str], float]:
    """For each removed/added pair of one kind: the share of the added column's held values that
    the removed column already holds in the table. Values are compared as text, numbers as numbers."""
    overlaps = {}
    for gone, new in rename_candidates(contract, drifts):
        values = loader.held_values(ctx.engine, new.column)
        spec = contract.column(gone.column)
        if not values or spec is None:
            continue
        numeric = type_family(spec.type) == "numeric"
        cast = "DOUBLE PRECISION" if numeric else "VARCHAR"
        probe = [float(v) for v in values] if numeric else values
        marks = ", ".join("?" for _ in probe)
        column = quote(gone.column)
        matched = scalar(
            ctx.engine,
            f"SELECT count(DISTINCT CAST({column} AS {cast})) FROM {quote(contract.table)} "
            f"WHERE CAST({column} AS {cast}) IN ({marks})",
            probe,
        )
        overlaps[(gone.column, new.column)] = int(matched) / len(values)
    return overlaps


def _new_values(ctx: PipelineContext, contract: Contract) -> tuple[Drift, ...]:
    """New allowed values among held rows, judged batch by batch against what each batch sent."""
    rows = ctx.engine.query(
        f"SELECT q.reason, count(*), max(b.received) FROM {store.SCHEMA}.quarantine AS q "
        f"JOIN {store.SCHEMA}.batches AS b ON b.batch_id = q.batch_id "
        "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.kind = 'value' "
        "GROUP BY q.reason, q.batch_id ORDER BY q.reason, q.batch_id",
        (contract.table,),
    )
    found: dict[tuple[str, str | None], Drift] = {}
    for reason, count, received in rows:
        for drift in new_values(contract, [(str(reason), int(count))], int(received)):
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
