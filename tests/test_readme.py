"""The README's commands and code run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from docs.readme_figures import FiguresError, blocks_in, render, rewrite
from pipefix.cli import main
from tests.demo_checks import PrintedDemo

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BENCHMARKS = (ROOT / "BENCHMARKS.md").read_text()
# The `pipefix` script installed beside the interpreter running the tests (the project's venv).
PIPEFIX_BIN = Path(sys.executable).parent


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_the_commands_come_first_and_exist() -> None:
    first = code_blocks("bash")[0]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test", "test-all"):
        assert f"make {target} " in first
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE)
    assert "scripts/prereqs.sh install " in first
    assert (ROOT / "scripts" / "prereqs.sh").stat().st_mode & 0o111
    # CI runs the full tier the README names, after installing what it needs with the same script.
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/prereqs.sh install full" in ci
    assert re.search(r"^make test-all$", ci, flags=re.MULTILINE)
    for target in ("unit", "unit-all", "lint", "typecheck", "readme", "lock"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE)


def promises() -> list[tuple[str, str]]:
    """(promise, the tests it cites) for each row of "What pipefix promises"."""
    section = README.split("\n## What pipefix promises\n")[1].split("\n## ")[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return [(cells[0].strip("| "), cells[-1]) for cells in rows[1:]]


def test_every_promise_cites_tests_that_exist() -> None:
    table = promises()
    assert len(table) >= 8
    assert any(promise == "Never healthy while rows wait" for promise, _ in table)
    for promise, cited in table:
        files = set(re.findall(r"(?:tests/)?[\w/]*test_\w+\.py", cited))
        assert files, f"promise {promise!r} cites no test file"
        for name in files:
            found = [ROOT / name] if name.startswith("tests/") else list((ROOT / "tests").rglob(name))
            assert found, f"promise {promise!r} cites {name}, which does not exist"
            assert found[0].exists(), f"promise {promise!r} cites {name}, which does not exist"
            assert re.search(r"^def test_", found[0].read_text(), flags=re.MULTILINE), name


def test_the_python_api_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["init", "shop"]).exit_code == 0
    (snippet,) = code_blocks("python")
    exec(compile(snippet, "README.md", "exec"), {})
    assert (tmp_path / "shop" / "warehouse.duckdb").exists()


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """The shell walkthrough, run by bash with the installed `pipefix` on the PATH."""
    walkthrough = [b for b in code_blocks("bash") if "pipefix init shop" in b or "landing/orders/" in b]
    assert len(walkthrough) == 2
    script = "set -euo pipefail\n" + "\n".join(walkthrough)
    assert (PIPEFIX_BIN / "pipefix").exists()
    path = f"{PIPEFIX_BIN}:/usr/local/bin:/usr/bin:/bin"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": path, "HOME": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # `pipefix run   # loads the example batches: 11 rows, healthy`: the first run's own summary.
    (promised,) = re.findall(r"loads the example batches: ([\d,]+) rows, healthy", README)
    first_run = done.stdout.split("pipefix run —")[1]
    assert f"rows: received {promised} | loaded {promised} | quarantined 0 |" in first_run
    assert "health 1.00 | error rate 0.00%" in first_run
    assert first_run.rstrip().endswith("\nhealthy")  # `pipefix check` right after it
    assert "goal revised v1->v2" in done.stdout
    assert "apply_fix(schema_migration, orders) ok" in done.stdout
    assert "lost 0" in done.stdout
    history = done.stdout.split("Summary")[-1]
    assert "fix        apply_fix(retry_failed, orders) ok: replayed 1 held rows" in history


# --- figures: the demo's are generated (make readme), the benchmarks' quoted from BENCHMARKS.md -------


def test_the_demo_excerpt_is_what_the_demo_prints_now(default_demo: PrintedDemo) -> None:
    """The excerpt and the held-row count, rendered from this session's `pipefix demo --no-color`
    by the same code as `make readme` (docs/readme_figures.py)."""
    expected = render(default_demo.output)
    assert blocks_in(README) == expected, "the README's demo figures are stale: run `make readme`"
    rows = default_demo.summary["rows"]
    assert f"quarantined {rows['quarantined']:,} |" in expected["demo-excerpt"]
    assert f"The {rows['quarantined']:,} rows still held" in expected["demo-held"]


def test_make_readme_rewrites_only_its_blocks_and_needs_each_of_them() -> None:
    readme = "intro\n<!-- generated by docs/readme_figures.py: demo-held -->\nold\n<!-- end -->\nrest\n"
    assert rewrite(readme, {"demo-held": "new\n"}) == readme.replace("old\n", "new\n")
    with pytest.raises(FiguresError, match="expected \\['demo-excerpt', 'demo-held'\\]"):
        rewrite(readme, {"demo-held": "", "demo-excerpt": ""})


def test_the_spark_run_ends_with_the_duckdb_demos_numbers(default_demo: PrintedDemo) -> None:
    """The Spark section quotes a measured 25-step run on Spark as equal to the DuckDB demo: when the
    demo's numbers change, that run must be measured again (`pipefix demo --warehouse spark://local[2]`)."""
    text = " ".join(README.split())
    match = re.search(
        r"end with the DuckDB demo's numbers exactly: ([\d,]+) rows received, ([\d,]+) loaded, ([\d,]+) "
        r"held, ([\d,]+) replayed, ([\d,]+) lost, drift at step (\d+), recovered at step (\d+)",
        text,
    )
    assert match is not None
    rows, summary = default_demo.summary["rows"], default_demo.summary
    quoted = [int(figure.replace(",", "")) for figure in match.groups()]
    assert quoted == [
        rows["received"],
        rows["loaded"],
        rows["quarantined"],
        rows["replayed"],
        rows["lost"],
        summary["drift_step"],
        summary["recovered_step"],
    ]


