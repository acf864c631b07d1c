"""Sample batches read as the loader reads them, and the property `pipefix init --from` rests on:
the contract guessed from samples loads every one of them (JSONL and CSV), with no loosening."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipefix.engines import samples
from pipefix.project_samples import InferredTable, infer_project
from tests.tiers import examples

PROPERTY = settings(
    max_examples=examples(60, 12), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

FIELDS = st.sampled_from(["id", "a", "A", "amount", "created_at", "Height(in)", "+1", "tags", "note"])
NUMBER_TEXTS = st.sampled_from(
    ["0", "-0", "7", "12.50", "-3.25", "1e5", "2.5E-3", "2147483648", "0.1000000000000000055511"]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    NUMBER_TEXTS,
    st.sampled_from(
        [
            '"2019-05-15T15:20:18Z"',
            '"2013-07-03T19:00:00-04:00"',
            '"2026-11-20 11:00:00"',
            '"2019-11-01"',
            '"2019-02-30"',
            '" 12"',
            '"paid"',
            '""',
            '"caf\\u00e9"',
        ]
    ),
).map(lambda v: "null" if v is None else ("true" if v is True else "false" if v is False else v))
VALUES = st.one_of(SCALARS, st.just('{"k": [1, 2.50]}'), st.just("[]"))


def trial_is_clean(tables: tuple[InferredTable, ...]) -> None:
    for table in tables:
        assert table.trial is not None
        assert table.trial.held == {}, table.trial.held
        assert table.trial.loaded == table.trial.received == table.read.records
        assert not table.guess.notes, "the first guess had to be loosened"
        assert not any("did not load" in c.note for c in table.guess.columns)


@PROPERTY
@given(records=st.lists(st.dictionaries(FIELDS, VALUES, min_size=1, max_size=5), min_size=1, max_size=6))
def test_a_guessed_contract_loads_its_jsonl_samples(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, str]]
) -> None:
    folder = tmp_path_factory.mktemp("samples")
    lines = ["{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in r.items()) + "}" for r in records]
    (folder / "things").mkdir()
    (folder / "things" / "b.jsonl").write_text("\n".join(lines) + "\n")
    trial_is_clean(infer_project(folder).tables)


CSV_TEXTS = st.sampled_from(
    [
        "",
        "1",
        " 65.78",
        "112.00 ",
        "01234",
        "-7",
        "1e3",
        "true",
        " FALSE",
        "paid",
        "2019-11-01",
        "2019-05-15T15:20:18Z",
        "a,b",
        'say "hi"',
    ]
)


@PROPERTY
@given(rows=st.lists(st.lists(CSV_TEXTS, min_size=3, max_size=3), min_size=1, max_size=8))
def test_a_guessed_contract_loads_its_csv_samples(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]
) -> None:
    folder = tmp_path_factory.mktemp("samples")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Index", " Height(Inches)", "status"])
    writer.writerows(rows)
    (folder / "people.csv").write_text(out.getvalue())
    inferred = infer_project(folder)
    trial_is_clean(inferred.tables)
    assert inferred.tables[0].guess.table == "people"


def test_lines_that_are_no_object_are_reported_not_guessed_from(tmp_path: Path) -> None:
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "b.jsonl").write_text(
        '{"id": 1, "x": 2}\n{"id": 2, "x":\n[1, 2]\n\n{"id": 3, "x": 4}\n'
    )
    read = samples.read_samples("orders", [tmp_path / "orders" / "b.jsonl"])
    assert read.records == 4
    assert len(read.samples) == 2
    assert [(u.line, u.reason) for u in read.unreadable] == [
        (2, "not a JSON object"),
        (3, "not a JSON object"),
    ]
    inferred = infer_project(tmp_path)
    assert "2 record(s) are no JSON object and would be held" in inferred.warnings[0]
    assert "# 2 of them are no JSON object: held whatever the contract" in inferred.text


def test_parquet_samples_keep_their_declared_types(tmp_path: Path) -> None:
    (tmp_path / "shipments").mkdir()
    path = tmp_path / "shipments" / "s.parquet"
    duckdb.sql(
        "COPY (SELECT i AS shipment_id, (i * 1.5)::DECIMAL(10,2) AS weight, 'ups' AS carrier, "
        "TIMESTAMP '2026-11-20 11:00:00' AS shipped_at, '2026-11-20T11:00:00Z' AS sent_at, "
        "TIMESTAMPTZ '2026-11-20 11:00:00+00' AS paid_at, "
        "{'l': i} AS dims FROM range(1, 31) t(i)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    inferred = infer_project(tmp_path)
    (table,) = inferred.tables
    types = {c.spec.name: c.spec.type for c in table.guess.columns}
    assert types == {
        "shipment_id": "bigint",
        "weight": "decimal(10,2)",  # declared: 1.50 reaches JSON as 1.5
        "carrier": "varchar",
        "shipped_at": "timestamp",
        "sent_at": "timestamptz",  # a VARCHAR column read from its text: Z, an instant
        "paid_at": "timestamptz",
        "dims": "json",
    }
    assert table.guess.key == "shipment_id"
    trial_is_clean(inferred.tables)
