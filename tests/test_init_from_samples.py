"""`pipefix init --from` on real public payloads (tests/data/payloads/, origins in its README):
the written contract, reviewed as a person would read it, loads its own samples with nothing
held — on DuckDB and on a real PostgreSQL — and the values arrive exact."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipefix.api import Pipeline
from pipefix.cli import main
from pipefix.config import ConfigError, load_config
from pipefix.engines import readers
from tests.conftest import settled

PAYLOADS = Path(__file__).parent / "data" / "payloads"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def clock(step: int) -> datetime:
    return NOW


def sample_files() -> dict[str, list[Path]]:
    """Table -> its sample files, as the README's layout says: a folder per table, or a file."""
    found: dict[str, list[Path]] = {}
    for entry in sorted(PAYLOADS.iterdir()):
        if entry.is_dir():
            # A folder of folders (renames/: scenarios, one level deeper) is no table.
            files = sorted(p for p in entry.iterdir() if readers.batch_format(p))
            if files:
                found[entry.name] = files
        elif readers.batch_format(entry):
            found[entry.stem] = [entry]
    return found


def records_in(path: Path) -> int:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return len(lines) - 1 if path.suffix == ".csv" else len(lines)


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return "duckdb:///warehouse.duckdb"


def test_init_from_real_payloads_loads_every_sample(tmp_path: Path, warehouse: str) -> None:
    project = tmp_path / "shop"
    done = CliRunner().invoke(main, ["init", str(project), "--from", str(PAYLOADS), "--warehouse", warehouse])
    assert done.exit_code == 0, done.output
    assert "7 table(s) inferred" in done.output
    assert "warning" not in done.output

    text = (project / "pipefix.yaml").read_text()
    loaded = load_config(project / "pipefix.yaml")
    assert loaded.config.warehouse == warehouse
    contracts = loaded.contracts()
    files = sample_files()
    assert set(contracts) == set(files)

    # What a reviewer reads: each guess with what it was based on.
    assert "# 7 samples, 1 null; integers 625,362,839..625,362,839" in text  # disputes.order_id
    assert "ISO-8601 with UTC offsets (-04:00, -05:00): exact instants" in text
    assert "widest 5 digits, 2 after the point" in text  # weight 112.00 .. 158.96
    assert 'source: " Height(Inches)\\""' in text  # the CSV header as sent, a quote and all
    assert "key: id   # candidate: unique and never null in 7 samples" in text
    assert "# freshness: 24h   # created_at looks like creation time" in text
    assert "Tried on the samples with pipefix's loader: 225 of 225 records load." in text
    disputes = contracts["shopify_disputes"]
    assert disputes.key == "id"
    assert {c.name: c.type for c in disputes.columns}["amount"] == "varchar"  # "100.00" is sent as text
    percentage = contracts["stripe_tax_rates"].column("percentage")
    assert percentage is not None
    assert percentage.type == "decimal(18,2)"  # 15.0 and 4.25, counted on the text
    assert contracts["github_issues"].key is None  # both payloads are issue 444500041
    assert loaded.adapters()["height_weight"].transforms[0].source == ' Height(Inches)"'

    # The samples go to the landing folder as a producer would send them, and load whole.
    sent = 0
    for table, paths in files.items():
        assert (project / "landing" / table).is_dir()
        for path in paths:
            shutil.copy(path, project / "landing" / table / path.name)
            settled(project / "landing" / table / path.name)
            sent += records_in(path)
    with Pipeline.open(project / "pipefix.yaml", clock=clock) as pipeline:
        summary = pipeline.run(1)
        engine = pipeline.engine
        assert summary["rows"]["received"] == sent == 225
        assert summary["rows"]["loaded"] == sent
        assert summary["rows"]["quarantined"] == 0
        assert summary["rows"]["lost"] == 0
        heights = engine.query("SELECT sum(height_inches), sum(weight_pounds), count(*) FROM height_weight")
        csv_lines = (PAYLOADS / "height_weight.csv").read_text().splitlines()[1:]
        exact = [sum(Decimal(line.split(",")[i]) for line in csv_lines) for i in (1, 2)]
        assert heights == [(exact[0], exact[1], 200)]
        initiated = engine.query("SELECT initiated_at FROM shopify_disputes WHERE id = 85190714")
        assert initiated == [(datetime(2013, 5, 4, 0, 0, tzinfo=UTC),)]  # 20:00 at -04:00: the instant
        rate = engine.query(
            "SELECT percentage FROM stripe_tax_rates WHERE id = 'txr_fakefakefakefakefake0002'"
        )
        assert rate == [(Decimal("4.25"),)]
        summary_json = engine.query("SELECT summary FROM shopify_payouts WHERE id = 974708905")[0][0]
        assert json.loads(summary_json)["charges_fee_amount"] == "6.46"


def test_init_from_refuses_to_overwrite_and_explains_a_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "pipefix.yaml").write_text("# mine\n")
    done = CliRunner().invoke(main, ["init", str(tmp_path), "--from", str(PAYLOADS)])
    assert done.exit_code == 2
    assert "already exists; pipefix init does not overwrite it" in done.output
    assert (tmp_path / "pipefix.yaml").read_text() == "# mine\n"
    missing = CliRunner().invoke(main, ["init", str(tmp_path / "new"), "--from", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "no such folder of sample batches" in missing.output
    assert not (tmp_path / "new").exists()


def test_the_readme_excerpt_is_what_init_from_writes(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### Contracts from sample batches", 1)[1].split("\n### ", 1)[0]
    (command,) = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert command.startswith("pipefix init payments --from tests/data/payloads")
    (excerpt,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    done = CliRunner().invoke(main, ["init", str(tmp_path / "payments"), "--from", str(PAYLOADS)])
    assert done.exit_code == 0, done.output
    written = (tmp_path / "payments" / "pipefix.yaml").read_text().splitlines()
    for line in excerpt.splitlines():
        assert line in written, line


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            "a: {type: bigint, source: x}\n      b: {type: bigint, source: x}",
            "'a' and 'b' would both read field 'x'",
        ),
        ("a: {type: bigint}\n      b: {type: bigint, source: a}", "'a' and 'b' would both read field 'a'"),
    ],
)
def test_a_field_is_read_by_one_column_only(tmp_path: Path, columns: str, message: str) -> None:
    config = tmp_path / "pipefix.yaml"
    config.write_text(f"warehouse: duckdb:///w.duckdb\ntables:\n  t:\n    columns:\n      {columns}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(config)
