"""Renames decided on evidence, and fixes judged by what they were for — end to end on DuckDB and
on a real PostgreSQL.

A column gone from every held record beside one that appeared is taken for a rename only on
evidence (pipeline/renames.py): never from fewer than 20 rows nor between low-cardinality
columns (those end as add + optional, both fields stored); a reference renamed while new ids keep
arriving is a rename all the same; below the confidence bar, or under `rename_column: approve`,
the fix waits for a person with the evidence shown. A contract change whose replay releases none
of the held rows it was planned for is reported failed and undone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipefix.api import Pipeline
from pipefix.pipeline.renames import RenameEvidence
from pipefix.report.html import build_report
from pipefix.tools.run_diagnostic import latest_diagnosis
from tests.test_drift_kinds import balanced, clock, held, iso, make_project, query, run, state, write_batch

AMOUNT = 'type: "decimal(12,2)", nullable: false'


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return "duckdb:///warehouse.duckdb"


def weighed(config: Path, table: str) -> tuple[RenameEvidence, ...]:
    """The rename evidence of the table's latest diagnosis."""
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        diagnosis = latest_diagnosis(pipeline.context, table)
    assert diagnosis is not None
    return diagnosis.renames


def fixes(summary: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(f["action"], f["target"], f["ok"]) for f in summary["fixes"]]


def with_policy(config: Path, policies: str) -> None:
    config.write_text(config.read_text() + f"policies: {{{policies}}}\n")


def rows(ids: range, **fields: Any) -> list[dict[str, Any]]:
    """Records `{"id": i, **fields, "created_at": ...}`; a callable field is called with the id."""
    return [
        {"id": i, **{k: v(i) if callable(v) else v for k, v in fields.items()}, "created_at": iso(1)}
        for i in ids
    ]


def drifted(config: Path, table: str, v1: list[dict[str, Any]], v2: list[dict[str, Any]]) -> dict[str, Any]:
    """v1 loaded at step 1; v2 arrives at step 2 (held, diagnosed); step 3 repairs: its summary."""
    write_batch(config, table, "b-001.jsonl", v1)
    run(config)
    write_batch(config, table, "b-002.jsonl", v2)
    balanced(run(config), len(v1) + len(v2), quarantined=len(v2))
    return run(config)


def test_a_one_row_coincidence_is_no_rename(tmp_path: Path, warehouse: str) -> None:
    """Seen for real: the one value a new field sent equalled a value of an optional column,
    and "value overlap 100%" made it a rename; every later record that still sent the real
    column was then held as "sent under its old name after the rename"."""
    config = make_project(tmp_path, warehouse, "orders", region="type: varchar")
    region = rows(range(1, 31), region=lambda i: f"r-{i}")
    summary = drifted(config, "orders", region, rows(range(101, 102), zone="r-7"))
    assert ("schema_migration", "orders", True) in fixes(summary)  # zone added
    write_batch(config, "orders", "b-003.jsonl", rows(range(201, 231), region=lambda i: f"r-{i}"))
    balanced(run(config), 61)  # the real column still loads
    assert state(config, "orders")[1] == []
    assert query(config, "SELECT id, region, zone FROM orders WHERE id IN (7, 101, 201) ORDER BY id") == [
        (7, "r-7", None),
        (101, None, "r-7"),
        (201, "r-201", None),
    ]
    (evidence,) = weighed(config, "orders")
    assert (evidence.old, evidence.new, evidence.overlap) == ("region", "zone", 1.0)
    assert (evidence.verdict, evidence.why) == (
        "add + optional",
        "only 1 held row sends zone; a rename needs 20",
    )


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        (16, "only 16 held rows send archived; a rename needs 20"),
        (25, "booleans: two flags share their values by chance"),
    ],
)
def test_two_boolean_fields_are_no_rename(tmp_path: Path, warehouse: str, sent: int, why: str) -> None:
    """Seen for real: two unrelated flags, both false, taken for a rename from 16 rows: the new
    flag's values went into the old flag's column and the new flag was stored nowhere."""
    config = make_project(tmp_path, warehouse, "accounts", is_active="type: boolean")
    v1, v2 = rows(range(1, 21), is_active=False), rows(range(101, 101 + sent), archived=False)
    summary = drifted(config, "accounts", v1, v2)
    balanced(summary, 20 + sent)
    assert ("schema_migration", "accounts", True) in fixes(summary)
    assert state(config, "accounts")[1] == []
    # Both fields stored: the old flag on the old rows, the new one (false, not NULL) on the new.
    assert query(config, "SELECT count(is_active), count(archived) FROM accounts") == [(20, sent)]
    assert query(config, "SELECT DISTINCT archived FROM accounts WHERE id > 100") == [(False,)]
    (evidence,) = weighed(config, "accounts")
    assert (evidence.verdict, evidence.why) == ("add + optional", why)


