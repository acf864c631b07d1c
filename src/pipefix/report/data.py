"""What the HTML report shows, gathered from the warehouse: the step records the agent wrote, the
goals, the audit trail and the row accounting. Nothing here is computed that the store did not
record; the report only arranges it."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipefix.domain.actions import Tool
from pipefix.domain.goals import Goal
from pipefix.domain.records import StepRecord
from pipefix.engines import store
from pipefix.engines.base import Engine
from pipefix.errors import PipefixError
from pipefix.report.summary import build_summary
from pipefix.tools.context import PipelineContext

DEFAULT_REVISE_THRESHOLD = -0.3  # the agent's default (AgentDeps.revise_threshold)
_THRESHOLD_IN_REASON = re.compile(r"<= (-?\d+(?:\.\d+)?)")


class ReportError(PipefixError):
    """A warehouse the report cannot be made from, with a message for the user."""


@dataclass(frozen=True)
class GoalVersion:
    version: int
    step: int
    description: str
    reason: str
    criteria: tuple[str, ...]


@dataclass(frozen=True)
class FixRow:
    step: int
    action: str
    target: str
    result: str  # "ok" | "failed" | "refused"
    detail: str
    post_check: str
    inverse: str
    inverse_applied: str


@dataclass
class ConstraintTrack:
    """One constraint kind over the run: when it was added, modified, removed and enforced."""

    name: str
    description: str
    added: int | None = None
    removed: int | None = None
    modified: list[int] = field(default_factory=list)
    enforced: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DriftEpisode:
    table: str
    step: int
    contract_version: int
    diagnosis: dict[str, Any]
    repairs: tuple[FixRow, ...]
    reasoning: str


@dataclass(frozen=True)
class ReportData:
    records: tuple[StepRecord, ...]
    summary: dict[str, Any]
    revise_threshold: float
    goals: tuple[GoalVersion, ...]
    fixes: tuple[FixRow, ...]
    constraints: tuple[ConstraintTrack, ...]
    rows: dict[str, dict[str, int]]
    open_reasons: tuple[tuple[str, str, int], ...]
    drifts: tuple[DriftEpisode, ...]

    @property
    def drift_steps(self) -> tuple[int, ...]:
        return tuple(r.step for r in self.records if r.metrics.drifted_tables)


def collect(
    engine: Engine,
    source_tables: Sequence[str] | None = None,
    *,
    revise_threshold: float | None = None,
    stop_reason: str = "",
) -> ReportData:
    """Everything the report shows. `source_tables` defaults to the tables that ever received rows."""
    if not store.has_schema(engine):
        raise ReportError("this warehouse holds no pipefix state: run `pipefix demo` or `pipefix run` first")
    records = tuple(store.all_steps(engine))
    if not records:
        raise ReportError("this warehouse holds no steps yet: run `pipefix run` (or `pipefix demo`) first")
    tables = tuple(source_tables) if source_tables is not None else received_tables(records)
    audit = store.audit_trail(engine)
    goals = goal_versions(engine, records)
    state = store.load_agent_state(engine)
    goal = store.latest_goal(engine) or Goal("(no goal recorded)", 0, ())
    targets = {c.metric: c.threshold for c in goal.criteria}  # "recovered" means: back within these
    # The summary reads only the engine and the tables; the clock is never asked.
    context = PipelineContext(engine, tables, clock=lambda step: datetime.now(UTC), step_seconds=60)
    summary = build_summary(
        context,
        records,
        goal,
        state[0] if state else (),
        stop_reason or f"{len(records)} steps recorded",
        health_target=targets.get("health", 0.95),
        error_target=targets.get("error_rate", 0.02),
    )
    fixes = fix_rows(records, audit)
    return ReportData(
        records=records,
        summary=summary,
        revise_threshold=threshold(records, revise_threshold),
        goals=goals,
        fixes=fixes,
        constraints=constraint_tracks(records, audit),
        rows={table: store.row_accounting(engine, (table,)) for table in tables},
        open_reasons=tuple(store.open_quarantine_reasons(engine)),
        drifts=drift_episodes(records, fixes),
    )


def received_tables(records: Sequence[StepRecord]) -> tuple[str, ...]:
    """Source tables: those that ever received a batch row (a derived table never does)."""
    seen: dict[str, None] = {}
    for record in records:
        for health in record.metrics.tables:
            if health.received > 0:
                seen.setdefault(health.table)
    return tuple(seen)


def threshold(records: Sequence[StepRecord], given: float | None) -> float:
    """The revision threshold: as given, else as the first revision's reason states it."""
    if given is not None:
        return given
    for record in records:
        if record.revision is not None:
            match = _THRESHOLD_IN_REASON.search(record.revision.reason)
            if match:
                return float(match.group(1))
    return DEFAULT_REVISE_THRESHOLD


