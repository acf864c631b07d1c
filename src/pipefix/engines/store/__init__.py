"""pipefix's own state, kept in the warehouse beside the data: contracts and adapters with their
versions, batches, quarantine, goals, audit trail, knowledge and step records.

A package of one module per concern; callers keep `from pipefix.engines import store` and
`store.name(...)`: every public name is re-exported here.

- schema: the pipefix.* tables' DDL, their creation and upgrade, the batch key
- contracts: contracts and adapters, their versions, table states (what rollback restores)
- batches: batches and quarantine, files read, row accounting
- steps: goals, step records, audit trail, action ledger, step journal
- memory: knowledge, settings, the agent's state between runs
- escalation: decisions a policy leaves to a person, alerts
- timeline: the history a person reads, gathered from the tables above

Append-only where it records history; nothing here deletes a row.
"""

from __future__ import annotations

from pipefix.engines.store.batches import (
    changed_file_text,
    files_read,
    first_drift_step,
    grown_and_rewritten,
    open_quarantine_reasons,
    record_batch,
    resent_batches,
    row_accounting,
)
from pipefix.engines.store.contracts import (
    activate_contract,
    active_adapter,
    active_contract,
    active_contracts,
    adapter_versions,
    adopted,
    contract_version,
    contract_version_with_adapter,
    contract_versions,
    deactivate_adapter,
    latest_adapter_version,
    latest_contract_version,
    record_table_state,
    save_adapter,
    save_contract,
    state_before,
    table_state,
)
from pipefix.engines.store.escalation import (
    alert_recorded,
    decide,
    decisions,
    find_decision,
    open_decision,
    record_alert,
)
from pipefix.engines.store.memory import (
    fixes_used,
    get_setting,
    knowledge,
    load_agent_state,
    put_setting,
    recall,
    recall_latest,
    remember,
    save_agent_state,
)
from pipefix.engines.store.schema import (
    ADOPTED_CAUSE,
    BATCH_COLUMNS,
    BATCH_KEY,
    SCHEMA,
    ensure_batch_key,
    ensure_schema,
    file_of,
    has_schema,
)
from pipefix.engines.store.steps import (
    all_steps,
    audit,
    audit_trail,
    fail_ledger_entry,
    goals,
    latest_goal,
    ledger_entry,
    ledger_of_step,
    load_journal,
    recent_steps,
    record_ledger,
    save_goal,
    save_journal,
    save_step,
)
from pipefix.engines.store.timeline import csv_dialect_entries, history, resent_and_edit_entries

__all__ = [
    "ADOPTED_CAUSE",
    "BATCH_COLUMNS",
    "BATCH_KEY",
    "SCHEMA",
    "activate_contract",
    "active_adapter",
    "active_contract",
    "active_contracts",
    "adapter_versions",
    "adopted",
    "alert_recorded",
    "all_steps",
    "audit",
    "audit_trail",
    "changed_file_text",
    "contract_version",
    "contract_version_with_adapter",
    "contract_versions",
    "csv_dialect_entries",
    "deactivate_adapter",
    "decide",
    "decisions",
    "ensure_batch_key",
    "ensure_schema",
    "fail_ledger_entry",
    "file_of",
    "files_read",
    "find_decision",
    "first_drift_step",
    "fixes_used",
    "get_setting",
    "goals",
    "grown_and_rewritten",
    "has_schema",
    "history",
    "knowledge",
    "latest_adapter_version",
    "latest_contract_version",
    "latest_goal",
    "ledger_entry",
    "ledger_of_step",
    "load_agent_state",
    "load_journal",
    "open_decision",
    "open_quarantine_reasons",
    "put_setting",
    "recall",
    "recall_latest",
    "recent_steps",
    "record_alert",
    "record_batch",
    "record_ledger",
    "record_table_state",
    "remember",
    "resent_and_edit_entries",
    "resent_batches",
    "row_accounting",
    "save_adapter",
    "save_agent_state",
    "save_contract",
    "save_goal",
    "save_journal",
    "save_step",
    "state_before",
    "table_state",
]