SHOP = """
warehouse: {warehouse}
landing: landing
tables:
  customers:
    key: customer_id
    columns:
      customer_id: {{type: bigint, nullable: false}}
      name:        {{type: varchar}}
  orders:
    key: order_id
    columns:
      order_id:    {{type: bigint, nullable: false}}
      customer_id: {{type: bigint}}
      amount:      {{type: "decimal(12,2)", nullable: false}}
budget: {{max_fixes: 15}}
goal: {{health: 0.95, error_rate: 0.02}}
"""


def shop_step(config: Path, step: int, customer_field: str = "customer_id") -> None:
    """Thirty new customers a step, and thirty orders: 24 by this step's new customers (ids no
    order held before), 6 by earlier ones."""
    first = 30 * (step - 1) + 1
    customers = [{"customer_id": c, "name": f"Customer {c}"} for c in range(first, first + 30)]
    buyers = [first + k if k % 5 else max(1, first - 1 - k) for k in range(30)]
    orders = [
        {"order_id": 1000 * step + k, customer_field: buyer, "amount": round(3 + k * 1.25, 2)}
        for k, buyer in enumerate(buyers)
    ]
    write_batch(config, "customers", f"c-{step:03d}.jsonl", customers)
    write_batch(config, "orders", f"o-{step:03d}.jsonl", orders)


def test_a_reference_renamed_while_new_ids_keep_arriving_is_a_rename(tmp_path: Path, warehouse: str) -> None:
    """Most customer ids of each batch are new, so the renamed column's values overlap the old
    column's history by 20% — as much as the old column's own batches did. They are all keys of
    customers, as the old column's were, and only case and separators changed in the name: a
    rename. With the adapter, readers of customer_id see every order's customer."""
    config = tmp_path / "pipefix.yaml"
    config.write_text(SHOP.format(warehouse=warehouse))
    for step in (1, 2, 3):
        shop_step(config, step)
        balanced(run(config), 60 * step)
    shop_step(config, 4, customer_field="customerId")
    balanced(run(config), 240, quarantined=30)  # the renamed rows are held, diagnosed
    (evidence,) = weighed(config, "orders")
    assert (evidence.old, evidence.new, evidence.verdict) == ("customer_id", "customerId", "rename")
    assert evidence.overlap == 0.2
    assert evidence.old_values.novelty == 0.8  # the old column's batches: 80% never-seen ids
    assert (evidence.reference, evidence.reference_share) == ("customers.customer_id", 1.0)
    assert evidence.name == "same words, case or separators changed (customer_id -> customerId)"
    assert evidence.confidence >= 0.95
    summary = run(config)  # the adapter, the replay
    assert ("add_adapter", "orders", True) in fixes(summary)
    shop_step(config, 5, customer_field="customerId")
    balanced(run(config), 300)  # later batches load through the adapter
    assert state(config, "orders")[1] == ["customer_id <- customerId"]
    assert query(config, "SELECT count(*), count(customer_id) FROM orders") == [(150, 150)]
    assert query(config, "SELECT customer_id FROM orders WHERE order_id = 4001") == [(92,)]
    assert held(config, "orders") == {("unexpected column(s): customerId", "schema", 5): 30}
    # The evidence and the confidence, where a person looks: the audit trail and the report.
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        (entry,) = [e for e in pipeline.history() if e["kind"] == "rename?"]
        page = build_report(pipeline.engine, ("customers", "orders"))
    assert entry["text"].startswith("orders.customer_id -> customerId: rename (confidence 98%: same words")
    assert entry["reason"] == (
        "30 rows; overlap 20%; customer_id: 73 distinct, range 1..90, shape 9, 80% new per batch; "
        "customerId: 30 distinct, range 65..120, shape 9; 100% in customers.customer_id"
    )
    assert "<h3>Renames weighed</h3>" in page
    assert "100% of customerId&#x27;s values are keys of customers.customer_id" in page


