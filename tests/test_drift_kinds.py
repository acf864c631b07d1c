"""One test per kind of schema drift, on DuckDB and on a real PostgreSQL: the drifted batch is held,
a separate `run` repairs it, and in the end every row sent is loaded (or held for a stated reason),
values exact, nothing lost or doubled."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipefix.api import Pipeline
from pipefix.engines import store
from pipefix.tools.run_diagnostic import latest_diagnosis
from tests.conftest import settled

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
COUNTRIES = ("DE", "FR", "US", "GB", "NL")
AMOUNT = 'type: "decimal(12,2)", nullable: false'
REQUIRED_TEXT = "type: varchar, nullable: false"

CONFIG = """
warehouse: {warehouse}
landing: landing
tables:
  {table}:
    key: id
    columns:
      id:         {{type: bigint, nullable: false}}
{columns}
      created_at: {{type: timestamp, nullable: false}}
    freshness: 24h
budget: {{max_fixes: 15}}
goal: {{health: 0.95, error_rate: 0.02}}
"""


def clock(step: int) -> datetime:
    return NOW


def iso(offset_minutes: int) -> str:
    return (NOW - timedelta(minutes=offset_minutes)).isoformat()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return "duckdb:///warehouse.duckdb"


def make_project(tmp_path: Path, warehouse: str, table: str, **columns: str) -> Path:
    lines = "\n".join(f"      {name + ':':<11} {{{spec}}}" for name, spec in columns.items())
    config = tmp_path / "pipefix.yaml"
    config.write_text(CONFIG.format(warehouse=warehouse, table=table, columns=lines))
    return config


def write_batch(config: Path, table: str, name: str, rows: list[dict[str, Any]]) -> None:
    path = config.parent / "landing" / table / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled(path)


def run(config: Path) -> dict[str, Any]:
    with Pipeline.open(config, clock=clock) as pipeline:
        return pipeline.run(1)


def query(config: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        return [tuple(r) for r in pipeline.engine.query(sql, params)]


def held(config: Path, table: str) -> Counter[tuple[str, str, int | None]]:
    """The table's quarantine as (reason, kind, replayed_step) -> rows."""
    sql = "SELECT reason, kind, replayed_step FROM pipefix.quarantine WHERE table_name = ?"
    rows = query(config, sql, (table,))
    return Counter((str(r), str(k), None if s is None else int(s)) for r, k, s in rows)


def state(config: Path, table: str) -> tuple[int, list[str], set[str]]:
    """(active contract version, adapter transforms, physical columns) of a table."""
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        engine = pipeline.engine
        adapter = store.active_adapter(engine, table)
        rows = engine.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        transforms = [t.describe() for t in adapter.transforms] if adapter else []
        return store.active_contract(engine, table).version, transforms, {str(r[0]) for r in rows}


def healthy_now(config: Path) -> float:
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        result = pipeline.check()
        assert result.healthy, result.as_dict()
        return result.metrics.health


def balanced(summary: dict[str, Any], received: int, quarantined: int = 0) -> None:
    rows = summary["rows"]
    assert rows["received"] == received
    assert rows["loaded"] + rows["quarantined"] == received
    assert rows["quarantined"] == quarantined
    assert rows["lost"] == 0
    assert rows["duplicated"] == 0


def money(i: int) -> float:
    return round(i * 1.37 + 0.05, 2)


def sent_money(ids: range | list[int]) -> Decimal:
    return sum((Decimal(repr(money(i))) for i in ids), Decimal(0))


