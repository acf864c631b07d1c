"""The offline, deterministic planner, goal reviser and constraint evolver.

Each returns the same structured shape an LLM would (a Plan, a revised Goal, constraint
changes), built only from measured evidence in the view.
"""

from __future__ import annotations

from dataclasses import replace

from pipefix.domain.actions import Action, FixType, Plan, Tool
from pipefix.domain.constraints import Constraint, ConstraintChange, ConstraintKind
from pipefix.domain.goals import Criterion
from pipefix.domain.records import ROWS_WAITING_NEW_TABLES, Revision, StepRecord
from pipefix.pipeline.conversions import awaits_values
from pipefix.pipeline.policy import adapter_fixes, migration_fixes
from pipefix.planners.view import PlanningView

_migratable = migration_fixes
_adaptable = adapter_fixes


def tables_needing_repair(view: PlanningView) -> tuple[str, ...]:
    """Tables with new drift, rows held for their shape, or held rows a diagnosis of the current
    contract says a fix would let in (a new allowed value holds rows as bad values)."""
    needing = []
    for t in view.metrics.tables:
        diagnosis = view.diagnoses.get(t.table)
        fixable_held = (
            diagnosis is not None
            and diagnosis.contract_version == t.contract_version
            and not _answered_by_adapter(view, t.table)
            and t.quarantine_open > 0
            and any(_migratable(d) or _adaptable(d) for d in diagnosis.drifts)
        )
        if t.drift or t.quarantine_schema_open > 0 or fixable_held:
            needing.append(t.table)
    return tuple(needing)


def _answered_by_adapter(view: PlanningView, table: str) -> bool:
    """An adapter was saved since the table's diagnosis: it answered that diagnosis, and rows it
    leaves held (for their values) are no reason to plan from it again. A new diagnosis is made
    under the active adapter, and is planned from as any."""
    diagnosis = view.diagnoses.get(table)
    health = view.metrics.table(table)
    if diagnosis is None or diagnosis.adapter_version is None or health is None:
        return False
    return health.adapter_version > diagnosis.adapter_version


def _failed_recently(view: PlanningView, action: Action, steps: int = 2) -> bool:
    return any(r.action == action and not r.ok for r in view.recent_results(steps))


class RulesPlanner:
    name = "rules"

    def plan(self, view: PlanningView) -> Plan:
        """The repair of the pipeline's tables, and the adoption of each new table's folder that
        has a proposed contract (the policy `add_table` decides whether it runs now)."""
        base = self._plan_tables(view)
        adopt = [
            action
            for t in view.metrics.new_tables
            if t.problem is None
            and not _failed_recently(view, action := Action(Tool.APPLY_FIX, t.table, FixType.ADD_TABLE))
        ]
        if not adopt:
            return base
        kept = tuple(a for a in base.actions if a.tool is not Tool.CHECK_HEALTH)
        seen = "; ".join(str(t) for t in view.metrics.new_tables if t.problem is None)
        reasoning = f"{seen}: add each at the contract inferred from its files, then load them"
        return Plan(
            actions=(*kept, *adopt),
            reasoning=f"{base.reasoning}; {reasoning}" if kept else reasoning,
            hypotheses=(*base.hypotheses, *(f"{a.target} is a new table of the producer" for a in adopt)),
            expected_outcome="every record waiting in a new table's folder loads exactly once",
            confidence=min(base.confidence, 0.8) if kept else 0.8,
        )

    def _plan_tables(self, view: PlanningView) -> Plan:
        regressed = _regressed_after_change(view)
        if regressed is not None:
            table, version = regressed
            return Plan(
                actions=(Action(Tool.ROLLBACK, table, version=version),),
                reasoning=f"{table} rejects more rows since its contract changed: restore v{version}.0",
                hypotheses=(f"the last change to {table} was wrong",),
                expected_outcome=f"{table} accepts at least as many rows as before the change",
                confidence=0.6,
            )
        broken = tables_needing_repair(view)
        if broken:
            return self._repair(view, broken)
        if view.metrics.throughput_ratio < 0.9 and view.backlog_files > 0:
            return Plan(
                actions=(Action(Tool.APPLY_FIX, "pipeline", FixType.INCREASE_THROUGHPUT),),
                reasoning=f"throughput at {view.metrics.throughput_ratio:.0%} of baseline with "
                f"{view.backlog_files} batch files waiting: raise loader capacity",
                hypotheses=("the loader is the bottleneck, not the producer",),
                expected_outcome="the backlog drains and throughput returns above 90%",
                confidence=0.7,
            )
        tables = view.metrics.tables
        component = tables[(view.step - 1) % len(tables)].table if tables else "pipeline"
        return Plan(
            actions=(Action(Tool.CHECK_HEALTH, component),),
            reasoning="all goal criteria hold; routine health check of the next component",
            expected_outcome="no change",
            confidence=0.95,
        )

    def _repair(self, view: PlanningView, broken: tuple[str, ...]) -> Plan:
        undiagnosed = [t for t in broken if _needs_diagnosis(view, t)]
        if undiagnosed:
            return Plan(
                actions=tuple(Action(Tool.RUN_DIAGNOSTIC, t) for t in undiagnosed),
                reasoning=f"rows of {', '.join(undiagnosed)} are rejected for their shape; "
                "compare what the producer sends with the contract before changing anything",
                hypotheses=tuple(f"upstream schema of {t} changed" for t in undiagnosed),
                expected_outcome="a diagnosis naming each added, removed or retyped column",
                confidence=0.9,
            )
        actions: list[Action] = []
        hypotheses: list[str] = []
        unfixable: list[str] = []
        for table in broken:
            diagnosis = view.diagnoses[table]
            drifts = diagnosis.drifts
            fixes = []
            # A fix whose replay released none of these rows before is not tried again on them.
            if any(_migratable(d) for d in drifts) and not diagnosis.has_failed(FixType.SCHEMA_MIGRATION):
                fixes.append(Action(Tool.APPLY_FIX, table, FixType.SCHEMA_MIGRATION))
            if (
                any(_adaptable(d) for d in drifts)
                and not diagnosis.has_failed(FixType.ADD_ADAPTER)
                and not _answered_by_adapter(view, table)
            ):
                fixes.append(Action(Tool.APPLY_FIX, table, FixType.ADD_ADAPTER))
            if not fixes:
                # Nothing lossless to do: the rows stay held for a person, not retried forever.
                unfixable += [str(d) for d in drifts] or [f"{table}: rows held, no drift found"]
                unfixable += list(diagnosis.learned)
                continue
            actions += [*fixes, Action(Tool.APPLY_FIX, table, FixType.RETRY_FAILED)]
            hypotheses += [str(d) for d in drifts]
        actions = [a for a in actions if not _failed_recently(view, a)]
        if not actions and unfixable:
            return Plan(
                actions=(Action(Tool.CHECK_HEALTH, broken[0]),),
                reasoning="no lossless repair exists for: " + "; ".join(unfixable) + " — rows stay held",
                confidence=0.5,
            )
        if not actions:
            return Plan(
                actions=(Action(Tool.RUN_DIAGNOSTIC, broken[0]),),
                reasoning="the fixes this diagnosis suggests failed recently; look again",
                confidence=0.4,
            )
        return Plan(
            actions=tuple(actions),
            reasoning="migrate what can be added losslessly, adapt what changed type, "
            "then replay the held rows through the new contract",
            hypotheses=tuple(hypotheses),
            expected_outcome="new batches load; every held row of these tables is replayed",
            confidence=0.85,
        )


