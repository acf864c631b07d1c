"""Names a real producer sends that break naive SQL, end to end on every engine.

A table named `user` (PostgreSQL's `SELECT * FROM user` answers the current user, silently) with
reserved words as columns (`order`, `select`, `timestamp`, `group`, `user`), and fields whose
names cannot be columns at all: a double quote (`a"b`), a single quote (`o'brien`), a space and a
dot (`unit price`, `a.b`), unicode look-alikes (Cyrillic `оrder` beside Latin `order`, the `ﬁ`
ligature, a combining accent) and `Amount` beside `amount`. Allowed values hold both quotes.

`pipefix init --from` writes the contract (each odd field read through the adapter under a plain
column), the batches load, then a drift on such columns — a hostile field added, `user` renamed
`user_id`, `order` and `unit price` widened — is repaired by the agent and its held rows
replayed. Every value is read back from the warehouse exactly, received = loaded + held, the
health figures count each column's nulls, and the CLI's `--json` and the HTML report name the
columns as sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.engines import health, store
from pipefix.engines.base import Engine, EngineError
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.postgres import PostgresEngine
from pipefix.engines.sql.dialects import DUCKDB
from pipefix.engines.sql.migration import RetypeColumn, ShapeChange
from pipefix.engines.types import physical_type
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.tools import ingest
from pipefix.tools.context import PipelineContext
from pipefix.tools.schema_migration import MigrationPlan, shadow_trial_of
from tests.conftest import settled

quote = DUCKDB.ident  # a name as the tests' SQL text writes it

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TABLE = "user"
CYRILLIC_ORDER = "\u043erder"  # о (U+043E) then "rder": not the column `order`
LIGATURE = "\ufb01eld"  # ﬁ (U+FB01) then "eld"
ACCENTED = "cafe\u0301"  # e and a combining acute accent
ADDED = 'note\'s "tag"'  # a field added by the drift: both quotes and a space
ALLOWED = ("o'k", 'say "hi"', "plain")


def clock(step: int) -> datetime:
    return NOW


def record(i: int) -> dict[str, Any]:
    """Version 1 of the producer's records."""
    row: dict[str, Any] = {
        "id": i,
        "order": i * 10,
        "select": f"sel{i}",
        "timestamp": f"2026-11-01T10:{i % 60:02d}:00+02:00",
        "group": ALLOWED[i % 3],
        "user": f"u{i}",
        'a"b': f'q"{i}',
        "o'brien": None if i % 4 == 0 else f"ob'{i}",
        "unit price": float(f"{i}.25"),
        "a.b": i % 5,
        CYRILLIC_ORDER: f"cyr{i}",
        ACCENTED: f"acc{i}",
        "Amount": i + 0.5,
        "amount": i,
    }
    if i % 5:
        row[LIGATURE] = f"lig{i}"  # missing from every fifth record
    return row


def drifted(i: int) -> dict[str, Any]:
    """Version 2: `order` past 32 bits, `unit price` with a third decimal, `user` renamed
    `user_id`, a reserved word and a hostile name added."""
    row = record(i)
    row["order"] = 3_000_000_000 + i
    row["unit price"] = float(f"{i}.125")
    row["user_id"] = row.pop("user")
    row["from"] = f"f{i}"
    row[ADDED] = f"n'{i}\""
    return row


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    settled(path)
    return path


@pytest.fixture(params=["duckdb", "postgres", pytest.param("spark-connect", marks=pytest.mark.slow)])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    if request.param == "spark-connect":
        return str(request.getfixturevalue("spark_connect_url"))
    return "duckdb:///warehouse.duckdb"


@pytest.fixture
def project(tmp_path: Path, warehouse: str) -> Path:
    """`pipefix init --from` on 30 version-1 records, with bounds added on `unit_price`."""
    samples = tmp_path / "samples"
    write(samples / TABLE / "s1.jsonl", [record(i) for i in range(1, 31)])
    project = tmp_path / "shop"
    done = CliRunner().invoke(main, ["init", str(project), "--from", str(samples), "--warehouse", warehouse])
    assert done.exit_code == 0, done.output
    assert "30 of 30 load in a trial" in done.output
    config = project / "pipefix.yaml"
    text = config.read_text(encoding="utf-8")
    bounded = text.replace('source: "unit price"}', 'source: "unit price", min: 0.25, max: 99999.5}')
    assert bounded != text
    config.write_text(bounded, encoding="utf-8")
    return project