@pytest.mark.parametrize("nullable", ["false", "true"])
def test_low_cardinality_column_under_a_new_name_is_added_and_the_old_one_kept_optional(
    tmp_path: Path, warehouse: str, nullable: str
) -> None:
    """Five country codes under a new name: with so few distinct values any two columns share
    them, so the overlap proves nothing — the new column is added, the old one kept (optional),
    every value stored under the name it was sent as."""
    country = f"type: varchar, nullable: {nullable}"
    config = make_project(tmp_path, warehouse, "customers", country=country, amount=AMOUNT)

    def row(i: int, field: str) -> dict[str, Any]:
        return {"id": i, field: COUNTRIES[i % 5], "amount": money(i), "created_at": iso(i % 50)}

    write_batch(config, "customers", "b-001.jsonl", [row(i, "country") for i in range(1, 51)])
    balanced(run(config), 50)

    write_batch(config, "customers", "b-002.jsonl", [row(i, "country_code") for i in range(101, 141)])
    summary = run(config)  # the new name arrives: rows held, diagnosed
    assert summary["drift_step"] == 2
    balanced(summary, 90, quarantined=40)

    summary = run(config)  # a separate run repairs: migration, replay
    balanced(summary, 90)
    assert summary["rows"]["replayed"] == 40
    assert healthy_now(config) >= 0.95
    ok = {(f["action"], f["target"]) for f in summary["fixes"] if f["ok"]}
    assert ("schema_migration", "customers") in ok
    assert ("add_adapter", "customers") not in ok

    write_batch(config, "customers", "b-003.jsonl", [row(i, "country_code") for i in range(201, 241)])
    summary = run(config)  # later batches load directly
    balanced(summary, 130)
    assert summary["final"]["health"] >= 0.95

    version, transforms, columns = state(config, "customers")
    assert (version, transforms) == (2, [])
    assert {"country", "country_code"} <= columns
    assert query(config, "SELECT count(country), count(country_code) FROM customers") == [(50, 80)]
    ids = [*range(1, 51), *range(101, 141), *range(201, 241)]
    assert query(
        config, "SELECT coalesce(country, country_code), count(*) FROM customers GROUP BY 1 ORDER BY 1"
    ) == sorted(Counter(COUNTRIES[i % 5] for i in ids).items())
    assert query(config, "SELECT count(*), sum(amount) FROM customers") == [(130, sent_money(ids))]
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        diagnosis = latest_diagnosis(pipeline.context, "customers")
    assert diagnosis is not None
    (weighed,) = diagnosis.renames
    assert (weighed.verdict, weighed.why) == (
        "add + optional",
        "low cardinality (5 distinct values): shared values mean nothing",
    )


def test_renamed_column_without_value_overlap_is_removed_plus_added(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "items", sku=REQUIRED_TEXT)
    first = [{"id": i, "sku": f"S-{i}", "created_at": iso(i)} for i in range(1, 31)]
    write_batch(config, "items", "b-001.jsonl", first)
    balanced(run(config), 30)

    renamed = [{"id": i, "product_code": f"P-{i * 7}", "created_at": iso(1)} for i in range(101, 131)]
    write_batch(config, "items", "b-002.jsonl", renamed)
    balanced(run(config), 60, quarantined=30)

    summary = run(config)
    balanced(summary, 60)
    assert summary["rows"]["replayed"] == 30
    assert healthy_now(config) >= 0.95
    ok = {(f["action"], f["target"]) for f in summary["fixes"] if f["ok"]}
    assert ("schema_migration", "items") in ok
    assert ("add_adapter", "items") not in ok

    version, transforms, columns = state(config, "items")
    assert (version, transforms) == (2, [])
    assert {"sku", "product_code"} <= columns
    assert query(config, "SELECT count(sku), count(product_code) FROM items") == [(30, 30)]
    got = query(config, "SELECT id, sku, product_code FROM items ORDER BY id")
    assert got == [(i, f"S-{i}", None) for i in range(1, 31)] + [
        (r["id"], None, r["product_code"]) for r in renamed
    ]
    reason = "unexpected column(s): product_code; sku: missing"
    assert held(config, "items") == Counter({(reason, "schema", 3): 30})


def test_nulls_in_required_column_make_it_optional(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "users", email=REQUIRED_TEXT, amount=AMOUNT)

    def row(i: int, email: str | None) -> dict[str, Any]:
        return {"id": i, "email": email, "amount": money(i), "created_at": iso(i % 30)}

    write_batch(config, "users", "b-001.jsonl", [row(i, f"u{i}@x.io") for i in range(1, 41)])
    balanced(run(config), 40)

    write_batch(
        config, "users", "b-002.jsonl", [row(i, None if i % 2 else f"u{i}@x.io") for i in range(101, 161)]
    )
    summary = run(config)
    balanced(summary, 100, quarantined=30)  # only the rows with a null email are held
    assert held(config, "users") == Counter({("email: missing", "schema", None): 30})

    summary = run(config)
    balanced(summary, 100)
    assert summary["rows"]["replayed"] == 30
    assert healthy_now(config) >= 0.95
    version, transforms, columns = state(config, "users")
    assert (version, transforms) == (2, [])
    assert "email" in columns
    ids = [*range(1, 41), *range(101, 161)]
    assert query(config, "SELECT count(*), count(email), sum(amount) FROM users") == [
        (100, 70, sent_money(ids))
    ]
    assert query(config, "SELECT min(id), max(id) FROM users WHERE email IS NULL") == [(101, 159)]
    assert held(config, "users") == Counter({("email: missing", "schema", 3): 30})


