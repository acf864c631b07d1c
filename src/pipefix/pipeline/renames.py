"""Renames decided on evidence: is a column gone from every held record, beside one that
appeared, the same column under a new name? Pure: the figures are measured by an engine.

The evidence is weighed, never a single overlap: the swap (the old name absent from every
affected record, the new one carried by every record of those batches), the type, the values —
as far as the old column's own history predicts them (a column of ids or timestamps brings mostly
new values every batch, so a low overlap with its history says nothing), a key of another table
both columns' values belong to, their range, length and shape — and the names. Some evidence
rules a rename out whatever else is seen: too few rows, too few distinct values (two boolean
columns overlap by chance), the old name still sent in the same batches, a unit that left the
name to become a value of another new column (`price_usd` -> `price` + `currency: "USD"`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pipefix.pipeline.contracts import type_family
from pipefix.pipeline.drift import RENAME_ASK, RENAME_CONFIDENCE

RENAME_MIN_ROWS = 20  # fewer records carrying the new column: never a rename
RENAME_MIN_DISTINCT = 11  # fewer distinct values on either side: low cardinality, never a rename
# Evidence weights: each in [0, 1], combined as independent signals (1 - product of misses).
NAME_SAME_WORDS = 0.8  # the same words, only case or separators changed: customer_id -> customerId
NAME_RELATED = 0.6  # one name holds the other, or synonyms: user -> user_id, ts -> timestamp
VALUES_SHARED = 0.9  # most of the new column's distinct values are already in the old one
VALUES_SAME_KEY = 0.9  # both columns' values are keys of the same other table
VALUES_GROWING = 0.7  # as many never-seen values as the old column's own batches bring
VALUES_ALIKE = 0.5  # same range, length and shape of values, nothing more
SAME_KIND_ONLY = 0.9  # factor when the types differ within one family (bigint vs decimal)

# Words that stand for one another in field names.
_SYNONYMS = (
    {"ts", "timestamp", "time", "datetime", "at"},
    {"dt", "date", "day"},
    {"id", "identifier", "uid"},
    {"amount", "amt", "total"},
    {"qty", "quantity"},
    {"cnt", "count"},
    {"num", "number", "no", "nr"},
    {"desc", "description"},
    {"addr", "address"},
    {"msg", "message"},
    {"email", "mail"},
    {"phone", "tel", "telephone"},
    {"customer", "client"},
    {"created", "creation"},
    {"updated", "modified"},
    {"lat", "latitude"},
    {"lon", "lng", "longitude"},
    {"pct", "percent", "percentage"},
    {"img", "image"},
    {"cat", "category"},
)
_CANONICAL = {word: sorted(group)[0] for group in _SYNONYMS for word in group}
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def name_words(name: str) -> tuple[str, ...]:
    """The words of a field name, lower case: `customerId` and `customer_id` -> (customer, id)."""
    return tuple(w.lower() for w in _WORDS.findall(name))


def _canonical(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_CANONICAL.get(w, w) for w in words)


@dataclass(frozen=True)
class NameEvidence:
    score: float
    why: str  # "" when the names say nothing
    dropped: tuple[str, ...]  # words of the old name the new one lacks


def name_evidence(old: str, new: str) -> NameEvidence:
    old_words, new_words = name_words(old), name_words(new)
    kept = set(new_words) | set(_canonical(new_words))
    dropped = tuple(w for w in old_words if w not in kept and _CANONICAL.get(w, w) not in kept)
    if old_words and old_words == new_words:
        return NameEvidence(NAME_SAME_WORDS, f"same words, case or separators changed ({old} -> {new})", ())
    old_set, new_set = set(_canonical(old_words)), set(_canonical(new_words))
    if old_set and old_set == new_set:
        return NameEvidence(NAME_RELATED, f"synonyms ({old} ~ {new})", dropped)
    if old_set and new_set and (old_set < new_set or new_set < old_set):
        return NameEvidence(NAME_RELATED, f"one name holds the other ({old} -> {new})", dropped)
    return NameEvidence(0.0, "", dropped)


@dataclass(frozen=True)
class ValueProfile:
    """Figures of one column's non-null values, as an engine measured them."""

    values: int = 0
    distinct: int = 0
    min_number: float | None = None
    max_number: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    patterns: tuple[str, ...] = ()  # the most common shapes: "SKU-00042" -> "A-9"
    # A column's history: the mean share of each load step's distinct values never seen in an
    # earlier step (None: fewer than two steps of history).
    novelty: float | None = None

    def describe(self) -> str:
        parts = [f"{self.distinct} distinct"]
        if self.min_number is not None and self.max_number is not None:
            parts.append(f"range {_num(self.min_number)}..{_num(self.max_number)}")
        elif self.min_length is not None and self.max_length is not None:
            parts.append(f"length {self.min_length}..{self.max_length}")
        if self.patterns:
            parts.append("shape " + "|".join(self.patterns[:2]))
        if self.novelty is not None:
            parts.append(f"{self.novelty:.0%} new per batch")
        return ", ".join(parts)


