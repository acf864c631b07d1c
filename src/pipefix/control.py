"""The user in control: see the rows held, replay them after a fix, roll a table's contract back,
take an adapter's transform out. Each is a person's action, audited as theirs (`pipefix history`
shows it), and none of them loses a row: received = loaded + held before and after.

`Pipeline` (api.py) and `pipefix quarantine | replay | rollback | adapters` (cli/control.py) are
thin shells over these functions. Actions go through the agent's own tools (`retry_failed`,
`rollback`) so a person and the agent change a pipeline the same way.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pipefix.engines import quarantine, replays, store
from pipefix.engines.base import Engine
from pipefix.engines.quarantine import HeldGroup
from pipefix.errors import PipefixError
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import FixRejected
from pipefix.tools.remove_adapter import apply_remove_adapter, plan_remove_adapter
from pipefix.tools.retry_failed import apply_retry_failed
from pipefix.tools.rollback import apply_rollback

KINDS = ("schema", "value", "malformed")


class UnknownTarget(PipefixError):
    """A table, contract version, adapter or column the pipeline does not have: nothing was done
    (bad usage: exit 2)."""


class ActionRefused(PipefixError):
    """The action would not keep every row accounted for; nothing of it stays applied (exit 1)."""


def who(channel: str) -> str:
    """Who asked, for the audit trail: the login name when the system knows one."""
    try:
        return f"{getpass.getuser()} via {channel}"
    except (OSError, KeyError, ImportError):  # a container user without a name
        return channel


def last_step(engine: Engine) -> int:
    """A person acts between steps: their action is recorded after the last step that ran."""
    steps = store.recent_steps(engine, 1)
    return steps[-1].step if steps else 0


def _known(ctx: PipelineContext, table: str) -> None:
    if table not in ctx.source_tables:
        raise UnknownTarget(f"no table {table!r} in this pipeline (tables: {', '.join(ctx.source_tables)})")


def _audit_user(
    engine: Engine, step: int, command: str, target: str, detail: str, by: str, facts: dict[str, Any]
) -> None:
    store.audit(
        engine,
        step,
        "user",
        {
            "command": command,
            "target": target,
            "detail": detail,
            "by": by,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            **facts,
        },
    )


def _accounted(engine: Engine, table: str, action: str) -> dict[str, int]:
    """The table's row accounting; raises (rolling the caller's transaction back) unless whole."""
    rows = store.row_accounting(engine, (table,))
    if rows["lost"] != 0 or rows["duplicated"] != 0:
        raise FixRejected(
            f"post-check: {action} would lose {rows['lost']} and double {rows['duplicated']} rows"
        )
    return rows


# --- quarantine: what waits, and why -----------------------------------------------------------


@dataclass(frozen=True)
class HeldView:
    tables: tuple[str, ...]
    groups: tuple[HeldGroup, ...]

    @property
    def held(self) -> int:
        return sum(g.rows for g in self.groups)

    def per_table(self) -> dict[str, dict[str, int]]:
        counts = {t: dict.fromkeys(("held", *KINDS), 0) for t in self.tables}
        for group in self.groups:
            counts[group.table]["held"] += group.rows
            counts[group.table][group.kind] = counts[group.table].get(group.kind, 0) + group.rows
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {"held": self.held, "tables": self.per_table(), "groups": [asdict(g) for g in self.groups]}


def held(ctx: PipelineContext, table: str | None = None, samples: int = 3) -> HeldView:
    """Rows still held (never replayed), grouped by table, kind and reason, with samples. Read-only."""
    if table is not None:
        _known(ctx, table)
    tables = (table,) if table is not None else ctx.source_tables
    return HeldView(tables, tuple(quarantine.open_groups(ctx.engine, tables, samples)))


# --- replay -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    table: str
    replayed: int
    still_held: dict[str, int]  # per kind
    contract_version: int
    detail: str
    rows: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"still_held_total": sum(self.still_held.values())}


def replay(ctx: PipelineContext, table: str, by: str) -> ReplayResult:
    """Judge the table's held rows again against its active contract and adapter, and load those
    that fit now: the agent's `retry_failed`, with the person's audit record in its transaction."""
    _known(ctx, table)
    engine = ctx.engine
    step = last_step(engine)
    try:
        with engine.transaction():
            detail, replayed = apply_retry_failed(ctx, table, step)
            rows = _accounted(engine, table, "the replay")
            still = quarantine.open_kinds(engine, table)
            facts = {"replayed": replayed, "still_held": sum(still.values())}
            _audit_user(engine, step, "replay", table, detail, by, facts)
    except FixRejected as error:
        raise ActionRefused(f"replay of {table} refused, nothing changed: {error}") from error
    version = store.active_contract(engine, table).version
    return ReplayResult(table, replayed, still, version, detail, rows)


# --- rollback ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackResult:
    table: str
    from_version: int
    to_version: int
    detail: str
    rows: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rollback(ctx: PipelineContext, table: str, version: int, by: str) -> RollbackResult:
    """Restore the table's contract and adapter to what they were at an earlier contract version,
    through the agent's `rollback` tool: columns added since are dropped only while empty, a
    column holding values stays, and every loaded or held row stays where it is."""
    _known(ctx, table)
    engine = ctx.engine
    current = store.active_contract(engine, table)
    versions = store.contract_versions(engine, table)
    had = ", ".join(f"v{v}.0" for v in versions)
    if version not in versions:
        raise UnknownTarget(f"{table} never had contract version {version} (it had {had})")
    if version >= current.version:
        raise UnknownTarget(f"{table} is at {current.label}: roll back to an earlier version (it had {had})")
    step = last_step(engine)
    try:
        with engine.transaction():
            detail = apply_rollback(ctx, table, version, step)
            rows = _accounted(engine, table, "the rollback")
            facts = {"from_version": current.version, "to_version": version}
            _audit_user(engine, step, "rollback", table, detail, by, facts)
    except FixRejected as error:
        raise ActionRefused(f"rollback of {table} refused, nothing changed: {error}") from error
    return RollbackResult(table, current.version, version, detail, rows)


# --- adapters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveTransform:
    """One transform of a table's active adapter, and since when it has been in force."""

    table: str
    column: str
    kind: str
    source: str
    adapter_version: int
    since_adapter_version: int
    since_step: int
    since_contract_version: int | None
    described: str = ""  # as `pipefix adapters` shows it: `status <- value_map(status: OPEN→open)`

    @property
    def id(self) -> str:
        return f"{self.table}.{self.column}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"id": self.id}