def enum_project(tmp_path: Path, warehouse: str) -> Path:
    config = make_project(
        tmp_path, warehouse, "orders", status="type: varchar, values: [new, paid]", amount=AMOUNT
    )
    first = [enum_row(i, "new" if i % 2 else "paid") for i in range(1, 51)]
    write_batch(config, "orders", "b-001.jsonl", first)
    balanced(run(config), 50)
    return config


def enum_row(i: int, status: str) -> dict[str, Any]:
    return {"id": i, "status": status, "amount": money(i), "created_at": iso(i % 60)}


def test_common_new_enum_value_is_allowed_and_a_rare_bad_one_stays_held(
    tmp_path: Path, warehouse: str
) -> None:
    config = enum_project(tmp_path, warehouse)
    statuses = ["refunded"] * 20 + ["bogus"] + ["paid"] * 79  # 20% a new value, 1% a bad one
    write_batch(config, "orders", "b-002.jsonl", [enum_row(101 + n, s) for n, s in enumerate(statuses)])
    summary = run(config)
    balanced(summary, 150, quarantined=21)
    assert held(config, "orders") == Counter(
        {
            ("status: value not allowed: refunded", "value", None): 20,
            ("status: value not allowed: bogus", "value", None): 1,
        }
    )

    summary = run(config)
    balanced(summary, 150, quarantined=1)
    assert summary["rows"]["replayed"] == 20
    assert healthy_now(config) >= 0.95
    version, transforms, _ = state(config, "orders")
    assert (version, transforms) == (2, [])
    assert query(config, "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status") == [
        ("new", 25),
        ("paid", 25 + 79),
        ("refunded", 20),
    ]
    loaded_ids = [*range(1, 51)] + [101 + n for n, s in enumerate(statuses) if s != "bogus"]
    assert query(config, "SELECT sum(amount) FROM orders") == [(sent_money(loaded_ids),)]
    assert held(config, "orders") == Counter(
        {
            ("status: value not allowed: refunded", "value", 3): 20,
            ("status: value not allowed: bogus", "value", None): 1,
        }
    )


def test_rare_bad_enum_value_stays_held_as_not_allowed(tmp_path: Path, warehouse: str) -> None:
    config = enum_project(tmp_path, warehouse)
    statuses = ["bogus"] + ["paid"] * 99  # 1 row in 100: a bad value, not a producer change
    write_batch(config, "orders", "b-002.jsonl", [enum_row(101 + n, s) for n, s in enumerate(statuses)])
    balanced(run(config), 150, quarantined=1)
    for _ in range(2):
        balanced(run(config), 150, quarantined=1)
    assert healthy_now(config) >= 0.95
    assert state(config, "orders")[:2] == (1, [])
    assert held(config, "orders") == Counter({("status: value not allowed: bogus", "value", None): 1})
    assert query(config, "SELECT line_no, raw FROM pipefix.quarantine") == [
        (1, json.dumps(enum_row(101, "bogus")))
    ]
    assert query(config, "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status") == [
        ("new", 25),
        ("paid", 25 + 99),
    ]
    assert query(config, "SELECT sum(amount) FROM orders") == [
        (sent_money([*range(1, 51), *range(102, 201)]),)
    ]


def test_integer_column_receiving_bigint_values_is_widened(tmp_path: Path, warehouse: str) -> None:
    config = make_project(tmp_path, warehouse, "events", qty="type: integer, nullable: false")
    first = [{"id": i, "qty": i if i < 30 else 2**31 - 1, "created_at": iso(i)} for i in range(1, 31)]
    write_batch(config, "events", "b-001.jsonl", first)
    balanced(run(config), 30)

    big: list[dict[str, Any]] = [
        {"id": i, "qty": 5_000_000_000 + i, "created_at": iso(1)} for i in range(101, 121)
    ]
    write_batch(config, "events", "b-002.jsonl", big)
    summary = run(config)
    balanced(summary, 50, quarantined=20)
    assert all(r.startswith("qty: expected integer, got ") for r, _, _ in held(config, "events"))

    summary = run(config)
    balanced(summary, 50)
    assert state(config, "events")[0] == 2
    expected = sum(range(1, 30)) + 2**31 - 1 + sum(r["qty"] for r in big)
    assert query(config, "SELECT sum(qty) FROM events") == [(expected,)]
    assert healthy_now(config) >= 0.95


