"""Values sent in another vocabulary: a mapping an adapter applies, decided on the held values. Pure.

A producer may keep a column's meaning and change its words: booleans sent as `yes`/`no`, `y`/`n`,
`1`/`0`, `on`/`off`, `t`/`f` or `"true"`/`"false"` (any case, spaces around), an enum's `open` sent
as `OPEN` or `" Open "`. Such a change is not a new type nor a new allowed value: an adapter maps
each text sent to the value stored (TransformKind.VALUE_MAP), the table and its contract stay as
they are, and the mapping, kept with the adapter version, says what was sent.

A mapping is guessed only when nothing else can be meant:
- booleans: every held value is a word of one and the same pair. `yes` beside `0`, or an unknown
  word (`maybe`), is not guessed: the rows stay held, with the values seen and the mapping a person
  would need to write.
- enums: each value sent folds (case and surrounding whitespace ignored) onto exactly one allowed
  value. One folding onto two (`Open` and `open` both allowed) is held with that reason; one
  folding onto none is a truly new value (drift.new_values: a migration may allow it).

Matching ignores case and surrounding whitespace in SQL too (engines/sql/conversions.py), so a
later spelling of a mapped word (`Yes` after `YES`) loads without a new diagnosis.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipefix.pipeline.contracts import Adapter, ColumnTransform, Contract, TransformKind
from pipefix.pipeline.conversions import NOT_GUESSED, VALUE_MAP
from pipefix.pipeline.drift import Drift, DriftKind

# What the judge's SQL trims too (engines/sql/conversions.py): ASCII whitespace, the same on both sides.
WHITESPACE = " \t\n\r\x0b\x0c"

# (true word, false word): each word belongs to one pair only, so a word says its pair.
BOOLEAN_PAIRS = (("yes", "no"), ("y", "n"), ("1", "0"), ("on", "off"), ("t", "f"), ("true", "false"))
_PAIR_OF = {word: pair for pair in BOOLEAN_PAIRS for word in pair}

# Confidence of a mapping. Every word of one pair seen, or an enum's case/space folding onto a
# single allowed value: nothing else can be meant (1.0). Only one side of a pair seen (`yes` and
# never `no`): the word still names its pair and its truth value in a boolean column, so it is
# mapped and applied, and the other side is mapped too (a later `no` loads); the confidence says
# the other spelling was not seen yet.
EXACT = 1.0
ONE_SIDE_SEEN = 0.9


def fold(text: str) -> str:
    """A text with case and surrounding whitespace ignored, as the judge's SQL folds it."""
    return text.strip(WHITESPACE).lower()


@dataclass(frozen=True)
class Decision:
    """What the held values of one column show: the mapping to apply (possibly empty), the
    evidence, and why some values are not mapped (None when all are)."""

    column: str
    mapping: tuple[tuple[str, str], ...]  # text sent -> text stored, sorted
    values: tuple[tuple[str, int], ...]  # held rows per text sent, sorted
    confidence: float
    why_not: str | None = None
    folded: frozenset[str] = frozenset()  # enum texts folding onto an allowed value (mapped or not)

    @property
    def rows(self) -> int:
        """Held rows the mapping reads."""
        mapped = {sent for sent, _ in self.mapping}
        return sum(rows for sent, rows in self.values if sent in mapped)

    @property
    def unmapped_rows(self) -> int:
        """Held rows of the texts it names in `why_not`."""
        return sum(rows for _, rows in self.values) - self.rows