def adapters(ctx: PipelineContext, table: str | None = None) -> list[ActiveTransform]:
    """The transforms of every active adapter (of `table` only, if given). Read-only."""
    if table is not None:
        _known(ctx, table)
    found = []
    for name in (table,) if table is not None else ctx.source_tables:
        active = store.active_adapter(ctx.engine, name)
        if active is None:
            continue
        history = {v: (step, a) for v, step, a in store.adapter_versions(ctx.engine, name)}
        for transform in active.transforms:
            since = active.version
            while since - 1 in history and transform in history[since - 1][1].transforms:
                since -= 1
            found.append(
                ActiveTransform(
                    name,
                    transform.column,
                    str(transform.kind),
                    transform.source,
                    active.version,
                    since,
                    history[since][0],
                    store.contract_version_with_adapter(ctx.engine, name, since),
                    transform.describe(),
                )
            )
    return found


@dataclass(frozen=True)
class AdapterRemoval:
    table: str
    column: str
    removed: str
    from_adapter_version: int
    adapter_version: int | None  # the table's adapter now; None when none is left
    inverse: str
    would_load: int  # held rows that fit now: `pipefix replay` loads them
    detail: str
    rows: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def remove_adapter(ctx: PipelineContext, table: str, column: str, by: str) -> AdapterRemoval:
    """Take `column`'s transform out of the table's active adapter. The table is not touched, so
    rows loaded through the transform stay loaded; the next records are read without it."""
    _known(ctx, table)
    engine = ctx.engine
    current = store.active_adapter(engine, table)
    if current is None or not current.transforms:
        raise UnknownTarget(f"{table} has no active adapter")
    try:
        plan = plan_remove_adapter(current, column, store.latest_adapter_version(engine, table) + 1)
    except LookupError as error:
        raise UnknownTarget(str(error)) from error
    step = last_step(engine)
    try:
        with engine.transaction():
            detail = apply_remove_adapter(ctx, plan, step)
            rows = _accounted(engine, table, "removing the adapter")
            facts = {"removed": plan.removed.describe(), "inverse": plan.inverse}
            _audit_user(engine, step, "adapters remove", table, detail, by, facts)
    except FixRejected as error:
        raise ActionRefused(f"removing the adapter of {table} refused, nothing changed: {error}") from error
    would_load = replays.trial_replay(engine, store.active_contract(engine, table), plan.after)[0]
    return AdapterRemoval(
        table,
        column,
        plan.removed.describe(),
        current.version,
        plan.after.version if plan.after else None,
        plan.inverse,
        would_load,
        detail,
        rows,
    )


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
