"""Per kind of change, what a person allows: auto (apply), approve (ask first) or block (never).

Which kinds of drift a fix addresses decides which policies apply to it; the strictest wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipefix.pipeline.contracts import is_lossless_widening
from pipefix.pipeline.conversions import VALUE_MAP, VARIANT, is_conversion
from pipefix.pipeline.drift import POLICY_KEYS, RENAME_CONFIDENCE, Drift, DriftKind

MODES = ("auto", "approve", "block")  # in order of strictness


def migration_fixes(drift: Drift) -> bool:
    """A lossless schema migration can take this drift: add, relax, widen, allow a value, keep
    values no conversion reads in a variant column."""
    if drift.kind is DriftKind.RETYPED and drift.hint == VARIANT:
        return True
    if drift.kind is DriftKind.ADDED:
        return drift.observed is not None  # None: no column type holds its values exactly
    if drift.kind in (DriftKind.REMOVED, DriftKind.NULLABLE, DriftKind.NEW_VALUE):
        return True
    return (
        drift.kind is DriftKind.RETYPED
        and drift.expected is not None
        and drift.observed is not None
        and is_lossless_widening(drift.expected, drift.observed)
    )


def adapter_fixes(drift: Drift) -> bool:
    """An adapter maps this drift onto the contract exactly: a rename, a lossless conversion
    (text, epoch numbers, another timestamp format: pipeline/conversions.py), values sent in
    another vocabulary (pipeline/vocabulary.py).

    A vocabulary change is a RETYPED drift: its policy key is `type_change`, as for the other
    conversions (the values' form changed, not the columns nor what they may hold)."""
    if drift.kind is DriftKind.RETYPED and drift.hint == VALUE_MAP:
        return bool(drift.mapping)
    return drift.kind is DriftKind.RENAMED or (drift.kind is DriftKind.RETYPED and is_conversion(drift.hint))


def is_confident(drift: Drift) -> bool:
    """Not a rename, or one sure enough to apply without asking."""
    return drift.kind is not DriftKind.RENAMED or (drift.confidence or 0.0) >= RENAME_CONFIDENCE


def addressed(fix_type: str, drifts: Iterable[Drift]) -> list[Drift]:
    test = {"schema_migration": migration_fixes, "add_adapter": adapter_fixes}.get(fix_type)
    return [d for d in drifts if test is not None and test(d)]


def policy_mode(
    fix_type: str, drifts: Iterable[Drift], policies: Mapping[str, str]
) -> tuple[str, str | None]:
    """(mode, the policy key that set it) for a contract-changing fix; ("auto", None) otherwise.
    A rename below RENAME_CONFIDENCE is never applied unasked: `auto` becomes `approve`."""
    mode, key = "auto", None
    for drift in addressed(fix_type, drifts):
        candidate_key = POLICY_KEYS[drift.kind]
        candidate = policies.get(candidate_key, "auto")
        if candidate == "auto" and not is_confident(drift):
            candidate = "approve"
        if MODES.index(candidate) > MODES.index(mode):
            mode, key = candidate, candidate_key
    return mode, key
