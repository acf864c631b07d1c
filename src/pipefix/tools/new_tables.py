"""A folder in landing/ for a table no contract names is drift of the pipeline itself: pipefix
proposes a contract for it, inferred from its files the way `pipefix init --from` infers one
(engines/samples.py reads them as the loader does, pipeline/infer.py guesses, a trial load
loosens what the samples would not pass), and adds the table under policy `add_table`
(auto | approve | block; `approve` by default: a new table is a new commitment).

Adding it is recorded as contract changes are (its contract v1 and a table_states row, cause
`add_table`), and the table joins the pipeline's tables in the warehouse (engines/added_tables.py),
since pipefix.yaml does not list it; the YAML a person can paste to own it is printed. Until then
its files are reported and their records counted as waiting. Nothing is ever dropped."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipefix.domain.actions import FixType
from pipefix.domain.records import NewTable
from pipefix.domain.serde import from_plain, to_plain
from pipefix.engines import added_tables, samples, store, table_shape
from pipefix.engines.sql.migration import CreateTable
from pipefix.pipeline import infer
from pipefix.pipeline.contracts import Adapter, ColumnTransform, Contract, TransformKind
from pipefix.pipeline.field_profiles import profile_fields
from pipefix.pipeline.landing_report import NO_CONTRACT, Reported
from pipefix.tools import adopt, ingest
from pipefix.tools.context import PipelineContext
from pipefix.tools.errors import RecoverableError

POLICY_KEY = "add_table"
DEFAULT_MODE = "approve"
ADD_TABLE = str(FixType.ADD_TABLE)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_TRIALS = 3  # guess, then loosen at most twice, as `pipefix init --from`


@dataclass(frozen=True)
class Proposal:
    """What pipefix proposes for a new table's folder, kept in the knowledge store."""

    table: str
    folder: str  # the folder under landing/ its files are in
    files: tuple[tuple[str, int], ...]  # (file under landing/, bytes): what it was inferred from
    records: int
    contract: Contract | None = None
    adapter: Adapter | None = None
    problem: str | None = None  # why no contract could be inferred

    @property
    def seen(self) -> NewTable:
        proposed = describe(self.contract) if self.contract is not None else ""
        return NewTable(self.table, len(self.files), self.records, proposed, self.problem)


def _key(table: str) -> str:
    return f"new_table.{table}"


def load(ctx: PipelineContext, table: str) -> Proposal | None:
    found = store.recall(ctx.engine, _key(table))
    return from_plain(Proposal, found) if found else None


def propose(
    ctx: PipelineContext, landing: Path, reported: Sequence[Reported], step: int
) -> tuple[NewTable, ...]:
    """The new tables among the reported files, each with its proposal: inferred again only when
    its files changed since."""
    by_folder: dict[str, list[Reported]] = {}
    for r in reported:
        if r.kind == NO_CONTRACT and r.folder is not None:
            by_folder.setdefault(r.folder, []).append(r)
    found = []
    for folder, files in sorted(by_folder.items()):
        signature = tuple(sorted((r.file, r.size_bytes) for r in files))
        proposal = load(ctx, folder)
        if proposal is None or proposal.files != signature:
            proposal = infer_proposal(landing, folder, signature, sum(r.records for r in files))
            store.remember(ctx.engine, step, _key(folder), to_plain(proposal))
        found.append(proposal.seen)
    return tuple(found)


def infer_proposal(landing: Path, folder: str, files: tuple[tuple[str, int], ...], records: int) -> Proposal:
    base = Proposal(folder, folder, files, records)
    if not _IDENTIFIER.match(folder) or folder.lower().startswith("pipefix"):
        return replace(
            base,
            problem=f"{folder}/ is no table name (letters, digits and underscores): rename the folder",
        )
    paths = [landing / file for file, _ in files]
    read = samples.read_samples(folder, paths)
    if not read.samples:
        why = f"no JSON record among its {read.records} record(s)"
        if read.unreadable:
            first = read.unreadable[0]
            why += f" (first: {first.file} line {first.line}: {first.reason})"
        return replace(base, problem=f"{why}: no contract can be inferred")
    guess = infer.infer_table(folder, profile_fields(read.samples, read.declared))
    contract, adapter = _contract(guess)
    for attempt in range(_TRIALS):
        trial = samples.trial_load([(contract, adapter, paths)])[folder]
        if not trial.held or attempt == _TRIALS - 1:
            break
        guess = infer.relax(guess, trial.held)
        contract, adapter = _contract(guess)
    return replace(base, contract=contract, adapter=adapter)