def contract_columns(config: Path) -> dict[str, tuple[str, str | None]]:
    """Column -> (type, the field it is read from) as `init --from` wrote them."""
    from pipefix.config import load_config

    loaded = load_config(config)
    contract = loaded.contracts()[TABLE]
    sources = {t.column: t.source for t in loaded.adapters()[TABLE].transforms}
    return {c.name: (c.type, sources.get(c.name)) for c in contract.columns}


def cli_json(project: Path, *args: str) -> Any:
    done = CliRunner().invoke(main, [*args, "--json", "--config", str(project / "pipefix.yaml")])
    assert done.exit_code in (0, 1), done.output
    return json.loads(done.stdout)


def row_of(engine: Engine, columns: tuple[str, ...], key: int) -> dict[str, Any]:
    selected = ", ".join(quote(c) for c in columns)
    rows = engine.query(f"SELECT {selected} FROM {quote(TABLE)} WHERE {quote('id')} = ?", (key,))
    assert len(rows) == 1, rows
    return dict(zip(columns, rows[0], strict=True))


def instant(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def test_hostile_names_load_drift_repair_and_replay_on_every_engine(project: Path) -> None:
    config = project / "pipefix.yaml"
    columns = contract_columns(config)
    # Reserved words are columns as sent; the other fields are read under plain names.
    assert columns == {
        "id": ("integer", None),
        "order": ("integer", None),
        "select": ("varchar", None),
        "timestamp": ("timestamptz", None),
        "group": ("varchar", None),
        "user": ("varchar", None),
        "a_b": ("varchar", 'a"b'),
        "o_brien": ("varchar", "o'brien"),
        "unit_price": ("decimal(18,2)", "unit price"),
        "a_b_2": ("integer", "a.b"),
        "rder": ("varchar", CYRILLIC_ORDER),
        "eld": ("varchar", LIGATURE),
        "cafe": ("varchar", ACCENTED),
        "Amount": ("decimal(18,1)", None),
        "amount_2": ("integer", "amount"),
    }

    # Version 1, with three rows that break the contract's values: held, never dropped.
    landing = project / "landing" / TABLE
    held = [
        {**record(91), "group": 'it\'s "new"'},
        {**record(92), "group": "o'k'"},  # not the allowed value, nor any spelling of one
        {**record(93), "unit price": 0.1},  # below min 0.25
    ]
    write(landing / "b1.jsonl", [record(i) for i in range(1, 31)] + held)
    with Pipeline.open(config, clock=clock) as pipeline:
        summary = pipeline.run(1)
    assert {k: summary["rows"][k] for k in ("received", "loaded", "quarantined", "lost")} == {
        "received": 33,
        "loaded": 30,
        "quarantined": 3,
        "lost": 0,
    }

    # The drift: 30 records of version 2, held for their shape, then repaired.
    write(landing / "b2.jsonl", [drifted(i) for i in range(31, 61)])
    with Pipeline.open(config, clock=clock) as pipeline:
        summary = pipeline.run(1)
        assert summary["rows"]["quarantined"] == 33
        summary = pipeline.run(2)
    assert {k: summary["rows"][k] for k in ("received", "loaded", "quarantined", "replayed", "lost")} == {
        "received": 63,
        "loaded": 60,
        "quarantined": 3,
        "replayed": 30,
        "lost": 0,
    }
    fixes = [f for f in summary["fixes"] if f["ok"]]
    assert {f["action"] for f in fixes} >= {"schema_migration", "add_adapter", "retry_failed"}
    migration = next(f["detail"] for f in fixes if f["action"] == "schema_migration")
    assert "widen order integer -> bigint" in migration
    assert "add column from varchar" in migration
    assert 'add column note_s_tag (sent as "note\'s \\"tag\\"") varchar' in migration
    adapter = next(f["detail"] for f in fixes if f["action"] == "add_adapter")
    assert "widen unit_price decimal(18,2) -> decimal(19,3)" in migration
    assert "user <- user_id" in adapter
    assert f"rder <- {CYRILLIC_ORDER}" in adapter
    assert 'note_s_tag <- note\'s "tag"' in adapter

    with Pipeline.open(config, read_only=True, clock=clock) as pipeline:
        engine = pipeline.engine
        contract = store.active_contract(engine, TABLE)
        types = {c.name: c.type for c in contract.columns}
        assert types["order"] == "bigint"
        assert types["unit_price"] == "decimal(19,3)"
        assert types["from"] == "varchar"
        assert types["note_s_tag"] == "varchar"
        accounting = store.row_accounting(engine, (TABLE,))
        assert (accounting["received"], accounting["loaded"], accounting["quarantined"]) == (63, 60, 3)
        assert (accounting["lost"], accounting["duplicated"], accounting["replayed"]) == (0, 0, 30)
        assert engine.query(f"SELECT count(*) FROM {quote(TABLE)}") == [(60,)]

        names: tuple[str, ...] = ("order", "select", "timestamp", "group", "user", "a_b", "o_brien")
        names += ("unit_price", "a_b_2", "rder", "eld", "cafe", "Amount", "amount_2", "from", "note_s_tag")
        first = row_of(engine, names, 7)
        assert {k: v for k, v in first.items() if k != "timestamp"} == {
            "order": 70,
            "select": "sel7",
            "group": 'say "hi"',
            "user": "u7",
            "a_b": 'q"7',
            "o_brien": "ob'7",
            "unit_price": Decimal("7.25"),
            "a_b_2": 2,
            "rder": "cyr7",
            "eld": "lig7",
            "cafe": "acc7",
            "Amount": Decimal("7.5"),
            "amount_2": 7,
            "from": None,
            "note_s_tag": None,
        }
        assert instant(first["timestamp"]) == datetime(2026, 11, 1, 8, 7, tzinfo=UTC)
        replayed = row_of(engine, names, 40)
        assert {k: v for k, v in replayed.items() if k != "timestamp"} == {
            "order": 3_000_000_040,
            "select": "sel40",
            "group": 'say "hi"',
            "user": "u40",
            "a_b": 'q"40',
            "o_brien": None,
            "unit_price": Decimal("40.125"),
            "a_b_2": 0,
            "rder": "cyr40",
            "eld": None,
            "cafe": "acc40",
            "Amount": Decimal("40.5"),
            "amount_2": 40,
            "from": "f40",
            "note_s_tag": "n'40\"",
        }
        # Latin `order` and Cyrillic `оrder` stayed two columns, whole.
        totals = engine.query(
            f"SELECT count(*), sum({quote('order')}), count(DISTINCT {quote('rder')}), "
            f"count({quote('from')}), count({quote('note_s_tag')}) FROM {quote(TABLE)}"
        )
        assert totals == [
            (60, sum(range(10, 310, 10)) + sum(3_000_000_000 + i for i in range(31, 61)), 60, 30, 30)
        ]

        # Health: nulls per hostile column, values whose allowed list holds both quotes.
        physical = health.physical_schemas(engine, (TABLE,))[TABLE]
        measured = health.measure_table(engine, contract, physical, step=10).figures
        assert measured.rows == 60
        assert measured.nulls["o_brien"] == 15  # every fourth id of 1..60
        assert measured.nulls["eld"] == 12  # every fifth
        assert measured.nulls["from"] == measured.nulls["note_s_tag"] == 30  # version 1 rows
        assert measured.nulls["user"] == 0
        assert measured.not_allowed == {"group": 0}
        assert (measured.below_min, measured.above_max) == ({"unit_price": 0}, {"unit_price": 0})
        assert measured.duplicate_keys == 0

    quarantine = cli_json(project, "quarantine")
    assert quarantine["held"] == 3
    reasons = sorted(g["reason"].rsplit("; ", 1)[-1] for g in quarantine["groups"])
    assert reasons == [
        'group: value not allowed: it\'s "new"',
        "group: value not allowed: o'k'",
        "unit_price: below minimum 0.25",
    ]
    adapters = cli_json(project, "adapters", "list", TABLE)["adapters"]
    assert {a["column"]: a["source"] for a in adapters if a["kind"] == "rename"} == {
        "a_b": 'a"b',
        "o_brien": "o'brien",
        "unit_price": "unit price",
        "a_b_2": "a.b",
        "rder": CYRILLIC_ORDER,
        "eld": LIGATURE,
        "cafe": ACCENTED,
        "amount_2": "amount",
        "note_s_tag": ADDED,
        "user": "user_id",
    }
    check = cli_json(project, "check")
    assert check["tables"][TABLE]["received"] == 63
    assert check["tables"][TABLE]["quarantine_open"] == 3

    report = project / "report.html"
    done = CliRunner().invoke(main, ["report", "--config", str(config), "-o", str(report)])
    assert done.exit_code == 0, done.output
    html = report.read_text(encoding="utf-8")
    assert "note_s_tag" in html
    assert "note&#x27;s" in html or "note&#39;s" in html or "note's" in html


@pytest.fixture(params=["duckdb", "postgres"])
def bare(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A warehouse without pipefix's state: health's figures need only the user table."""
    engine: Engine
    if request.param == "postgres":
        engine = PostgresEngine(request.getfixturevalue("pg_url"))
    else:
        engine = DuckDBEngine(tmp_path / "bare.duckdb")
    yield engine
    engine.close()


def test_bounds_and_allowed_values_with_quotes_are_sql_literals_not_python_reprs(bare: Engine) -> None:
    """health's figures: bounds written as SQL numbers (`0.00001`, never Python's `1e-05`),
    allowed values quoted whatever quotes they hold, on a table and columns named by reserved
    words; the counts are read from the warehouse."""
    contract = Contract(
        "order",
        1,
        (
            ColumnSpec("select", "decimal(12,6)", min=1e-05, max=1e20),
            ColumnSpec("group", "varchar", values=("o'k", 'say "hi"', "it''s")),
            ColumnSpec("a_b", "double", min=-2.5e-07, max=1e300),
        ),
    )
    physical = {"select": "decimal(12,6)", "group": "varchar", "a_b": "double"}
    sql = health.plan_measure(contract, physical, step=1, keep=False).sql
    assert '"select" < 0.00001' in sql
    assert '"select" > 100000000000000000000' in sql
    assert '"a_b" < -0.00000025' in sql
    assert '"a_b" > 1E+300' in sql
    assert "CAST(\"group\" AS VARCHAR) NOT IN ('o''k', 'say \"hi\"', 'it''''s')" in sql

    double = physical_type("double", bare.capabilities.dialect)
    bare.execute(f'CREATE TABLE "order" ("select" DECIMAL(12,6), "group" VARCHAR, a_b {double})')
    rows = [
        (Decimal("0.000001"), "o'k", -1.0),  # below both minimums
        (Decimal("0.00001"), 'say "hi"', 0.0),  # on the minimum: allowed
        (Decimal("5"), "it''s", None),
        (None, "it's", 1.5),  # one quote, not the two allowed
        (Decimal("7"), 'say "hi" ', 2.0),  # a space after
    ]
    for row in rows:
        bare.execute('INSERT INTO "order" VALUES (?, ?, ?)', row)
    figures = health.measure_table(bare, contract, physical, step=1, keep=False).figures
    assert figures.rows == 5
    assert figures.nulls == {"select": 1, "group": 0, "a_b": 1}
    assert figures.below_min == {"select": 1, "a_b": 1}
    assert figures.above_max == {"select": 0, "a_b": 0}
    assert figures.not_allowed == {"group": 2}


def test_a_migration_statement_failing_in_its_shadow_trial_keeps_its_own_message(bare: Engine) -> None:
    """A statement of the shadow trial that fails (here one naming a field, `unit price`, where
    the table has `unit_price`) aborts the transaction around it: the error the agent records
    is that statement's, not the clean-up's "transaction is aborted"."""
    store.ensure_schema(bare)
    ctx = PipelineContext(bare, (TABLE,), clock, 60)
    contract = Contract(
        TABLE, 1, (ColumnSpec("id", "bigint", False), ColumnSpec("unit_price", "decimal(18,2)"))
    )
    ingest.setup(ctx, {TABLE: contract})
    plan = MigrationPlan(TABLE, contract, (), (), ("widen unit price",), ())

    def replan(shadow: Contract) -> tuple[ShapeChange, ...]:
        return (RetypeColumn(shadow.table, "unit price", "decimal(19,3)"),)

    with pytest.raises(EngineError) as raised, bare.transaction():
        shadow_trial_of(ctx, plan, replan)
    assert "unit price" in str(raised.value)
    assert "aborted" not in str(raised.value)
    # Rolled back whole: no shadow copy left, the table as it was, the engine usable.
    assert health.physical_schemas(bare, (TABLE,))[TABLE]["unit_price"] == health.expected_type(
        "decimal(18,2)", bare.capabilities.dialect
    )
    assert bare.query(f"SELECT count(*) FROM {quote(TABLE)}") == [(0,)]