# A figure with a unit, as the README writes it: `1.9 s`, `0.78×`, `99 / 98 MiB`, `4–5 minutes`.
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_FIGURE = re.compile(rf"(?<![\w.,])({_NUMBER})(?:\s*(/|–)\s*({_NUMBER}))?\s*(ms|s|×|MiB|minutes)(?!\w)")
_BARE = re.compile(rf"(?<![\w.,])({_NUMBER})(M?)(?![\d])")


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def benchmark_figures() -> dict[str, list[Decimal]]:
    """Every number BENCHMARKS.md gives with a unit, by unit (minutes are quoted from seconds)."""
    found: dict[str, list[Decimal]] = {}
    for match in _FIGURE.finditer(BENCHMARKS):
        for number in filter(None, match.group(1, 3)):
            found.setdefault(match.group(4), []).append(_decimal(number))
    found["minutes"] = [seconds / 60 for seconds in found.get("s", [])]
    return found


def sourced(written: str, unit: str, figures: dict[str, list[Decimal]], upto: str | None = None) -> bool:
    """The rule: a README figure is BENCHMARKS.md's figure of the same unit rounded (half up) to the
    decimals the README writes: `1.9 s` is 1.87 s, `24×` is 24.20×, `35 s` is 34.6 s. A range
    (`4–5 minutes`) holds a figure between its ends."""
    places = Decimal(1).scaleb(_decimal(written).as_tuple().exponent)  # type: ignore[arg-type]
    low, high = _decimal(written), _decimal(upto) if upto else _decimal(written)
    return any(
        low <= figure.quantize(places, rounding=ROUND_HALF_UP) <= high for figure in figures.get(unit, [])
    )


def quoting_benchmarks() -> list[str]:
    """The README's text quoting BENCHMARKS.md: the Performance section, and every paragraph
    elsewhere that links to it."""
    performance = README.split("\n## Performance\n")[1].split("\n## ")[0]
    linking = [p for p in README.split("\n\n") if "(BENCHMARKS.md#" in p and p not in performance]
    return [performance, *linking]


@pytest.mark.parametrize("index", [0, 1], ids=["performance", "spark"])
def test_every_benchmark_figure_the_readme_quotes_is_in_benchmarks_md(index: int) -> None:
    texts = quoting_benchmarks()
    assert len(texts) == 2
    text = re.sub(r"\(BENCHMARKS\.md[^)]*\)", "", texts[index])  # the link itself is no figure
    figures = benchmark_figures()
    with_unit: list[tuple[str, str, str | None]] = []  # (figure, unit, end of a range)
    for first, between, second, unit in _FIGURE.findall(text):
        if between == "–":
            with_unit.append((first, unit, second))
        else:  # `99 / 98 MiB`: two figures
            with_unit += [(number, unit, None) for number in filter(None, (first, second))]
    assert len(with_unit) >= (20 if index == 0 else 2)
    unsourced = [f"{w} {u}" for w, u, upto in with_unit if not sourced(w, u, figures, upto)]
    assert unsourced == [], f"README figures with no source in BENCHMARKS.md: {unsourced}"
    # Counts (rows, tables, checks, cores) must be BENCHMARKS.md's too: `10M` is 10,000,000.
    bare_text = _FIGURE.sub(" ", text)
    counts = {_decimal(n) for n in re.findall(_NUMBER, BENCHMARKS)}
    counts |= {_decimal(n) * 1_000_000 for n in re.findall(rf"({_NUMBER})[Mm]\b", BENCHMARKS)}
    missing = [
        number + suffix
        for number, suffix in _BARE.findall(bare_text)
        if _decimal(number) * (1_000_000 if suffix else 1) not in counts
    ]
    assert missing == [], f"README counts with no source in BENCHMARKS.md: {missing}"
