"""The vocabulary decision (pipeline/vocabulary.py), pure: a mapping only when nothing else can be
meant, and the mapping keeps what was sent."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.pipeline.contracts import Adapter, ColumnSpec, ColumnTransform, Contract, TransformKind
from pipefix.pipeline.conversions import VALUE_MAP, VARIANT
from pipefix.pipeline.drift import Drift, DriftKind
from pipefix.pipeline.policy import adapter_fixes, migration_fixes, policy_mode
from pipefix.pipeline.vocabulary import (
    BOOLEAN_PAIRS,
    EXACT,
    ONE_SIDE_SEEN,
    apply,
    boolean_decision,
    enum_decision,
    fold,
    sent_as,
    with_vocabulary,
)
from tests.tiers import examples

CONTRACT = Contract(
    "orders",
    1,
    (
        ColumnSpec("id", "bigint", nullable=False),
        ColumnSpec("paid", "boolean"),
        ColumnSpec("status", "varchar", values=("open", "paid", "closed")),
    ),
    key="id",
)


def test_yes_and_no_map_to_true_and_false_with_full_confidence() -> None:
    decision = boolean_decision("paid", {"yes": 100, "no": 100})
    assert decision is not None
    assert decision.mapping == (("no", "false"), ("yes", "true"))
    assert (decision.confidence, decision.rows, decision.why_not) == (EXACT, 200, None)


def test_case_and_spaces_are_one_word_and_each_spelling_is_kept() -> None:
    decision = boolean_decision("paid", {" Yes": 3, "YES": 2, "no ": 4})
    assert decision is not None
    assert decision.mapping == ((" Yes", "true"), ("YES", "true"), ("no ", "false"))
    assert decision.values == ((" Yes", 3), ("YES", 2), ("no ", 4))


def test_one_side_seen_maps_the_pair_with_less_confidence() -> None:
    decision = boolean_decision("paid", {"Y": 10})
    assert decision is not None
    assert decision.mapping == (("Y", "true"), ("n", "false"))
    assert decision.confidence == ONE_SIDE_SEEN


def test_mixed_pairs_and_unknown_words_are_not_guessed() -> None:
    mixed = boolean_decision("paid", {"yes": 5, "0": 5})
    assert mixed is not None
    assert mixed.mapping == ()
    assert mixed.why_not == (
        'not guessed: the values sent mix the pairs 1/0 and yes/no ("0" ×5, "yes" ×5); '
        'a mapping would need "0"→false, "yes"→true'
    )
    unknown = boolean_decision("paid", {"yes": 5, "maybe": 1})
    assert unknown is not None
    assert unknown.mapping == ()
    assert unknown.why_not is not None
    assert unknown.why_not.startswith('not guessed: "maybe" is no boolean word pipefix knows')
    assert boolean_decision("paid", {"n/a": 3}) is None  # no vocabulary at all: another repair


def test_a_conversion_already_reading_true_and_false_mixes_with_yes() -> None:
    decision = boolean_decision("paid", {"yes": 5, "no": 5}, ["true", "false"])
    assert decision is not None
    assert decision.mapping == ()


def test_enum_values_in_another_case_map_and_ambiguous_or_new_ones_do_not() -> None:
    decision = enum_decision("status", ("Open", "open", "paid"), {"OPEN": 4, " PAID": 6, "refunded": 9})
    assert decision is not None
    assert decision.mapping == ((" PAID", "paid"),)
    assert decision.folded == frozenset({"OPEN", " PAID"})
    assert decision.why_not == (
        'not guessed: "OPEN" ×4 folds onto more than one allowed value ("Open", "open"): '
        "which one is meant is for a person"
    )
    assert (decision.rows, decision.unmapped_rows) == (6, 4)
    assert enum_decision("status", ("open",), {"refunded": 9}) is None


def test_the_diagnosis_prefers_a_mapping_to_a_variant_and_to_a_new_value() -> None:
    drifts = (
        Drift(DriftKind.RETYPED, "orders", "paid", "boolean", "varchar", 200, VARIANT),
        Drift(DriftKind.NEW_VALUE, "orders", "status", observed="OPEN", rows=100),
        Drift(DriftKind.NEW_VALUE, "orders", "status", observed="refunded", rows=50),
    )
    held = {"paid": {"yes": 100, "no": 100}, "status": {"OPEN": 100, "refunded": 50}}
    found = with_vocabulary(CONTRACT, None, drifts, held)
    assert [(d.kind, d.column, d.hint, d.observed) for d in found] == [
        (DriftKind.NEW_VALUE, "status", None, "refunded"),
        (DriftKind.RETYPED, "paid", VALUE_MAP, "varchar"),
        (DriftKind.RETYPED, "status", VALUE_MAP, "varchar"),
    ]
    paid, status = found[1], found[2]
    assert str(paid) == (
        "orders.paid sent in another vocabulary (200 rows): no→false ×100, yes→true ×100; confidence 100%"
    )
    assert status.mapping == (("OPEN", "open"),)
    assert adapter_fixes(paid)
    assert not migration_fixes(paid)
    # Its policy key is type_change, as for the other conversions.
    assert policy_mode("add_adapter", (paid,), {"type_change": "approve"}) == ("approve", "type_change")


def test_an_adapter_mapping_grows_with_new_spellings() -> None:
    before = ColumnTransform("status", TransformKind.VALUE_MAP, "status", mapping=(("OPEN", "open"),))
    adapter = Adapter("orders", 1, (before,))
    (drift,) = with_vocabulary(CONTRACT, adapter, (), {"status": {"Paid": 7}})
    assert drift.mapping == (("OPEN", "open"), ("Paid", "paid"))


def test_describe_shows_the_mapping_and_quotes_odd_texts() -> None:
    transform = ColumnTransform(
        "status", TransformKind.VALUE_MAP, "status", mapping=((" paid ", "paid"), ("OPEN", "open"))
    )
    assert transform.describe() == 'status <- value_map(status: " paid "→paid, OPEN→open)'


_WORDS = [w for pair in BOOLEAN_PAIRS for w in pair]


def _spelled(word: str) -> st.SearchStrategy[str]:
    """The word in any case, with whitespace around it."""
    cases = st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
    )
    space = st.sampled_from(["", " ", "  ", "\t"])
    return st.tuples(space, cases, space).map(lambda t: "".join(t))


_held = st.dictionaries(
    st.sampled_from(_WORDS).flatmap(_spelled) | st.text(min_size=1, max_size=6),
    st.integers(1, 50),
    min_size=1,
    max_size=6,
)


@settings(max_examples=examples(300), deadline=None)
@given(_held)
def test_a_boolean_mapping_is_applied_only_within_one_pair_and_reads_back_the_text_sent(
    held: dict[str, int],
) -> None:
    decision = boolean_decision("paid", held)
    pairs = {p for t in held for p in BOOLEAN_PAIRS if fold(t) in p}
    one_pair = len(pairs) == 1 and all(any(fold(t) in p for p in pairs) for t in held)
    if decision is None:
        assert not pairs  # no known word at all
        return
    assert bool(decision.mapping) == one_pair
    if not decision.mapping:
        assert decision.why_not is not None
        return
    (pair,) = pairs
    for text in held:
        stored = apply(decision.mapping, text)
        assert stored == ("true" if fold(text) == pair[0] else "false")
        assert text in sent_as(decision.mapping, stored)  # the mapping says what was sent


_allowed = st.lists(
    st.sampled_from(["open", "Open", "OPEN", "paid", "closed", "x y"]), min_size=1, unique=True
)


@settings(max_examples=examples(300), deadline=None)
@given(_allowed, st.lists(st.sampled_from(["open", "paid", "closed", "x y", "refunded"]).flatmap(_spelled)))
def test_an_enum_mapping_is_one_to_one_and_reads_back_the_text_sent(
    allowed: list[str], sent: list[str]
) -> None:
    held = {t: 1 for t in sent if t not in allowed}
    decision = enum_decision("status", tuple(allowed), held)
    if decision is None:
        assert all(fold(t) not in {fold(a) for a in allowed} for t in held)
        return
    mapped = dict(decision.mapping)
    for text in held:
        onto = [a for a in allowed if fold(a) == fold(text)]
        if len(onto) == 1:
            assert mapped[text] == onto[0]
            assert apply(decision.mapping, text) == onto[0]
            assert text in sent_as(decision.mapping, onto[0])
        else:
            assert text not in mapped  # ambiguous (held with the reason) or new (left alone)
        if len(onto) > 1:
            assert decision.why_not is not None
            assert json.dumps(text) in decision.why_not


def test_true_and_false_exactly_are_left_to_the_conversion_from_text() -> None:
    retyped = Drift(DriftKind.RETYPED, "orders", "paid", "boolean", "varchar", 10, "from_text")
    assert with_vocabulary(CONTRACT, None, (retyped,), {"paid": {"true": 5, "false": 5}}) == (retyped,)