def value_shape(text: str) -> str:
    """A value's shape: letters -> a, digits -> 9, any run of words -> "a a": "SKU-0042" -> "a-9"."""
    shape = re.sub(r"[^\W\d_]+", "a", text)
    shape = re.sub(r"[0-9]+", "9", shape)
    shape = re.sub(r"\s+", " ", shape)
    return re.sub(r"a( a)+", "a a", shape)[:24]


def common_shapes(values: list[str]) -> tuple[str, ...]:
    """The three most common shapes among some values."""
    counts: dict[str, int] = {}
    for value in values:
        shape = value_shape(value)
        counts[shape] = counts.get(shape, 0) + 1
    return tuple(sorted(counts, key=lambda s: (-counts[s], s))[:3])


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class RenameEvidence:
    """Whether `new` is `old` renamed, with the figures behind the verdict."""

    table: str
    old: str
    new: str
    old_type: str
    new_type: str
    rows: int  # held records carrying the new field
    swap: bool  # old absent from every affected record, new carried by every one
    old_values: ValueProfile
    new_values: ValueProfile
    overlap: float  # share of the new field's distinct values the old column already holds
    reference: str | None = None  # "customers.customer_id": a key both columns' values belong to
    reference_share: float = 0.0  # share of the new field's values found in that key
    unit_moved: str | None = None  # "usd is now a value of currency_code"
    sent: str | None = None  # the new field as sent, when its name is not the column's (`new`)
    name: str = ""
    value: str = ""
    confidence: float = 0.0
    verdict: str = "add + optional"  # "rename", "ask" (a person decides) or "add + optional"
    why: str = ""

    @property
    def is_rename(self) -> bool:
        return self.verdict in ("rename", "ask")

    def summary(self) -> str:
        evidence = "; ".join(e for e in (self.name, self.value) if e) or "no name or value evidence"
        head = f"{self.old} -> {self.sent or self.new}: {self.verdict} (confidence {self.confidence:.0%}"
        return f"{head}, {self.why})" if self.why else f"{head}: {evidence})"

    def figures(self) -> str:
        return (
            f"{self.rows} rows; overlap {self.overlap:.0%}; {self.old}: {self.old_values.describe()}; "
            f"{self.sent or self.new}: {self.new_values.describe()}"
            + (f"; {self.reference_share:.0%} in {self.reference}" if self.reference else "")
        )


def weigh(evidence: RenameEvidence) -> RenameEvidence:
    """The confidence and the verdict for the measured figures."""
    rule_out = _ruled_out(evidence)
    if rule_out is not None:
        return replace(evidence, confidence=0.0, verdict="add + optional", why=rule_out, name="", value="")
    names = name_evidence(evidence.old, evidence.sent or evidence.new)
    value_score, value_why = _value_evidence(evidence)
    if value_score < 0:
        return replace(evidence, confidence=0.0, verdict="add + optional", why=value_why, name=names.why)
    kind = 1.0 if evidence.old_type == evidence.new_type else SAME_KIND_ONLY
    confidence = round(kind * (1 - (1 - value_score) * (1 - names.score)), 3)
    if confidence >= RENAME_CONFIDENCE:
        verdict, why = "rename", ""
    elif confidence >= RENAME_ASK:
        verdict, why = "ask", ""
    else:
        verdict, why = "add + optional", f"below the {RENAME_ASK:.0%} a person is asked from"
    return replace(evidence, confidence=confidence, verdict=verdict, why=why, name=names.why, value=value_why)


