"""The history a person reads (`pipefix history`, the report): goal versions, fixes, refusals,
constraint changes, alerts, user commands, files re-sent or changed, contract edits and CSV
dialects, gathered from the other bookkeeping tables in step order."""

from __future__ import annotations

import json
from typing import Any

from pipefix.domain.serde import from_plain
from pipefix.engines.base import Engine
from pipefix.engines.sql import bookkeeping_batches as sql
from pipefix.engines.store.batches import changed_file_text, grown_and_rewritten, resent_batches
from pipefix.engines.store.schema import _dialect, file_of
from pipefix.engines.store.steps import all_steps, audit_trail, goals
from pipefix.pipeline.csv_dialect import CsvDialect
from pipefix.pipeline.renames import RenameEvidence


def history(engine: Engine) -> list[dict[str, Any]]:
    """Goal versions, fix attempts, refusals and constraint changes, in step order."""
    entries: list[dict[str, Any]] = []
    for version, step, description, reason, evidence in goals(engine):
        entries.append(
            {
                "step": step,
                "kind": "goal",
                "text": f"goal v{version}: {description}",
                "reason": reason,
                "evidence": json.loads(evidence) if evidence else {},
            }
        )
    for record in all_steps(engine):
        for result in record.results:
            if result.action.is_fix:
                outcome = "ok" if result.ok else "FAILED"
                entries.append(
                    {
                        "step": record.step,
                        "kind": "fix",
                        "text": f"{result.action} {outcome}: {result.detail}",
                    }
                )
            entries += _renames_weighed(record.step, result.evidence.get("diagnosis"))
        for refusal in record.refused:
            entries.append(
                {
                    "step": record.step,
                    "kind": "refused",
                    "text": f"{refusal.action} refused by {refusal.constraint}: {refusal.reason}",
                }
            )
        for change in record.constraint_changes:
            entries.append(
                {
                    "step": record.step,
                    "kind": "constraint",
                    "text": f"{change.change} {change.constraint.name}: {change.constraint.description}",
                    "reason": change.reason,
                }
            )
    for step, _, payload in audit_trail(engine, ("alert_undelivered",)):
        entries.append(
            {
                "step": step,
                "kind": "alert",
                "text": f"alert to {payload['sink']} NOT delivered ({', '.join(payload['events'])})",
                "reason": f"{payload['reason']} after {payload['attempts']} attempt(s)",
            }
        )
    for step, _, payload in audit_trail(engine, ("user",)):
        entries.append(
            {
                "step": step,
                "kind": "user",
                "text": f"pipefix {payload['command']} {payload['target']}: {payload['detail']}",
                "reason": f"asked by {payload['by']} at {payload['at']}",
            }
        )
    for step, _, payload in audit_trail(engine, ("utc_note",)):  # engines/utc_notes.py
        entries.append({"step": step, "kind": "note", "text": payload["text"]})
    entries += resent_and_edit_entries(engine)
    entries += [
        {"step": c["step"], "kind": c["change"], "text": changed_file_text(c)}
        for c in grown_and_rewritten(engine)
    ]
    entries += csv_dialect_entries(engine)
    return sorted(entries, key=lambda e: e["step"])


def resent_and_edit_entries(engine: Engine) -> list[dict[str, Any]]:
    """History entries for files re-sent and for edits of pipefix.yaml, applied or refused."""
    entries: list[dict[str, Any]] = [
        {
            "step": r["step"],
            "kind": "duplicate",
            "text": f"{r['file']} re-sent: its {r['lines']:,} lines are already loaded as "
            f"{file_of(r['duplicate_of'])}; recorded, nothing loaded twice",
        }
        for r in resent_batches(engine)
    ]
    for step, kind, payload in audit_trail(engine, ("contract_edit", "contract_edit_refused")):
        if kind == "contract_edit":
            text = (
                f"contract edited in pipefix.yaml: {payload['target']} v{payload['from_version']} -> "
                f"v{payload['to_version']}: {'; '.join(payload['changes'])}"
            )
            reason = f"replayed {payload['replayed']} held rows; {payload['still_held']} still held"
        else:
            refused = "; ".join(payload["refused"])
            text = f"contract edit of {payload['target']} in pipefix.yaml refused: {refused}"
            reason = f"the active contract v{payload['active_version']} stays"
        entries.append({"step": step, "kind": "edit", "text": text, "reason": reason})
    return entries


def csv_dialect_entries(engine: Engine) -> list[dict[str, Any]]:
    """The CSV batches read in a dialect other than the plain one (`,` `"` `.`, a header, no BOM)."""
    rows = engine.query(sql.csv_dialects(_dialect(engine)))
    dialects = [(int(step), str(batch), CsvDialect.from_dict(json.loads(text))) for step, batch, text in rows]
    return [
        {"step": step, "kind": "csv", "text": f"{file_of(batch)} read as CSV with {dialect.describe()}"}
        for step, batch, dialect in dialects
        if not dialect.plain
    ]


def _renames_weighed(step: int, diagnosis: object) -> list[dict[str, Any]]:
    """A diagnosis's rename evidence (pipeline/renames.py, as stored): one entry per pair weighed."""
    weighed = diagnosis.get("renames", []) if isinstance(diagnosis, dict) else []
    found = [from_plain(RenameEvidence, e) for e in weighed]
    return [
        {"step": step, "kind": "rename?", "text": f"{e.table}.{e.summary()}", "reason": e.figures()}
        for e in found
    ]
