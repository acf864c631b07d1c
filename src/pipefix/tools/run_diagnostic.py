"""run_diagnostic: compare what the producer sends with the table's contract, from the rows
held in quarantine: which columns were added, removed or retyped, how many rows, where it began."""

from __future__ import annotations

from dataclasses import dataclass

from pipefix.domain.actions import Action, ActionResult
from pipefix.domain.serde import from_plain, to_plain
from pipefix.engines import loader, store
from pipefix.pipeline.drift import Drift, diff
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

    def summary(self) -> str:
        found = "; ".join(str(d) for d in self.drifts) or "no schema drift"
        return f"{self.table}: {self.schema_rows} rows held by schema: {found}"


def diagnose(ctx: PipelineContext, table: str) -> Diagnosis:
    engine = ctx.engine
    contract = store.active_contract(engine, table)
    adapter = store.active_adapter(engine, table)
    rows, observed = loader.profile_open_quarantine(engine, table, "schema")
    drifts = diff(contract, observed, rows, adapter)
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
    )


def run_diagnostic(ctx: PipelineContext, action: Action, step: int) -> ActionResult:
    diagnosis = diagnose(ctx, action.target)
    store.remember(ctx.engine, step, f"diagnosis.{action.target}", to_plain(diagnosis))
    return ActionResult(action, True, diagnosis.summary(), evidence={"diagnosis": to_plain(diagnosis)})


def latest_diagnosis(ctx: PipelineContext, table: str) -> Diagnosis | None:
    data = store.recall(ctx.engine, f"diagnosis.{table}")
    return from_plain(Diagnosis, data) if data is not None else None