def _seen(values: Mapping[str, int]) -> str:
    return ", ".join(f"{_quoted(text)} ×{rows}" for text, rows in sorted(values.items()))


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _proposal(mapping: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{_quoted(sent)}→{stored}" for sent, stored in sorted(mapping))


def boolean_decision(
    column: str, held: Mapping[str, int], mapped_before: Iterable[str] = ()
) -> Decision | None:
    """The mapping of a boolean column's held texts (`held`: text sent -> rows), with the texts an
    adapter already reads (`mapped_before`) in the same vocabulary; None when no value is a known
    boolean word (not a vocabulary: another repair, or none)."""
    texts = {**dict.fromkeys(mapped_before, 0), **held}
    known = {t: _PAIR_OF[fold(t)] for t in texts if fold(t) in _PAIR_OF}
    if not any(fold(t) in _PAIR_OF for t in held):
        return None
    unknown = sorted(t for t in texts if t not in known)
    pairs = sorted(set(known.values()))
    evidence = tuple(sorted(held.items()))
    if len(pairs) == 1 and not unknown:
        true_word = pairs[0][0]
        mapping = {t: "true" if fold(t) == true_word else "false" for t in texts}
        seen = {fold(t) for t in texts}
        # The other word of the pair, unseen yet: its meaning is as certain (see ONE_SIDE_SEEN).
        for word in pairs[0]:
            if word not in seen:
                mapping[word] = "true" if word == true_word else "false"
        confidence = EXACT if seen >= set(pairs[0]) else ONE_SIDE_SEEN
        return Decision(column, tuple(sorted(mapping.items())), evidence, confidence)
    # What a person would write: each known word after its pair; an unknown word has no value.
    needed = [(t, "true" if fold(t) == known[t][0] else "false") for t in known] + [(t, "?") for t in unknown]
    if len(pairs) > 1:
        named = " and ".join("/".join(p) for p in pairs)
        why = f"{NOT_GUESSED}: the values sent mix the pairs {named}"
    else:
        words = ", ".join(_quoted(t) for t in unknown)
        why = f"{NOT_GUESSED}: {words} is no boolean word pipefix knows"
    why += f" ({_seen(held)}); a mapping would need {_proposal(needed)}"
    return Decision(column, (), evidence, 0.0, why)


def enum_decision(
    column: str,
    allowed: tuple[str, ...],
    held: Mapping[str, int],
    mapping_before: Iterable[tuple[str, str]] = (),
) -> Decision | None:
    """The mapping of an enum column's held texts that fold onto exactly one allowed value (kept
    with the adapter's earlier mapping); the others folding onto several are named in `why_not`;
    None when no held text folds onto an allowed value (new values, or none)."""
    by_fold: dict[str, list[str]] = {}
    for value in allowed:
        by_fold.setdefault(fold(value), []).append(value)
    mapping = dict(mapping_before)
    ambiguous: dict[str, int] = {}
    folded = set()
    added = False
    for text, rows in held.items():
        targets = by_fold.get(fold(text), [])
        if text in allowed or not targets:
            continue
        folded.add(text)
        if len(targets) == 1:
            mapping[text] = targets[0]
            added = True
        else:
            ambiguous[text] = rows
    if not folded:
        return None
    why = None
    if ambiguous:
        onto = sorted({v for t in ambiguous for v in by_fold[fold(t)]})
        why = (
            f"{NOT_GUESSED}: {_seen(ambiguous)} folds onto more than one allowed value "
            f"({', '.join(_quoted(v) for v in onto)}): which one is meant is for a person"
        )
    evidence = tuple(sorted((t, held[t]) for t in folded))
    return Decision(
        column, tuple(sorted(mapping.items())) if added else (), evidence, EXACT, why, frozenset(folded)
    )


def apply(mapping: Iterable[tuple[str, str]], text: str) -> str | None:
    """The stored text for a text sent, as the judge's SQL maps it (None: not in the mapping)."""
    return {fold(sent): stored for sent, stored in mapping}.get(fold(text))


def sent_as(mapping: Iterable[tuple[str, str]], stored: str) -> tuple[str, ...]:
    """The texts sent that the mapping stores as `stored`: what the adapter version records."""
    return tuple(sorted(sent for sent, value in mapping if value == stored))


# --- drifts of the diagnosis -----------------------------------------------------------------


def with_vocabulary(
    contract: Contract,
    adapter: Adapter | None,
    drifts: tuple[Drift, ...],
    held: Mapping[str, Mapping[str, int]],
) -> tuple[Drift, ...]:
    """The diagnosis' drifts with each vocabulary change found among the held texts (`held`:
    column -> text sent -> rows): a boolean column's retyped drift (a variant, or nothing) becomes
    the mapping, or why none is guessed; an enum's values folding onto allowed ones are no longer
    new values. Other drifts stay."""
    found: list[Drift] = []
    replaced: set[str] = set()
    not_new: set[tuple[str, str]] = set()
    for name, texts in held.items():
        spec = contract.column(name)
        if spec is None or not texts:
            continue
        current = adapter.transform_for(name) if adapter else None
        before = current.mapping if current is not None and current.kind is TransformKind.VALUE_MAP else ()
        if spec.type == "boolean" and set(texts) <= {"true", "false"}:
            continue  # a conversion from text reads them as they are (conversions.FROM_TEXT)
        if spec.type == "boolean":
            # Texts the column's adapter reads already: "true"/"false" by a conversion from text.
            from_text = current is not None and current.kind is TransformKind.FROM_TEXT
            reads = [s for s, _ in before] or (["true", "false"] if from_text else [])
            decision = boolean_decision(name, texts, reads)
            if decision is not None:
                replaced.add(name)
        elif spec.values is not None:
            decision = enum_decision(name, spec.values, texts, before)
            if decision is not None:
                not_new |= {(name, t) for t in decision.folded}
        else:
            continue
        if decision is None:
            continue
        if decision.mapping:
            found.append(
                Drift(
                    DriftKind.RETYPED,
                    contract.table,
                    name,
                    expected=spec.type,
                    observed="varchar",
                    rows=decision.rows,
                    hint=VALUE_MAP,
                    confidence=decision.confidence,
                    mapping=decision.mapping,
                    values=decision.values,
                )
            )
        if decision.why_not is not None:
            found.append(
                Drift(
                    DriftKind.RETYPED,
                    contract.table,
                    name,
                    spec.type,
                    "varchar",
                    decision.unmapped_rows,
                    decision.why_not,
                    values=decision.values,
                )
            )
    kept = [
        d
        for d in drifts
        if not (d.kind is DriftKind.RETYPED and d.column in replaced)
        and not (d.kind is DriftKind.NEW_VALUE and (d.column, d.observed) in not_new)
    ]
    return (*kept, *found)


def transform(drift: Drift, source: str) -> ColumnTransform:
    """The adapter transform of a value-map drift; `source` the field read."""
    return ColumnTransform(drift.column, TransformKind.VALUE_MAP, source, mapping=drift.mapping)


def is_value_map(drift: Drift) -> bool:
    return drift.kind is DriftKind.RETYPED and drift.hint == VALUE_MAP and bool(drift.mapping)
