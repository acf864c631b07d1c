"""The rename evidence weighed, pure: names, shapes, and the verdict for measured figures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipefix.pipeline.renames import (
    RenameEvidence,
    ValueProfile,
    common_shapes,
    name_evidence,
    name_words,
    value_shape,
    weigh,
)


@pytest.mark.parametrize(
    ("old", "new", "score", "why"),
    [
        ("customer_id", "customerId", 0.8, "same words, case or separators changed"),
        ("createdAt", "created-at", 0.8, "same words, case or separators changed"),
        ("price_usd", "price", 0.6, "one name holds the other"),
        ("user", "user_id", 0.6, "one name holds the other"),
        ("ts", "timestamp", 0.6, "synonyms"),
        ("amount", "total", 0.6, "synonyms"),
        ("order_qty", "orderQuantity", 0.6, "synonyms"),
        ("sku", "product_code", 0.0, ""),
        ("is_active", "archived", 0.0, ""),
    ],
)
def test_name_evidence(old: str, new: str, score: float, why: str) -> None:
    found = name_evidence(old, new)
    assert found.score == score
    assert found.why.startswith(why)


def test_name_words_split_case_and_separators() -> None:
    assert name_words("customerId") == name_words("customer_id") == ("customer", "id")
    assert name_words("HTTPStatusCode") == ("http", "status", "code")
    assert name_evidence("price_usd", "price").dropped == ("usd",)
    assert name_evidence("ts", "timestamp").dropped == ()


def test_value_shapes() -> None:
    assert value_shape("SKU-00042") == "a-9"
    assert value_shape("Eliseo@gardner.biz") == "a@a.a"
    assert value_shape("sunt aut facere repellat") == value_shape("qui est") == "a a"
    assert common_shapes(["a-1", "b-2", "x@y.z"]) == ("a-9", "a@a.a")


def ids(low: int, high: int, novelty: float | None = None) -> ValueProfile:
    return ValueProfile(high - low + 1, high - low + 1, low, high, None, None, (), novelty)


PAIR = RenameEvidence(
    table="orders",
    old="customer_id",
    new="customerId",
    old_type="bigint",
    new_type="bigint",
    rows=30,
    swap=True,
    old_values=ids(1, 90, novelty=0.8),
    new_values=ids(85, 120),
    overlap=0.2,
)


def test_a_growing_domain_with_renamed_words_is_a_rename() -> None:
    weighed = weigh(PAIR)
    assert (weighed.verdict, weighed.confidence) == ("rename", 0.94)
    assert weighed.value.startswith(
        "80% of customerId's values never seen, as customer_id's batches bring 80%"
    )


def test_a_key_both_columns_belong_to_is_value_evidence() -> None:
    weighed = weigh(replace(PAIR, reference="customers.customer_id", reference_share=1.0))
    assert (weighed.verdict, weighed.confidence) == ("rename", 0.98)
    assert (
        weighed.value == "100% of customerId's values are keys of customers.customer_id, as customer_id's are"
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"rows": 19}, "only 19 held rows send customerId; a rename needs 20"),
        ({"new_values": ids(1, 8)}, "low cardinality (8 distinct values): shared values mean nothing"),
        ({"old_type": "boolean", "new_type": "boolean"}, "booleans: two flags share their values by chance"),
        ({"swap": False}, "customer_id is still sent in the batches that send customerId"),
        ({"unit_moved": "'usd' left the name"}, "'usd' left the name: the values changed meaning"),
        (
            {"new_values": ids(10_000, 10_040)},
            "values unlike customer_id's: range 10000..10040 far outside 1..90",
        ),
        (
            {"old_values": ids(1, 90, novelty=0.1), "overlap": 0.0},
            "100% of customerId's values never seen, where",
        ),
    ],
)
def test_evidence_that_rules_a_rename_out(change: dict[str, object], why: str) -> None:
    weighed = weigh(replace(PAIR, **change))  # type: ignore[arg-type]
    assert (weighed.verdict, weighed.confidence) == ("add + optional", 0.0)
    assert weighed.why.startswith(why)


def test_values_alone_ask_a_person_and_names_alone_do_not_rename() -> None:
    growing = weigh(replace(PAIR, new="position"))
    assert (growing.verdict, growing.confidence) == ("ask", 0.7)
    alike = weigh(replace(PAIR, new="position", old_values=ids(1, 90)))  # no history to compare
    assert (alike.verdict, alike.confidence) == ("add + optional", 0.5)
    assert (
        alike.summary()
        == "customer_id -> position: add + optional (confidence 50%, below the 60% a person is asked from)"
    )
    shared = weigh(replace(PAIR, new="position", overlap=0.9))
    assert (shared.verdict, shared.confidence) == ("rename", 0.9)


def test_a_type_of_the_same_kind_only_lowers_the_confidence() -> None:
    weighed = weigh(replace(PAIR, new_type="decimal(18,2)"))
    assert weighed.confidence == round(0.9 * 0.94, 3)
