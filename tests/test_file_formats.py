"""Every file format a producer sends (issue 18): JSON arrays and documents, gzip/zstd/bz2 files,
CSV in other dialects (a European spreadsheet export: BOM, `;`, decimal commas) — each record
loaded with its exact values, or held with a reason; on DuckDB and on a real PostgreSQL, through
`pipefix run`."""

from __future__ import annotations

import bz2
import gzip
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import zstandard
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.config import ConfigError, load_config
from pipefix.project_samples import infer_project
from tests.conftest import settled

CONFIG = """
warehouse: {warehouse}
landing: landing
tables:
  orders:
    key: id
    columns:
      id:     {{type: bigint, nullable: false}}
      active: {{type: boolean}}
      status: {{type: varchar}}
      amount: {{type: "decimal(10,2)"}}
"""


@pytest.fixture(params=["duckdb", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    warehouse = request.getfixturevalue("pg_url") if request.param == "postgres" else "duckdb:///w.duckdb"
    (tmp_path / "pipefix.yaml").write_text(CONFIG.format(warehouse=warehouse))
    (tmp_path / "landing" / "orders").mkdir(parents=True)
    return tmp_path


def order(i: int) -> dict[str, Any]:
    return {"id": i, "active": i % 2 == 0, "status": "open", "amount": float(f"{i}.5")}


def jsonl(ids: range) -> bytes:
    return "".join(json.dumps(order(i)) + "\n" for i in ids).encode()


def comma_csv(ids: range) -> bytes:
    rows = [f"{i},{str(i % 2 == 0).lower()},open,{i}.50" for i in ids]
    return ("id,active,status,amount\n" + "\n".join(rows) + "\n").encode()


def european_csv(ids: range, amounts: dict[int, str] | None = None) -> bytes:
    """A spreadsheet export as much of Europe writes it: BOM, semicolons, decimal commas."""
    amounts = amounts or {}
    rows = [f"{i};{str(i % 2 == 0).lower()};open;{amounts.get(i, f'{i},50')}" for i in ids]
    return "\ufeff".encode() + ("id;active;status;amount\r\n" + "\r\n".join(rows) + "\r\n").encode()


def land(project: Path, name: str, data: bytes) -> Path:
    path = project / "landing" / "orders" / name
    path.write_bytes(data)
    settled(path)
    return path


def run(project: Path) -> dict[str, Any]:
    # Four files per table per step: three steps read every file these tests land.
    args = ["run", "--json", "--steps", "3", "--config", str(project / "pipefix.yaml")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    summary: dict[str, Any] = json.loads(result.output)
    return summary


def query(project: Path, sql: str) -> list[tuple[Any, ...]]:
    with Pipeline.open(project / "pipefix.yaml", read_only=True) as pipeline:
        return pipeline.engine.query(sql)


def loaded(project: Path) -> dict[int, tuple[Any, ...]]:
    rows = query(project, "SELECT id, active, status, amount, _pipefix_batch, _pipefix_line FROM orders")
    return {int(r[0]): (r[1], r[2], r[3], str(r[4]).split("@")[0], int(r[5])) for r in rows}


def held(project: Path) -> list[tuple[str, int, str]]:
    rows = query(
        project, "SELECT batch_id, line_no, reason FROM pipefix.quarantine ORDER BY batch_id, line_no"
    )
    return [(str(b).split("@")[0], int(n), str(r)) for b, n, r in rows]


def dialects(project: Path) -> dict[str, dict[str, Any] | None]:
    rows = query(project, "SELECT batch_id, csv_dialect FROM pipefix.batches")
    return {str(b).split("@")[0]: (json.loads(d) if d else None) for b, d in rows}


def expected(i: int, file: str, line: int) -> tuple[Any, ...]:
    return (i % 2 == 0, "open", Decimal(f"{i}.50"), file, line)


def test_every_format_a_producer_sends_loads_with_exact_values(project: Path) -> None:
    land(project, "b4.json", json.dumps([order(i) for i in range(1, 11)], indent=2).encode())
    land(project, "b5.jsonl.gz", gzip.compress(jsonl(range(11, 21))))
    land(project, "c.csv.zst", zstandard.ZstdCompressor().compress(comma_csv(range(21, 31))))
    land(project, "d.jsonl.bz2", bz2.compress(jsonl(range(31, 41))))
    land(project, "e.json", json.dumps(order(41), indent=2).encode())  # one object, pretty-printed
    land(project, "eu.csv", european_csv(range(401, 451)))
    land(project, "f.json", jsonl(range(42, 45)))  # named .json, written as JSON lines
    land(project, "g.jsonl", gzip.compress(jsonl(range(45, 47))))  # gzip bytes under a plain name

    rows = run(project)["rows"]
    assert (rows["received"], rows["loaded"], rows["quarantined"], rows["lost"]) == (96, 96, 0, 0)
    table = loaded(project)
    assert len(table) == 96
    files = {
        "orders/b4.json": (range(1, 11), 1),
        "orders/b5.jsonl.gz": (range(11, 21), 11),
        "orders/c.csv.zst": (range(21, 31), 21 - 1),  # the header is line 1
        "orders/d.jsonl.bz2": (range(31, 41), 31),
        "orders/e.json": (range(41, 42), 41),
        "orders/eu.csv": (range(401, 451), 401 - 1),
        "orders/f.json": (range(42, 45), 42),
        "orders/g.jsonl": (range(45, 47), 45),
    }
    for file, (ids, first) in files.items():
        for i in ids:  # an element's position in the array is its line: (batch, line) its identity
            assert table[i] == expected(i, file, i - first + 1), file
    assert table[401][2] == Decimal("401.50")

    verdicts = dialects(project)
    assert verdicts["orders/eu.csv"] == {
        "delimiter": ";",
        "quote": '"',
        "decimal": ",",
        "header": True,
        "bom": True,
        "configured": [],
        "sniffed": ["delimiter", "quote", "decimal", "header"],
    }
    assert verdicts["orders/c.csv.zst"] == verdicts["orders/eu.csv"] | {
        "delimiter": ",",
        "decimal": ".",
        "bom": False,
    }
    assert verdicts["orders/b4.json"] is None  # not CSV: no dialect

    history = CliRunner().invoke(main, ["history", "--json", "--config", str(project / "pipefix.yaml")])
    entries = json.loads(history.output)["history"]
    csv_notes = [e["text"] for e in entries if e["kind"] == "csv"]
    assert csv_notes == [
        "orders/eu.csv read as CSV with delimiter ';' (sniffed), quote '\"' (sniffed), decimal ',' "
        "(sniffed), header yes (sniffed), UTF-8 byte-order mark stripped"
    ]


def test_unreadable_files_and_elements_are_held_with_their_reason(project: Path) -> None:
    land(project, "a.jsonl.gz", jsonl(range(1, 3)))  # named gzip, bytes plain
    land(project, "b.json", b'[{"id": 3, "status": "open"}, 5, {"id": 4, "status": "open"}]')
    land(project, "c.json", b'[{"id": 5, "status": "open"}, {"id": 6, "sta')  # cut short
    land(project, "d.csv.gz", gzip.compress(comma_csv(range(7, 9)))[:-12])  # truncated gzip
    land(project, "eu.csv", european_csv(range(10, 15), {11: "1.234", 12: "1.234,50", 13: "-0,05"}))

    rows = run(project)["rows"]
    assert (rows["received"], rows["loaded"], rows["quarantined"], rows["lost"]) == (11, 5, 6, 0)
    assert sorted(loaded(project)) == [3, 4, 10, 13, 14]
    assert loaded(project)[13][2] == Decimal("-0.05")
    ambiguous = (
        "is ambiguous under the decimal comma: its '.' may be a thousands separator or a decimal point"
    )
    reasons = held(project)
    assert [(b, n) for b, n, _ in reasons] == [
        ("orders/a.jsonl.gz", 0),
        ("orders/b.json", 2),
        ("orders/c.json", 0),
        ("orders/d.csv.gz", 0),
        ("orders/eu.csv", 3),
        ("orders/eu.csv", 4),
    ]
    assert (
        reasons[0][2]
        == "unreadable gzip jsonl file a.jsonl.gz: named as gzip but its bytes are not compressed"
    )
    assert reasons[1][2] == "record is not a JSON object"
    assert reasons[2][2].startswith("unreadable json file c.json: ")
    assert reasons[3][2].startswith("unreadable gzip csv file d.csv.gz: corrupt or truncated gzip data")
    assert reasons[4][2] == f"amount: '1.234' {ambiguous} (held, not guessed)"
    assert reasons[5][2] == f"amount: '1.234,50' {ambiguous} (held, not guessed)"


def test_the_csv_setting_fixes_what_sniffing_would_get_wrong(project: Path) -> None:
    # No header, `|`-separated, and a text field with three commas: `,` splits every line into
    # as many fields as `|` does, and the sniffer would take the comma.
    config = project / "pipefix.yaml"
    text = config.read_text().replace(
        "    key: id\n", '    key: id\n    csv: {delimiter: "|", header: false}\n'
    )
    text = text.replace("{type: bigint, nullable: false}", "{type: bigint, nullable: false, source: column1}")
    for n, name in ((2, "active"), (3, "status"), (4, "amount")):
        text = text.replace(f"      {name}: {{", f"      {name}: {{source: column{n}, ")
    config.write_text(text)
    land(project, "p.csv", b"1|true|a,b,c,d|1.50\n2|false|e,f,g,h|2.50\n")

    rows = run(project)["rows"]
    assert (rows["loaded"], rows["quarantined"]) == (2, 0)
    table = loaded(project)
    assert table[1] == (True, "a,b,c,d", Decimal("1.50"), "orders/p.csv", 1)
    assert table[2] == (False, "e,f,g,h", Decimal("2.50"), "orders/p.csv", 2)
    verdict = dialects(project)["orders/p.csv"]
    assert verdict is not None
    assert (verdict["delimiter"], verdict["header"], verdict["configured"]) == (
        "|",
        False,
        ["delimiter", "header"],
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            '{delimiter: "::"}',
            "tables.orders.csv.delimiter: delimiter must be one of ',', ';', tab, '|', got '::'",
        ),
        (
            '{delimiter: ",", decimal: ","}',
            "tables.orders.csv.decimal: decimal ',' cannot also be the delimiter",
        ),
        ("{quote: x}", "tables.orders.csv.quote: quote must be one of '\"', \"'\", got 'x'"),
        ("{header: maybe}", "tables.orders.csv.header: expected true or false, got 'maybe'"),
        ("{sep: x}", "tables.orders.csv: unknown key 'sep'"),
    ],
)
def test_bad_csv_settings_are_config_errors_with_file_and_line(
    tmp_path: Path, setting: str, message: str
) -> None:
    config = tmp_path / "pipefix.yaml"
    config.write_text(
        CONFIG.format(warehouse="duckdb:///w.duckdb").replace(
            "    key: id\n", f"    key: id\n    csv: {setting}\n"
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert f"pipefix.yaml:7: {message}" in str(caught.value)


def test_init_from_samples_reads_the_same_formats(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "api.json").write_text(json.dumps([order(i) for i in range(1, 6)]))
    (samples / "zipped.csv.gz").write_bytes(gzip.compress(comma_csv(range(1, 6))))
    (samples / "europe.csv").write_bytes(european_csv(range(1, 6)))
    inferred = infer_project(samples)
    guesses = {t.guess.table: t.guess for t in inferred.tables}
    assert sorted(guesses) == ["api", "europe", "zipped"]
    for table in ("api", "europe", "zipped"):
        columns = {c.spec.name: c.spec.type for c in guesses[table].columns}
        assert columns["id"] in ("integer", "bigint"), table
        # JSON numbers are read as sent (1.5: one decimal); CSV text keeps its digits (1.50, 1,50)
        assert columns["amount"] == ("decimal(18,1)" if table == "api" else "decimal(18,2)"), table
        assert columns["active"] == "boolean", table
    for found in inferred.tables:
        assert found.trial is not None
        assert (found.trial.received, found.trial.loaded) == (5, 5), found.guess.table


def test_the_readme_file_formats_example_loads_a_european_export(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("\n### File formats a producer sends\n")[1].split("\n### ")[0]
    (example,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    (tmp_path / "pipefix.yaml").write_text("warehouse: duckdb:///w.duckdb\nlanding: landing\n" + example)
    (tmp_path / "landing" / "orders").mkdir(parents=True)
    land(tmp_path, "eu.csv", "\ufeffid;amount\r\n401;401,50\r\n402;-0,05\r\n".encode())
    rows = run(tmp_path)["rows"]
    assert (rows["loaded"], rows["quarantined"]) == (2, 0)
    assert query(tmp_path, "SELECT id, amount FROM orders ORDER BY id") == [
        (401, Decimal("401.50")),
        (402, Decimal("-0.05")),
    ]
    verdict = dialects(tmp_path)["orders/eu.csv"]
    assert verdict is not None
    assert verdict["configured"] == ["decimal", "delimiter", "header", "quote"]
    assert "`pipefix.batches.csv_dialect`" in section
    assert (
        "(`orders/eu.csv read as CSV with delimiter ';'\n(sniffed), ..., UTF-8 byte-order mark stripped`)"
        in section
    )


def test_a_grown_european_csv_loads_its_new_lines_and_a_changed_gzip_is_a_rewrite(project: Path) -> None:
    eu = land(project, "eu.csv", european_csv(range(1, 4)))
    land(project, "z.jsonl.gz", gzip.compress(jsonl(range(10, 12))))
    assert run(project)["rows"]["loaded"] == 5
    with eu.open("ab") as handle:  # the spreadsheet's next rows, appended
        handle.write(b"4;true;open;4,50\r\n5;false;open;1.234\r\n")
    settled(eu)
    land(project, "z.jsonl.gz", gzip.compress(jsonl(range(10, 14))))  # recompressed with more lines
    run(project)
    table = loaded(project)
    assert sorted(table) == [1, 2, 3, 4, 10, 11]
    assert table[4] == (True, "open", Decimal("4.50"), "orders/eu.csv", 5)  # numbered on: line 5
    assert [(b, n) for b, n, _ in held(project)] == [("orders/eu.csv", 6)]
    changes = query(project, "SELECT batch_id, rewrite_of, appended_to, csv_dialect FROM pipefix.batches")
    by_file = {str(b).split("@")[0]: (r, a, d) for b, r, a, d in changes if r or a}
    assert by_file["orders/z.jsonl.gz"][0] is not None  # a rewrite: recorded, not loaded
    assert json.loads(by_file["orders/eu.csv"][2])["decimal"] == ","  # the appended part's dialect
