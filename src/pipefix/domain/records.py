"""What the agent saw, decided and did at each step: the audit log and the run's memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipefix.domain.actions import ActionResult, Plan
from pipefix.domain.constraints import Constraint, ConstraintChange, Refusal
from pipefix.domain.goals import Evaluation, Goal


@dataclass(frozen=True)
class Resent:
    """A batch file re-sent under a new name with bytes already loaded: recorded, not loaded."""

    file: str  # `orders/b.jsonl`
    lines: int
    first: str  # the file that loaded these bytes, `orders/a.jsonl`


# Records in the folder of a table no contract names: they wait for a person, not for a repair.
ROWS_WAITING_NEW_TABLES = "rows_waiting_new_tables"


@dataclass(frozen=True)
class FileNote:
    """A landed file a step did not simply load: still being written (`writing`), waiting for its
    folder's `_SUCCESS` (`marker`), grown after it was loaded (`appended`: its new lines loaded)
    or rewritten in place (`rewritten`: not loaded again)."""

    file: str  # `orders/b1.jsonl`
    kind: str
    text: str  # what happened, for a person


@dataclass(frozen=True)
class NewTable:
    """A folder in landing/ for a table no contract names: drift of the pipeline itself. Its
    records wait (counted) until the table is added: `proposed` is the contract inferred from its
    files, or `problem` says why none could be."""

    table: str
    files: int
    records: int
    proposed: str = ""  # `refund_id bigint not null (key), amount decimal(4,2), ...`
    problem: str | None = None

    def __str__(self) -> str:
        return f"new table {self.table}: {self.files} file(s), {self.records:,} records"


@dataclass(frozen=True)
class TableHealth:
    table: str
    checks: dict[str, bool]
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    quarantine_open: int = 0
    quarantine_schema_open: int = 0  # rows held back by shape, not by bad values
    received_total: int = 0  # rows judged over the table's whole life (loaded + held, ever)
    contract_version: int = 1
    adapter_version: int = 0  # the active adapter's version; 0: none
    original_columns_kept: bool = True  # backward compatibility: v1 readers still work
    drift: tuple[str, ...] = ()
    resent: tuple[Resent, ...] = ()  # files re-sent this step: counted apart from `received`

    @property
    def passed(self) -> int:
        return sum(self.checks.values())

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(name for name, ok in self.checks.items() if not ok)

    @property
    def held_for_shape(self) -> int:
        """Rows waiting on a repair: their shape is not the contract's (drift)."""
        return self.quarantine_schema_open

    @property
    def held_for_value(self) -> int:
        """Rows held for the producer's values (or unreadable lines) under the contract."""
        return self.quarantine_open - self.quarantine_schema_open

    @property
    def held_share(self) -> float:
        """Rows still held, of all the rows the table ever received: a quiet step hides nothing."""
        return self.quarantine_open / self.received_total if self.received_total else 0.0


@dataclass(frozen=True)
class StepMetrics:
    step: int
    health: float
    error_rate: float
    throughput: float
    throughput_ratio: float
    schema_conformance: float
    received: int
    loaded: int
    quarantined: int
    tables: tuple[TableHealth, ...]
    held_for_shape: int = 0  # rows waiting on a repair, all tables
    max_held_share: float = 0.0  # the largest share of a table's rows still held
    new_tables: tuple[NewTable, ...] = ()  # folders of tables no contract names, and their records

    def table(self, name: str) -> TableHealth | None:
        return next((t for t in self.tables if t.table == name), None)

    def as_signals(self) -> dict[str, float]:
        """Flat metric names the goal's criteria refer to."""
        signals = {
            "health": self.health,
            "error_rate": self.error_rate,
            "throughput_ratio": self.throughput_ratio,
            "schema_conformance": self.schema_conformance,
            "rows_held_for_shape": float(self.held_for_shape),
            "max_held_share": self.max_held_share,
            ROWS_WAITING_NEW_TABLES: float(sum(t.records for t in self.new_tables)),
        }
        for table in self.tables:
            signals[f"quarantine_open.{table.table}"] = float(table.quarantine_open)
            signals[f"drifted_rows_open.{table.table}"] = float(table.quarantine_schema_open)
            signals[f"held_share.{table.table}"] = table.held_share
            signals[f"contract_version.{table.table}"] = float(table.contract_version)
            signals[f"schema.{table.table}"] = float(table.checks.get("schema", True))
            signals[f"original_columns_kept.{table.table}"] = float(table.original_columns_kept)
        return signals

    @property
    def drifted_tables(self) -> tuple[str, ...]:
        return tuple(t.table for t in self.tables if t.drift)


@dataclass(frozen=True)
class Revision:
    step: int
    reason: str
    from_goal: Goal
    to_goal: Goal
    evidence: dict[str, list[str]]


@dataclass(frozen=True)
class Waiting:
    """Rows of a table that no action of this step would release, and what would: said once,
    as a decision that stays open (and an alert) until the rows load."""

    table: str
    held_for_shape: int
    held_for_value: int
    reason: str  # why nothing ran: what the diagnosis found, or why the rows are held
    needs: str  # what a person can do about it
    decision_id: int


@dataclass(frozen=True)
class StepRecord:
    step: int
    metrics: StepMetrics
    evaluation: Evaluation
    goal_version: int
    revision: Revision | None = None
    plan: Plan | None = None
    refused: tuple[Refusal, ...] = ()
    amendments: tuple[str, ...] = ()
    results: tuple[ActionResult, ...] = field(default_factory=tuple)
    constraint_changes: tuple[ConstraintChange, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    files: tuple[FileNote, ...] = ()  # landed files not simply loaded this step, and why


@dataclass(frozen=True)
class StepJournal:
    """Everything a step decided before acting. Kept until the step completes, so that a step
    re-run after a crash acts on the same decision instead of deciding again on a warehouse
    its first attempt had already partly changed."""

    step: int
    metrics: StepMetrics
    evaluation: Evaluation
    goal: Goal
    revision: Revision | None
    changes: tuple[ConstraintChange, ...]
    constraints: tuple[Constraint, ...]
    episode_open: bool
    plan: Plan
    refused: tuple[Refusal, ...] = ()
    amendments: tuple[str, ...] = ()