def goal_versions(engine: Engine, records: Sequence[StepRecord]) -> tuple[GoalVersion, ...]:
    """Each goal version with its criteria (taken from the revisions the step records hold)."""
    criteria: dict[int, tuple[str, ...]] = {}
    for record in records:
        if record.revision is not None:
            for goal in (record.revision.from_goal, record.revision.to_goal):
                criteria[goal.version] = tuple(str(c) for c in goal.criteria)
    latest = store.latest_goal(engine)
    if latest is not None:
        criteria.setdefault(latest.version, tuple(str(c) for c in latest.criteria))
    return tuple(
        GoalVersion(version, step, description, reason, criteria.get(version, ()))
        for version, step, description, reason, _ in store.goals(engine)
    )


def _payload_text(value: object) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value) or "none"
    return "" if value is None or value is True else str(value)


Audit = Sequence[tuple[int, str, dict[str, Any]]]


def fix_rows(records: Sequence[StepRecord], audit: Audit) -> tuple[FixRow, ...]:
    """Every fix attempted or refused, with its post-check and inverse from the audit trail."""
    payloads: dict[tuple[int, str, str], list[dict[str, Any]]] = defaultdict(list)
    rollbacks: list[tuple[int, str, int]] = []
    for step, kind, payload in audit:
        if kind == "fix":
            payloads[(step, str(payload.get("fix_type")), str(payload.get("target")))].append(payload)
        elif kind == "rollback":
            payloads[(step, "rollback", str(payload.get("target")))].append(payload)
            rollbacks.append((step, str(payload.get("target")), int(payload.get("to_version", 0))))
    rows = []
    for record in records:
        for result in record.results:
            if not result.action.is_fix:
                continue
            action = str(result.action.fix_type or result.action.tool)
            target = result.action.target
            found = payloads.get((record.step, action, target))
            payload = found.pop(0) if found else {}
            if result.ok:
                trial = _payload_text(payload.get("shadow")) or _payload_text(payload.get("trial"))
                post_check = "passed" + (f" ({trial})" if trial else "")
                applied = _undone_by(action, target, record.step, payload, rollbacks)
            else:
                post_check = f"failed: {result.detail}"
                applied = "not needed: the transaction was rolled back whole"
            inverse = _payload_text(payload.get("inverse"))
            if action == "rollback":
                inverse = f"v{payload.get('from_version', '?')}.0 stays recorded (roll forward)"
            rows.append(
                FixRow(
                    record.step,
                    action,
                    target,
                    "ok" if result.ok else "failed",
                    result.detail,
                    post_check,
                    inverse or "-",
                    applied,
                )
            )
        for refusal in record.refused:
            if refusal.action.is_fix:
                rows.append(
                    FixRow(
                        record.step,
                        str(refusal.action.fix_type or refusal.action.tool),
                        refusal.action.target,
                        "refused",
                        f"refused by {refusal.constraint}: {refusal.reason}",
                        "-",
                        "-",
                        "not needed: nothing ran",
                    )
                )
    return tuple(rows)


