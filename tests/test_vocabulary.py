"""Vocabulary changes, end to end on DuckDB and on a real PostgreSQL: booleans sent as yes/no (or
y/n, 1/0, on/off, t/f, TRUE/False) and enum values in another case are held, diagnosed on the held
values, and loaded through a value_map adapter as the values the contract allows; a vocabulary
that mixes pairs, an unknown word, or a value folding onto two allowed values stays held with the
mapping a person would need; a truly new value still takes the new-value path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipefix.api import Pipeline
from pipefix.engines import store
from pipefix.tools.run_diagnostic import latest_diagnosis
from tests.test_drift_kinds import balanced, clock, held, iso, make_project, query, run, state, write_batch
from tests.test_user_control import cli

PAID = "type: boolean, nullable: false"
STATUS = "type: varchar, nullable: false, values: [open, paid, closed]"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return "duckdb:///warehouse.duckdb"


def orders(tmp_path: Path, warehouse: str, status: str = STATUS) -> Path:
    """An orders table with a boolean and an enum column, 20 rows loaded in their own words."""
    config = make_project(tmp_path, warehouse, "orders", paid=PAID, status=status)
    first = [
        {"id": i, "paid": i % 2 == 0, "status": ["open", "paid"][i % 2], "created_at": iso(i)}
        for i in range(1, 21)
    ]
    write_batch(config, "orders", "b-001.jsonl", first)
    balanced(run(config), 20)
    return config


def rows_of(start: int, count: int, paid: list[Any], status: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": start + n,
            "paid": paid[n % len(paid)],
            "status": status[n % len(status)],
            "created_at": iso(0),
        }
        for n in range(count)
    ]


def audit_fixes(config: Path) -> list[dict[str, Any]]:
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        return [payload for _, _, payload in store.audit_trail(pipeline.engine, ("fix",))]


def test_yes_no_and_upper_case_enum_values_load_through_one_adapter(tmp_path: Path, warehouse: str) -> None:
    config = orders(tmp_path, warehouse)
    sent = rows_of(100, 200, ["yes", "no"], ["OPEN", "PAID"])
    write_batch(config, "orders", "b-002.jsonl", sent)
    balanced(run(config), 220, quarantined=200)
    summary = run(config)
    balanced(summary, 220)
    assert summary["rows"]["replayed"] == 200
    assert not any(k[2] is None for k in held(config, "orders"))  # nothing waits

    (fix,) = [f for f in summary["fixes"] if f["action"] == "add_adapter"]
    assert fix["ok"]
    assert "paid <- value_map(paid: no→false, yes→true)" in fix["detail"]
    assert "status <- value_map(status: OPEN→open, PAID→paid)" in fix["detail"]
    assert "paid: sent no ×100, yes ×100; confidence 100%" in fix["detail"]
    assert "status: sent OPEN ×100, PAID ×100; confidence 100%" in fix["detail"]
    assert state(config, "orders")[:2] == (
        1,
        ["paid <- value_map(paid: no→false, yes→true)", "status <- value_map(status: OPEN→open, PAID→paid)"],
    )
    assert query(config, "SELECT id, paid, status FROM orders WHERE id >= 100 ORDER BY id") == [
        (r["id"], r["paid"] == "yes", r["status"].lower()) for r in sent
    ]
    # The adapter version keeps what was sent; the audit the rows each text had.
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        adapter = store.active_adapter(pipeline.engine, "orders")
        shown = {t.column: t.described for t in pipeline.adapters("orders")}
        result = pipeline.check()
    assert adapter is not None
    assert {t.column: t.mapping for t in adapter.transforms} == {
        "paid": (("no", "false"), ("yes", "true")),
        "status": (("OPEN", "open"), ("PAID", "paid")),
    }
    assert shown["status"] == "status <- value_map(status: OPEN→open, PAID→paid)"
    listed = cli(tmp_path, "adapters", "orders", "--no-color").output
    line = "orders.status  value_map  status <- value_map(status: OPEN→open, PAID→paid)  (adapter v1"
    assert line in listed
    assert result.healthy, result.as_dict()
    (audited,) = [f for f in audit_fixes(config) if f.get("fix_type") == "add_adapter"]
    assert audited["evidence"] == {"paid": {"no": 100, "yes": 100}, "status": {"OPEN": 100, "PAID": 100}}

    # New batches in the new words load directly, any case and spaces; a word outside the
    # mapping is held, naming it.
    later = rows_of(400, 8, [" Yes", "NO ", "yes", "no"], ["Open", " paid ", "OPEN", "closed"])
    write_batch(config, "orders", "b-003.jsonl", [*later, *rows_of(500, 1, ["maybe"], ["open"])])
    balanced(run(config), 229, quarantined=1)
    assert query(config, "SELECT id, paid, status FROM orders WHERE id >= 400 ORDER BY id") == [
        (r["id"], r["paid"].strip().lower() == "yes", r["status"].strip().lower()) for r in later
    ]
    waiting = [k[0] for k in held(config, "orders") if k[2] is None]
    assert waiting == ['paid: "maybe" is not in the mapping no→false, yes→true']


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["y", "n"], "paid <- value_map(paid: n→false, y→true)"),
        (["1", "0"], "paid <- value_map(paid: 0→false, 1→true)"),
        ([1, 0], "paid <- value_map(paid: 0→false, 1→true)"),
        (["on", "OFF"], "paid <- value_map(paid: OFF→false, on→true)"),
        (["T", "F"], "paid <- value_map(paid: F→false, T→true)"),
        (["TRUE", " False "], 'paid <- value_map(paid: " False "→false, TRUE→true)'),
    ],
    ids=["y/n", "1/0 text", "1/0 numbers", "on/off", "T/F", "TRUE/False"],
)
def test_each_boolean_vocabulary_maps(tmp_path: Path, words: list[Any], expected: str) -> None:
    config = orders(tmp_path, "duckdb:///warehouse.duckdb")
    sent = rows_of(100, 20, words, ["open"])
    write_batch(config, "orders", "b-002.jsonl", sent)
    balanced(run(config), 40, quarantined=20)
    balanced(run(config), 40)
    assert state(config, "orders")[:2] == (1, [expected])
    assert query(config, "SELECT id, paid FROM orders WHERE id >= 100 ORDER BY id") == [
        (r["id"], r["paid"] == words[0]) for r in sent
    ]


def test_only_yes_seen_still_maps_and_a_later_no_loads(tmp_path: Path) -> None:
    config = orders(tmp_path, "duckdb:///warehouse.duckdb")
    write_batch(config, "orders", "b-002.jsonl", rows_of(100, 10, ["Yes"], ["open"]))
    balanced(run(config), 30, quarantined=10)
    summary = run(config)
    balanced(summary, 30)
    (fix,) = [f for f in summary["fixes"] if f["action"] == "add_adapter"]
    assert "paid: sent Yes ×10; confidence 90%" in fix["detail"]
    assert state(config, "orders")[:2] == (1, ["paid <- value_map(paid: Yes→true, no→false)"])
    write_batch(config, "orders", "b-003.jsonl", rows_of(200, 4, ["NO", "yes"], ["open"]))
    balanced(run(config), 34)
    assert query(config, "SELECT id, paid FROM orders WHERE id >= 200 ORDER BY id") == [
        (200, False),
        (201, True),
        (202, False),
        (203, True),
    ]


@pytest.mark.parametrize(
    ("words", "proposal"),
    [
        (
            ["yes", "0"],
            'not guessed: the values sent mix the pairs 1/0 and yes/no ("0" ×10, "yes" ×10); '
            'a mapping would need "0"→false, "yes"→true',
        ),
        (
            ["yes", "no", "maybe"],
            'not guessed: "maybe" is no boolean word pipefix knows ("maybe" ×6, "no" ×7, "yes" ×7); '
            'a mapping would need "maybe"→?, "no"→false, "yes"→true',
        ),
    ],
    ids=["mixed pairs", "unknown word"],
)
def test_a_vocabulary_not_guessed_stays_held_with_the_mapping_needed(
    tmp_path: Path, warehouse: str, words: list[str], proposal: str
) -> None:
    config = orders(tmp_path, warehouse)
    write_batch(config, "orders", "b-002.jsonl", rows_of(100, 20, words, ["open"]))
    balanced(run(config), 40, quarantined=20)
    for _ in range(2):
        summary = run(config)
        balanced(summary, 40, quarantined=20)
    assert summary["fixes"] == []
    assert state(config, "orders") == (1, [], {"id", "paid", "status", "created_at", *_LINEAGE})
    (waiting,) = summary["waiting"]
    assert proposal in waiting["reason"]


_LINEAGE = ("_pipefix_batch", "_pipefix_line", "_pipefix_loaded_step")


def test_an_enum_value_folding_onto_two_allowed_values_is_held_as_ambiguous(
    tmp_path: Path, warehouse: str
) -> None:
    status = "type: varchar, nullable: false, values: [Open, open, paid]"
    config = orders(tmp_path, warehouse, status)
    sent = rows_of(100, 40, [True], ["OPEN", "PAID"])
    write_batch(config, "orders", "b-002.jsonl", sent)
    balanced(run(config), 60, quarantined=40)
    for _ in range(2):
        summary = run(config)
    balanced(summary, 60, quarantined=20)  # PAID maps; OPEN waits
    assert state(config, "orders")[:2] == (1, ["status <- value_map(status: PAID→paid)"])
    assert query(config, "SELECT count(*) FROM orders WHERE status = 'paid' AND id >= 100") == [(20,)]
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        diagnosis = latest_diagnosis(pipeline.context, "orders")
    assert diagnosis is not None
    assert any(
        'not guessed: "OPEN" ×20 folds onto more than one allowed value ("Open", "open")' in str(d)
        for d in diagnosis.drifts
    )
    assert not [d for d in diagnosis.drifts if str(d.kind) == "new_allowed_value"]  # never added


def test_a_truly_new_enum_value_still_becomes_an_allowed_value(tmp_path: Path, warehouse: str) -> None:
    config = orders(tmp_path, warehouse)
    sent = rows_of(100, 40, [True], ["OPEN", "refunded"])
    write_batch(config, "orders", "b-002.jsonl", sent)
    balanced(run(config), 60, quarantined=40)
    summary = run(config)
    balanced(summary, 60)
    version, transforms, _ = state(config, "orders")
    assert (version, transforms) == (2, ["status <- value_map(status: OPEN→open)"])
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        contract = store.active_contract(pipeline.engine, "orders")
    spec = contract.column("status")
    assert spec is not None
    assert spec.values == ("open", "paid", "closed", "refunded")
    counted = "SELECT status, count(*) FROM orders WHERE id >= 100 GROUP BY status ORDER BY 1"
    assert query(config, counted) == [
        ("open", 20),
        ("refunded", 20),
    ]


def test_removing_the_vocabulary_restores_the_previous_adapter_version(
    tmp_path: Path, warehouse: str
) -> None:
    config = orders(tmp_path, warehouse)
    write_batch(config, "orders", "b-002.jsonl", rows_of(100, 20, [True], ["OPEN"]))
    balanced(run(config), 40, quarantined=20)
    balanced(run(config), 40)
    write_batch(config, "orders", "b-003.jsonl", rows_of(200, 20, ["yes", "no"], ["OPEN"]))
    balanced(run(config), 60, quarantined=20)
    balanced(run(config), 60)
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        versions = store.adapter_versions(pipeline.engine, "orders")
    assert [(v, [t.describe() for t in a.transforms]) for v, _, a in versions] == [
        (1, ["status <- value_map(status: OPEN→open)"]),
        (2, ["status <- value_map(status: OPEN→open)", "paid <- value_map(paid: no→false, yes→true)"]),
    ]

    with Pipeline.open(config, clock=clock) as pipeline:
        removed = pipeline.remove_adapter("orders", "paid", by="test")
    assert removed.removed == "paid <- value_map(paid: no→false, yes→true)"
    assert removed.inverse == "activate adapter v2"
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        adapter = store.active_adapter(pipeline.engine, "orders")
    assert adapter is not None
    assert adapter.transforms == versions[0][2].transforms
    # Rows loaded through the mapping stay loaded; the next yes is held again, never lost.
    assert query(config, "SELECT count(*) FROM orders WHERE id >= 200") == [(20,)]
    write_batch(config, "orders", "b-004.jsonl", rows_of(300, 1, ["yes"], ["open"]))
    with Pipeline.open(config, clock=clock) as pipeline:
        summary = pipeline.run(1)
    assert summary["rows"]["lost"] == 0
    assert query(config, "SELECT count(*) FROM orders WHERE id >= 300") == [(0,)]