def _needs_diagnosis(view: PlanningView, table: str) -> bool:
    """No diagnosis under the current contract, or the step shows drift it does not explain."""
    diagnosis = view.diagnoses.get(table)
    health = view.metrics.table(table)
    if diagnosis is None or diagnosis.contract_version != _version(view, table):
        return True
    if health is None:
        return False
    # Rows held this step, while rows wait for their shape and it found nothing (they came after
    # it: a conversion applied since may leave values it cannot read) or values read two ways
    # (a new one may decide): looked at again.
    new = health.quarantined > 0 and health.quarantine_schema_open > 0
    if new and (not diagnosis.drifts or any(awaits_values(d.hint) for d in diagnosis.drifts)):
        return True
    return not set(health.drift) <= diagnosis.covers()


def _regressed_after_change(view: PlanningView) -> tuple[str, int] | None:
    """A table whose contract changed last step and which now rejects more rows than before."""
    if not view.history:
        return None
    # The last step's record was measured before its own fixes ran: it is the "before".
    before = view.history[-1].metrics
    for now in view.metrics.tables:
        then = before.table(now.table)
        if then is None or now.received == 0 or then.received == 0:
            continue
        if (
            now.contract_version > then.contract_version
            and now.quarantined / now.received > then.quarantined / then.received
        ):
            return now.table, then.contract_version
    return None


def _version(view: PlanningView, table: str) -> int:
    health = view.metrics.table(table)
    return health.contract_version if health else 0