def _contract(guess: infer.TableGuess) -> tuple[Contract, Adapter | None]:
    """The contract and adapter pipefix.yaml would give the guess (config.contracts/adapters)."""
    contract = Contract(guess.table, 1, tuple(c.spec for c in guess.columns), key=guess.key)
    transforms = tuple(
        ColumnTransform(c.spec.name, TransformKind.RENAME, c.source) for c in guess.columns if c.source
    )
    return contract, Adapter(guess.table, 1, transforms) if transforms else None


def describe(contract: Contract) -> str:
    """`refund_id bigint not null (key), reason varchar in [damaged], ...`."""
    parts = []
    for c in contract.columns:
        text = f"{c.name} {c.type}" + ("" if c.nullable else " not null")
        text += f" in [{', '.join(c.values)}]" if c.values is not None else ""
        parts.append(text + (" (key)" if c.name == contract.key else ""))
    return ", ".join(parts)


def yaml_snippet(contract: Contract, adapter: Adapter | None) -> str:
    """The table as pipefix.yaml writes it: pasted under `tables:`, the config owns it."""
    sources = (
        {t.column: t.source for t in adapter.transforms if t.kind is TransformKind.RENAME} if adapter else {}
    )
    lines = ["tables:", f"  {contract.table}:"]
    if contract.key is not None:
        lines.append(f"    key: {contract.key}")
    lines.append("    columns:")
    for c in contract.columns:
        parts = [f"type: {json.dumps(c.type) if ',' in c.type else c.type}"]
        if not c.nullable:
            parts.append("nullable: false")
        for bound in ("min", "max"):
            if getattr(c, bound) is not None:
                parts.append(f"{bound}: {getattr(c, bound):g}")
        if c.values is not None:
            parts.append(f"values: [{', '.join(json.dumps(v) for v in c.values)}]")
        if sources.get(c.name):
            parts.append(f"source: {json.dumps(sources[c.name])}")
        lines.append(f"      {c.name}: {{{', '.join(parts)}}}")
    return "\n".join(lines) + "\n"


def gate(
    ctx: PipelineContext, policies: Mapping[str, str], auto_approve: bool, table: str, step: int
) -> str | None:
    """Why adding `table` is held back (policy `add_table`), or None: it may be added now. Under
    `approve`, a pending decision is stored once, showing the proposed contract."""
    proposal = load(ctx, table)
    if proposal is None or proposal.contract is None:
        why = proposal.problem if proposal is not None else "no files of it were seen"
        return f"no contract proposed for {table}: {why}"
    mode = policies.get(POLICY_KEY, DEFAULT_MODE)
    if mode == "block":
        return (
            f"blocked by policy {POLICY_KEY}: block; the files of {table}/ stay reported "
            f"(add tables.{table} to pipefix.yaml to load them)"
        )
    if mode != "approve":
        return None
    engine = ctx.engine
    what = f"{proposal.seen}; proposed contract: {describe(proposal.contract)}"
    found = store.find_decision(engine, table, ADD_TABLE, 0)
    shown = added_tables.proposal_shown(engine, found[0]) if found is not None else ""
    if found is not None and found[1] != "rejected" and not shown.endswith(describe(proposal.contract)):
        # The folder's files changed the proposal: an approval holds for the contract it showed.
        by = f"pipefix: landing/{table}/ changed; decision superseded by a new proposal"
        store.decide(engine, found[0], "superseded", by)
        found = None
    if found is None:
        found = (store.open_decision(engine, step, table, ADD_TABLE, 0, what, POLICY_KEY), "pending")
    decision_id, status = found
    if status == "pending" and auto_approve:
        store.decide(engine, decision_id, "approved", "pipefix run --approve")
        status = "approved"
    if status == "pending":
        return (
            f"waiting for approval (policy {POLICY_KEY}: approve): pipefix approve {decision_id} "
            f"or pipefix reject {decision_id}, or add tables.{table} to pipefix.yaml"
        )
    if status == "rejected":
        return f"rejected by a person (decision {decision_id}); the files of {table}/ stay reported"
    return None