def _ruled_out(e: RenameEvidence) -> str | None:
    if e.rows < RENAME_MIN_ROWS:
        rows = "1 held row sends" if e.rows == 1 else f"{e.rows} held rows send"
        return f"only {rows} {e.sent or e.new}; a rename needs {RENAME_MIN_ROWS}"
    if type_family(e.old_type) == "bool" or type_family(e.new_type) == "bool":
        return "booleans: two flags share their values by chance"
    fewest = min(e.old_values.distinct, e.new_values.distinct)
    if fewest < RENAME_MIN_DISTINCT:
        return f"low cardinality ({fewest} distinct values): shared values mean nothing"
    if not e.swap:
        return f"{e.old} is still sent in the batches that send {e.sent or e.new}"
    if e.unit_moved:
        return f"{e.unit_moved}: the values changed meaning"
    return None


def _value_evidence(e: RenameEvidence) -> tuple[float, str]:
    """(score, why); a negative score: the values contradict a rename."""
    old, new = e.old_values, e.new_values
    fresh, name = 1 - e.overlap, e.sent or e.new
    if e.overlap >= RENAME_CONFIDENCE:
        return VALUES_SHARED, f"{e.overlap:.0%} of {name}'s distinct values already in {e.old}"
    if e.reference and e.reference_share >= 0.95:
        keys = f"{e.reference_share:.0%} of {name}'s values are keys of {e.reference}"
        return VALUES_SAME_KEY, f"{keys}, as {e.old}'s are"
    alike = _alike(e)
    if alike is not None:
        return -1.0, f"values unlike {e.old}'s: {alike}"
    if old.novelty is not None and fresh - old.novelty > 0.4:
        return -1.0, (
            f"{fresh:.0%} of {name}'s values never seen, where {e.old}'s batches bring {old.novelty:.0%}"
        )
    if old.novelty is not None and abs(fresh - old.novelty) <= 0.2:
        return VALUES_GROWING, (
            f"{fresh:.0%} of {name}'s values never seen, as {e.old}'s batches bring {old.novelty:.0%}"
            f" (a growing domain); {new.describe()}"
        )
    return VALUES_ALIKE, f"values alike ({new.describe()})"


def _alike(e: RenameEvidence) -> str | None:
    """None when range, length and shape agree; else what differs."""
    old, new = e.old_values, e.new_values
    family = type_family(e.old_type)
    if (
        family == "numeric"
        and old.min_number is not None
        and old.max_number is not None
        and new.min_number is not None
        and new.max_number is not None
    ):
        # The old range, widened by its own width each way: ids and amounts may grow.
        low, high = old.min_number, old.max_number
        span = max(high - low, abs(high), 1.0)
        if new.min_number < low - span or new.max_number > high + span:
            got = f"{_num(new.min_number)}..{_num(new.max_number)}"
            return f"range {got} far outside {_num(low)}..{_num(high)}"
    if family == "text":
        if (
            old.min_length is not None
            and old.max_length is not None
            and new.min_length is not None
            and new.max_length is not None
        ):
            short, long = old.min_length, old.max_length
            if new.max_length < short // 2 or new.min_length > 2 * long + 1:
                return f"length {new.min_length}..{new.max_length} against {short}..{long}"
        if old.patterns and new.patterns and not set(old.patterns) & set(new.patterns):
            return f"shape {'|'.join(new.patterns[:2])} against {'|'.join(old.patterns[:2])}"
    return None