def _undone_by(
    action: str, target: str, step: int, payload: dict[str, Any], rollbacks: Sequence[tuple[int, str, int]]
) -> str:
    """Whether a later rollback applied this change's inverse: a migration is undone by a rollback
    to an earlier contract version, an adapter by any rollback of its table."""
    if action not in ("schema_migration", "add_adapter"):
        return "no"
    created = int(payload.get("to_version", 0))
    for when, table, version in rollbacks:
        if table == target and when > step and (action == "add_adapter" or version < created):
            return f"yes: rollback at step {when}"
    return "no"


def _kind(name: str) -> str:
    return name.split("[", 1)[0]


def constraint_tracks(records: Sequence[StepRecord], audit: Audit) -> tuple[ConstraintTrack, ...]:
    """Constraints over the run, keyed by kind: initial ones from the audit trail, then every change
    and every enforcement (a refusal, an appended replay, a shadow trial) from the step records."""
    tracks: dict[str, ConstraintTrack] = {}

    def track(name: str, description: str = "") -> ConstraintTrack:
        kind = _kind(name)
        if kind not in tracks:
            tracks[kind] = ConstraintTrack(name, description)
        return tracks[kind]

    for step, kind, payload in audit:
        if kind == "constraint_initial":
            track(str(payload["constraint"]), str(payload.get("description", ""))).added = step
        elif kind == "fix" and payload.get("shadow"):
            shadow = track("shadow_validation")
            shadow.enforced.append((step, f"{payload.get('fix_type')}({payload.get('target')}) shadow trial"))
    for record in records:
        for change in record.constraint_changes:
            entry = track(change.constraint.name, change.constraint.description)
            entry.name, entry.description = change.constraint.name, change.constraint.description
            if change.change == "add":
                entry.added, entry.removed = record.step, None
            elif change.change == "modify":
                entry.modified.append(record.step)
            elif change.change == "remove":
                entry.removed = record.step
        for refusal in record.refused:
            track(refusal.constraint).enforced.append((record.step, f"refused {refusal.action}"))
        for note in record.amendments:
            if "(replay_after_change" in note:
                track("replay_after_change").enforced.append((record.step, note))
    for entry in tracks.values():
        entry.enforced.sort(key=lambda item: item[0])
    return tuple(tracks.values())


def drift_episodes(records: Sequence[StepRecord], fixes: Sequence[FixRow]) -> tuple[DriftEpisode, ...]:
    """Each drift diagnosed (table, contract version): the evidence, and the fixes that followed
    on that table until the next diagnosed drift of it."""
    found: list[tuple[int, dict[str, Any]]] = []
    seen: set[tuple[Any, ...]] = set()
    for record in records:
        for result in record.results:
            diagnosis = (
                result.evidence.get("diagnosis") if result.action.tool is Tool.RUN_DIAGNOSTIC else None
            )
            if not isinstance(diagnosis, dict) or not diagnosis.get("drifts"):
                continue
            labels = sorted(f"{d.get('kind')}:{d.get('column')}" for d in diagnosis["drifts"])
            key = (str(diagnosis.get("table")), int(diagnosis.get("contract_version", 0)), *labels)
            if key not in seen:
                seen.add(key)
                found.append((record.step, diagnosis))
    episodes = []
    for index, (step, diagnosis) in enumerate(found):
        table = str(diagnosis.get("table"))
        until = next((s for s, d in found[index + 1 :] if d.get("table") == table), None)
        repairs = tuple(
            f for f in fixes if f.target == table and f.step >= step and (until is None or f.step < until)
        )
        plans = [
            r.plan.reasoning for r in records if r.plan is not None and repairs and r.step == repairs[0].step
        ]
        episodes.append(
            DriftEpisode(
                table,
                step,
                int(diagnosis.get("contract_version", 0)),
                diagnosis,
                repairs,
                plans[0] if plans else "",
            )
        )
    return tuple(episodes)