def test_a_reference_renamed_to_a_name_no_column_can_have_is_read_as_sent(
    tmp_path: Path, warehouse: str
) -> None:
    """ "Customer Id" cannot be a column's name as it is: the rename is weighed on the name as sent
    (the same words), and the adapter reads the field under that name."""
    config = tmp_path / "pipefix.yaml"
    config.write_text(SHOP.format(warehouse=warehouse))
    for step in (1, 2, 3):
        shop_step(config, step)
        run(config)
    shop_step(config, 4, customer_field="Customer Id")
    run(config)
    (evidence,) = weighed(config, "orders")
    assert (evidence.old, evidence.sent, evidence.verdict) == ("customer_id", "Customer Id", "rename")
    assert evidence.name == "same words, case or separators changed (customer_id -> Customer Id)"
    balanced(run(config), 240)
    assert state(config, "orders")[1] == ["customer_id <- Customer Id"]
    assert query(config, "SELECT count(*), count(customer_id) FROM orders") == [(120, 120)]


@pytest.mark.parametrize(("sent", "renamed"), [(20, True), (19, False)])
def test_a_rename_from_20_rows_with_strong_evidence_applies(
    tmp_path: Path, warehouse: str, sent: int, renamed: bool
) -> None:
    config = make_project(tmp_path, warehouse, "stock", product_id="type: bigint, nullable: false")
    v1 = rows(range(1, 41), product_id=lambda i: i)
    summary = drifted(config, "stock", v1, rows(range(101, 101 + sent), productId=lambda i: i - 100))
    balanced(summary, 40 + sent)
    (evidence,) = weighed(config, "stock")
    if renamed:
        assert (evidence.verdict, evidence.overlap, evidence.confidence) == ("rename", 1.0, 0.98)
        assert ("add_adapter", "stock", True) in fixes(summary)
        assert state(config, "stock")[1] == ["product_id <- productId"]
        assert query(config, "SELECT count(product_id) FROM stock") == [(40 + sent,)]
    else:
        why = "only 19 held rows send productId; a rename needs 20"
        assert (evidence.verdict, evidence.why) == ("add + optional", why)
        assert state(config, "stock")[1] == []
        assert query(config, 'SELECT count(product_id), count("productId") FROM stock') == [(40, 19)]


def test_under_rename_column_approve_the_rename_waits_with_its_evidence(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "stock", product_id="type: bigint, nullable: false")
    with_policy(config, "rename_column: approve")
    v1 = rows(range(1, 41), product_id=lambda i: i)
    summary = drifted(config, "stock", v1, rows(range(101, 131), productId=lambda i: i - 100))
    assert fixes(summary) == []
    balanced(summary, 70, quarantined=30)
    with Pipeline.open(config, clock=clock) as pipeline:
        (decision,) = [d for d in pipeline.decisions() if d["status"] == "pending"]
        assert (decision["fix_type"], decision["policy"]) == ("add_adapter", "rename_column")
        assert decision["drift"].startswith(
            "stock.product_id renamed to productId (30 rows, confidence 98%) — evidence: same words, case "
            "or separators changed (product_id -> productId); 100% of productId's distinct values already "
            "in product_id; 30 rows; overlap 100%; product_id: 40 distinct, range 1..40"
        )
        refused = [e["text"] for e in pipeline.history() if e["kind"] == "refused"]
        assert "waiting for approval (policy rename_column): pipefix approve" in refused[0]
        pipeline.decide(int(decision["id"]), True)
    summary = run(config)
    assert ("add_adapter", "stock", True) in fixes(summary)
    balanced(summary, 70)