class RulesReviser:
    """Revises the goal once per drift episode, when the score falls to the threshold."""

    name = "rules"

    def revise(self, view: PlanningView, threshold: float) -> Revision | None:
        adopted = _adopt_new_tables(view)
        if adopted is not None:
            return adopted
        if view.evaluation.score > threshold:
            return None
        focus = tuple(t for t in tables_needing_repair(view) if t not in ("pipeline",))
        unmet = [str(r.criterion) for r in view.evaluation.unmet]
        evidence = {
            "unmet": unmet,
            "drift": [f"{t.table}: {', '.join(t.drift)}" for t in view.metrics.tables if t.drift],
            "failing_checks": [f"{t.table}.{c}" for t in view.metrics.tables for c in t.failing],
        }
        base = tuple(c for c in view.goal.criteria if "." not in c.metric)
        if focus:
            versions = {t: _version(view, t) + 1 for t in focus}
            labels = sorted({f"v{v}.0" for v in versions.values()})
            description = (
                f"Adapt {' and '.join(focus)} to schema {'/'.join(labels)} with backward "
                "compatibility, keeping every row"
            )
            criteria = base + tuple(
                criterion
                for t in focus
                for criterion in (
                    Criterion(f"contract_version.{t}", ">=", versions[t], scale=1),
                    Criterion(f"drifted_rows_open.{t}", "<=", 0, scale=1000),
                    Criterion(f"original_columns_kept.{t}", ">=", 1, scale=1),
                )
            )
        else:
            description = "Restore pipeline health: " + ", ".join(evidence["failing_checks"][:4])
            criteria = base
        # New tables the goal already adopts stay in it: their records still wait for a person.
        adopting = tuple(t.table for t in view.metrics.new_tables if t.table in view.goal.focus_tables)
        if adopting:
            description += f"; also adopt table {' and '.join(adopting)}"
        goal = view.goal.revised(description, criteria, (*focus, *adopting))
        reason = f"score {view.evaluation.score:.2f} <= {threshold:.2f}; unmet: {', '.join(unmet)}"
        return Revision(view.step, reason, view.goal, goal, evidence)


def _adopt_new_tables(view: PlanningView) -> Revision | None:
    """A folder of a table no contract names, with a proposed contract, not in the goal yet: the
    goal becomes "also adopt table X", met once no record waits in such a folder."""
    new = [
        t.table
        for t in view.metrics.new_tables
        if t.problem is None and t.table not in view.goal.focus_tables
    ]
    if not new:
        return None
    waiting = Criterion(ROWS_WAITING_NEW_TABLES, "<=", 0, scale=1000)
    criteria = view.goal.criteria + (() if waiting in view.goal.criteria else (waiting,))
    description = f"{view.goal.description}; also adopt table {' and '.join(new)}"
    goal = view.goal.revised(description, criteria, (*view.goal.focus_tables, *new))
    records = sum(t.records for t in view.metrics.new_tables if t.table in new)
    reason = f"new table {', '.join(new)} in landing/: {records:,} records wait for a table"
    evidence = {"new_tables": [str(t) for t in view.metrics.new_tables if t.table in new]}
    return Revision(view.step, reason, view.goal, goal, evidence)


class RulesEvolver:
    """Every few steps, turns the violations actually observed into enforced constraints."""

    name = "rules"

    def evolve(
        self, step: int, window: tuple[StepRecord, ...], active: tuple[Constraint, ...]
    ) -> tuple[ConstraintChange, ...]:
        changes: list[ConstraintChange] = []
        schema_broken = frozenset(
            t.table for r in window for t in r.metrics.tables if not t.checks.get("schema", True)
        )
        held = frozenset(
            t.table for r in window for t in r.metrics.tables if not t.checks.get("rejected_rows", True)
        )
        failed = frozenset(
            res.action.target for r in window for res in r.results if not res.ok and res.action.is_fix
        )
        changes += _scoped(
            step,
            active,
            ConstraintKind.SHADOW_VALIDATION,
            schema_broken,
            "schema changes must be validated on a shadow copy before deployment",
            "schema validation failed",
        )
        changes += _scoped(
            step,
            active,
            ConstraintKind.REPLAY_AFTER_CHANGE,
            held,
            "every contract change must be followed by a replay of the held rows",
            "rows were held in quarantine",
        )
        for table in sorted(failed):
            if not any(
                c.kind is ConstraintKind.COOLDOWN and table in c.tables and c.limit >= step for c in active
            ):
                cooldown = Constraint(
                    ConstraintKind.COOLDOWN,
                    f"no new fix on {table} until step {step + 3} after a failed fix",
                    frozenset({table}),
                    limit=step + 3,
                    origin=f"evolved at step {step}",
                )
                changes.append(ConstraintChange(step, "add", cooldown, f"a fix on {table} failed"))
        for constraint in active:
            if constraint.kind is ConstraintKind.COOLDOWN and constraint.limit < step:
                changes.append(ConstraintChange(step, "remove", constraint, "cooldown elapsed"))
        return tuple(changes)


def _scoped(
    step: int,
    active: tuple[Constraint, ...],
    kind: ConstraintKind,
    tables: frozenset[str],
    description: str,
    observed: str,
) -> list[ConstraintChange]:
    if not tables:
        return []
    existing = next((c for c in active if c.kind is kind), None)
    if existing is None:
        new = Constraint(kind, description, tables, origin=f"evolved at step {step}")
        return [ConstraintChange(step, "add", new, f"{observed} on {', '.join(sorted(tables))}")]
    if tables <= existing.tables:
        return []
    widened = replace(existing, tables=existing.tables | tables)
    added = ", ".join(sorted(tables - existing.tables))
    return [ConstraintChange(step, "modify", widened, f"{observed} on {added} too")]