def test_decimal_beyond_its_scale_widens_and_only_what_no_decimal_holds_stays_held(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_project(tmp_path, warehouse, "prices", amount=AMOUNT)
    first = [{"id": i, "amount": money(i), "created_at": iso(i)} for i in range(1, 41)]
    write_batch(config, "prices", "b-001.jsonl", first)
    balanced(run(config), 40)

    precise = [{"id": i, "amount": i + 0.125, "created_at": iso(1)} for i in range(101, 111)]
    exact = [{"id": i, "amount": money(i), "created_at": iso(1)} for i in range(111, 141)]
    tiny = [{"id": i, "amount": 1e-40, "created_at": iso(1)} for i in range(141, 151)]  # 40 decimals
    write_batch(config, "prices", "b-002.jsonl", precise + exact + tiny)
    balanced(run(config), 90, quarantined=20)
    for _ in range(2):  # decimal(12,2) widens to hold 0.125 exactly; 1e-40 fits no decimal(38,s)
        summary = run(config)
    balanced(summary, 90, quarantined=10)

    version, adapter, _ = state(config, "prices")
    assert (version, adapter) == (2, [])
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        column = store.active_contract(pipeline.engine, "prices").column("amount")
    assert column is not None
    assert column.type == "decimal(18,3)"
    ids = [*range(1, 41), *range(111, 141)]
    total = sent_money(ids) + sum(Decimal(repr(p["amount"])) for p in precise)
    assert query(config, "SELECT count(*), sum(amount) FROM prices") == [(80, total)]
    assert held(config, "prices") == Counter(
        {
            ("amount: more digits after the point than decimal(12,2) holds", "schema", 3): 10,
            ("amount: value not exact at this scale", "value", None): 10,
        }
    )
    raw = query(config, "SELECT raw FROM pipefix.quarantine WHERE replayed_step IS NULL ORDER BY line_no")
    assert [json.loads(r[0])["amount"] for r in raw] == [t["amount"] for t in tiny]
    # 10 of 90 rows wait with no repair: the pipeline is not healthy.
    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        result = pipeline.check()
    assert not result.healthy
    assert result.metrics.max_held_share == round(10 / 90, 4)


@pytest.mark.parametrize(
    ("field", "column"),
    [
        ("", "field"),
        ("a b", "a_b"),
        ('x"; DROP TABLE items; --', "x_drop_table_items"),
        ("pipefix_meta", "field_pipefix_meta"),
        ("é", "field"),
        ("AMOUNT", "amount_2"),  # `amount` to the warehouse, which folds case
    ],
)
def test_a_field_whose_name_cannot_be_a_column_loads_under_a_plain_one_and_no_ddl_names_it(
    tmp_path: Path, warehouse: str, field: str, column: str
) -> None:
    config = make_project(tmp_path, warehouse, "items", amount=AMOUNT)
    good = [{"id": i, "amount": money(i), "created_at": iso(i)} for i in range(1, 21)]
    odd = [{"id": i, "amount": money(i), "created_at": iso(i), field: f"x{i}"} for i in range(21, 31)]
    write_batch(config, "items", "b-001.jsonl", good + odd)
    for _ in range(3):
        summary = run(config)
    balanced(summary, 30)
    version, adapter, columns = state(config, "items")
    assert version == 2
    assert adapter == [f"{column} <- {field}"]  # the mapping is part of the contract
    assert field not in columns
    assert column in columns
    sql = f'SELECT id, "{column}" FROM items WHERE "{column}" IS NOT NULL ORDER BY id'
    assert query(config, sql) == [(i, f"x{i}") for i in range(21, 31)]
    assert f"{column} (sent as {json.dumps(field)})" in " ".join(f["detail"] for f in summary["fixes"])