def test_a_rejected_rename_becomes_a_column_added_and_the_old_one_kept(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "stock", product_id="type: bigint, nullable: false")
    with_policy(config, "rename_column: approve")
    v1 = rows(range(1, 41), product_id=lambda i: i)
    drifted(config, "stock", v1, rows(range(101, 131), productId=lambda i: i - 100))
    with Pipeline.open(config, clock=clock) as pipeline:
        (decision,) = [d for d in pipeline.decisions() if d["status"] == "pending"]
        pipeline.decide(int(decision["id"]), False)
    run(config)  # the rename refused: diagnosed again as a column added
    summary = run(config)  # migration, replay
    balanced(summary, 70)
    assert ("schema_migration", "stock", True) in fixes(summary)
    assert state(config, "stock")[1] == []
    assert query(config, 'SELECT count(product_id), count("productId") FROM stock') == [(40, 30)]
    (evidence,) = weighed(config, "stock")
    assert evidence.verdict == "add + optional"
    assert (
        evidence.why == f"known not to be a rename: a person rejected the rename (decision {decision['id']})"
    )


def test_a_rename_below_the_confidence_bar_waits_for_a_person(tmp_path: Path, warehouse: str) -> None:
    """Sequence numbers that keep growing, under an unrelated name: the values behave like the old
    column's (new numbers every batch, in its range), but nothing else says rename — 70%: asked."""
    config = make_project(tmp_path, warehouse, "parcels", seq_no="type: bigint")
    for step in (1, 2, 3):
        write_batch(
            config,
            "parcels",
            f"b-{step:03d}.jsonl",
            rows(range(100 * step, 100 * step + 30), seq_no=lambda i: 5000 + i),
        )
        run(config)
    write_batch(config, "parcels", "b-004.jsonl", rows(range(400, 430), position=lambda i: 5000 + i))
    run(config)
    summary = run(config)
    assert fixes(summary) == []
    (evidence,) = weighed(config, "parcels")
    assert (evidence.verdict, evidence.confidence, evidence.name) == ("ask", 0.7, "")
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        refused = [e["text"] for e in pipeline.history() if e["kind"] == "refused"]
        waiting = [d["fix_type"] for d in pipeline.decisions() if d["status"] == "pending"]
    assert "(policy rename_column; rename confidence seq_no -> position 70%, below 80%)" in refused[0]
    assert waiting == ["add_adapter"]


def test_a_migration_that_releases_none_of_its_rows_fails_and_is_undone(
    tmp_path: Path, warehouse: str
) -> None:
    """The held rows send a coupon (a column a migration can add) and a negative amount (a bad
    value, no drift): the migration passes its own checks, but its replay releases none of the
    30 rows it was planned for. It is reported failed, undone (coupon dropped, v1 back), and not
    tried again: the rows wait for a person, nothing lost."""
    config = make_project(tmp_path, warehouse, "orders", amount=f"{AMOUNT}, min: 0")
    v1 = rows(range(1, 21), amount=12.5)
    summary = drifted(config, "orders", v1, rows(range(101, 131), amount=-12.5, coupon=lambda i: f"C{i}"))
    migration, replay = summary["fixes"]
    assert (migration["action"], migration["ok"], replay["action"], replay["ok"]) == (
        "schema_migration",
        False,
        "retry_failed",
        False,
    )
    why = "schema_migration released none of the 30 held rows it was planned for"
    assert f"FAILED: {why}" in migration["detail"]
    assert replay["detail"].startswith(f"replayed 0 held rows into orders: {why}")
    assert "undone: orders back to v1.0 and adapter none, coupon dropped (empty)" in replay["detail"]
    version, transforms, columns = state(config, "orders")
    assert (version, transforms, "coupon" in columns) == (1, [], False)
    balanced(summary, 50, quarantined=30)
    summary = run(config)  # learned: no fix tried again, the rows wait for a person
    assert len(summary["fixes"]) == 2
    balanced(summary, 50, quarantined=30)
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        history = [e["text"] for e in pipeline.history()]
        waiting = [d for d in pipeline.decisions() if d["status"] == "pending"]
    assert any(t.startswith("apply_fix(schema_migration, orders) FAILED: v1.0 -> v2.0") for t in history)
    (repair,) = waiting
    assert repair["fix_type"] == "repair_needed"
    assert why in repair["drift"]