def apply_add_table(ctx: PipelineContext, table: str, step: int) -> str:
    """Create the table at its proposed contract v1, recorded as a contract change, and make it a
    table of the pipeline; its files load after (tools/ingest.load_tables)."""
    proposal = load(ctx, table)
    if proposal is None or proposal.contract is None:
        raise RecoverableError(f"no contract proposed for {table}")
    if table in ctx.source_tables:
        return f"{table} is already a table of the pipeline"
    engine = ctx.engine
    if adopt.existing_columns(engine, table):
        raise RecoverableError(
            f"a table {table} already exists in the warehouse: add tables.{table} to pipefix.yaml "
            "and pipefix adopts it in place"
        )
    contract, adapter = proposal.contract, proposal.adapter
    note = (
        f"new table from landing/{proposal.folder}/: contract inferred from {len(proposal.files)} "
        f"file(s), {proposal.records} records"
    )
    with engine.transaction():
        table_shape.apply(engine, CreateTable.of(contract))
        ingest.record_first_contract(
            engine, contract, adapter, step, note, f"{note}; fields read under other names", ADD_TABLE
        )
        added_tables.add(engine, table, step, note)
        store.audit(
            engine,
            step,
            "table_added",
            {"table": table, "contract": describe(contract), "yaml": yaml_snippet(contract, adapter)},
        )
    ctx.source_tables = (*ctx.source_tables, table)
    return f"created {table} at contract v1.0 ({describe(contract)}); {note}"


def status(
    ctx: PipelineContext, reported: Sequence[Reported], policies: Mapping[str, str], configured: Sequence[str]
) -> list[dict[str, Any]]:
    """The run summary's `new_tables`: each folder waiting to become a table (its records, the
    proposal, the decision and what would help), and each table added but not in pipefix.yaml
    (with the YAML to paste)."""
    engine = ctx.engine
    mode = policies.get(POLICY_KEY, DEFAULT_MODE)
    folders: dict[str, list[Reported]] = {}
    for r in reported:
        if r.kind == NO_CONTRACT and r.folder is not None:
            folders.setdefault(r.folder, []).append(r)
    entries: list[dict[str, Any]] = []
    for table, files in sorted(folders.items()):
        records = sum(r.records for r in files)
        proposal = load(ctx, table)
        found = store.find_decision(engine, table, ADD_TABLE, 0)
        entry: dict[str, Any] = {
            "table": table,
            "files": len(files),
            "records": records,
            "policy": mode,
            "decision": found[0] if found else None,
            "contract": describe(proposal.contract) if proposal and proposal.contract else None,
            "yaml": yaml_snippet(proposal.contract, proposal.adapter)
            if proposal and proposal.contract
            else None,
            "problem": proposal.problem if proposal else None,
        }
        yaml_hint = f"add tables.{table} to pipefix.yaml"
        if proposal is None:
            entry |= {"status": "seen", "needs": f"the next pipefix run proposes a contract, or {yaml_hint}"}
        elif proposal.contract is None:
            entry |= {"status": "no contract inferred", "needs": f"{yaml_hint} ({proposal.problem})"}
        elif mode == "block":
            entry |= {"status": "blocked", "needs": f"policy {POLICY_KEY} is block: {yaml_hint} to load them"}
        elif found is not None and found[1] == "pending":
            entry |= {
                "status": "waiting for approval",
                "needs": f"pipefix approve {found[0]} adds {table} and loads its {records:,} records "
                f"(pipefix reject {found[0]} keeps them reported), or {yaml_hint}",
            }
        elif found is not None and found[1] == "rejected":
            entry |= {
                "status": "rejected",
                "needs": f"{yaml_hint} to load them (decision {found[0]} rejected)",
            }
        else:
            entry |= {"status": "proposed", "needs": f"the next pipefix run adds {table}"}
        entries.append(entry)
    for table in added_tables.added(engine):
        if table in configured:
            continue
        contract = store.active_contract(engine, table)
        entries.append(
            {
                "table": table,
                "status": "added",
                "contract": describe(contract),
                "yaml": yaml_snippet(contract, store.active_adapter(engine, table)),
                "needs": f"paste the YAML under tables: in pipefix.yaml to own {table}'s contract",
            }
        )
    return entries
