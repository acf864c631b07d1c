"""Drifts weighed against the evidence a diagnosis gathers: removed and added columns paired
into renames by their confidence (pipeline/renames.py weighs it), retyped columns split by the
conversion their held values read under (engines/conversions.py tries them). Pure."""

from __future__ import annotations

from pipefix.pipeline import contracts, conversions
from pipefix.pipeline.contracts import Adapter, Contract, type_family
from pipefix.pipeline.drift import RENAME_ASK, Drift, DriftKind
from pipefix.pipeline.observed_types import DECIMAL_FITS, logical_type_of


def rename_candidates(
    contract: Contract, drifts: tuple[Drift, ...], total_rows: int
) -> list[tuple[Drift, Drift]]:
    """(removed, added) pairs of the same kind of type: renames, if the evidence says so
    (pipeline/renames.py weighs it).

    Only a column gone from every one of the `total_rows` records counts. A required column is
    reported removed when some records lack it, and a record that sends it beside the added
    column shows it was not renamed to that column: mapped by an adapter, the record's own
    value would be replaced by the added column's.
    """
    removed = [d for d in drifts if d.kind is DriftKind.REMOVED and d.rows >= total_rows]
    added = [d for d in drifts if d.kind is DriftKind.ADDED and d.observed is not None]
    pairs = []
    for gone in removed:
        spec = contract.column(gone.column)
        for new in added:
            if (
                spec is not None
                and new.observed is not None
                and type_family(spec.type) == type_family(new.observed)
            ):
                pairs.append((gone, new))
    return pairs


def with_renames(drifts: tuple[Drift, ...], confidences: dict[tuple[str, str], float]) -> tuple[Drift, ...]:
    """Replace each (removed, added) pair whose confidence reaches RENAME_ASK by one rename (the
    most confident first; below RENAME_CONFIDENCE its fix waits for a person); pairs below it
    stay a removal plus an addition."""
    best: dict[str, tuple[str, float]] = {}
    for (old, new), sure in sorted(confidences.items(), key=lambda item: -item[1]):
        taken = {n for n, _ in best.values()}
        if sure >= RENAME_ASK and old not in best and new not in taken:
            best[old] = (new, sure)
    if not best:
        return drifts
    renamed_to = {new for new, _ in best.values()}
    kept = [
        d
        for d in drifts
        if not (d.kind is DriftKind.REMOVED and d.column in best)
        and not (d.kind is DriftKind.ADDED and d.column in renamed_to)
    ]
    rows = {d.column: d.rows for d in drifts if d.kind is DriftKind.ADDED}
    # The field as sent, when its name is not the column's: what the adapter reads.
    sources = {d.column: d.source for d in drifts if d.kind is DriftKind.ADDED}
    renames = [
        Drift(
            DriftKind.RENAMED,
            drifts[0].table,
            old,
            observed=new,
            rows=rows.get(new, 0),
            confidence=round(sure, 3),
            source=sources.get(new),
        )
        for old, (new, sure) in best.items()
    ]
    return (*renames, *kept)


def with_conversions(
    contract: Contract,
    adapter: Adapter | None,
    drifts: tuple[Drift, ...],
    held: tuple[conversions.HeldValues, ...],
) -> tuple[Drift, ...]:
    """The retyped columns as their held values show them, each value tried under every
    conversion (engines/conversions.py): a conversion for the rows it reads exactly, a variant
    for the others (hint "variant"), or why none is chosen ("ambiguous: ..."). A column whose
    held numbers a lossless widening repairs is left to it; one whose adapter already converts
    gets no second conversion (its values would flip between the two), only a variant."""
    found: dict[str, list[Drift]] = {}
    for values in held:
        spec = contract.column(values.column)
        if spec is None or values.rows == 0:
            continue
        variant = conversions.may_have_variant(contract, spec.name)
        options = conversions.candidates(spec.type)
        retyped = [d for d in drifts if d.kind is DriftKind.RETYPED and d.column == spec.name]
        widened = any(contracts.is_lossless_widening(spec.type, d.observed or "") for d in retyped)
        if (not options and not variant) or (widened and values.json_types <= DECIMAL_FITS):
            continue
        observed = retyped[0].observed if retyped else logical_type_of(values.json_types)
        transform = adapter.transform_for(spec.name) if adapter else None
        if transform is not None and transform.kind is not contracts.TransformKind.RENAME:
            options = ()
        choice = conversions.choose(values.groups, options)
        changes: list[tuple[int, str | None]] = []
        if choice.conversion is not None:
            changes.append((choice.rows, choice.conversion))
        if values.rows > choice.rows:
            hint = choice.ambiguity or (conversions.VARIANT if variant else None)
            changes.append((values.rows - choice.rows, hint))
        found[spec.name] = [
            Drift(DriftKind.RETYPED, contract.table, spec.name, spec.type, observed, rows, hint)
            for rows, hint in changes
        ]
    kept = [d for d in drifts if not (d.kind is DriftKind.RETYPED and d.column in found)]
    return (*kept, *(d for changes in found.values() for d in changes))
