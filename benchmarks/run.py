"""`make bench`: run every benchmark case in a fresh process, pairs alternately in the same run,
and write BENCHMARKS.md.

Each run is timed from the outside (wall time of the whole process) and its peak memory read
from the kernel's accounting of that one child (`os.wait4` -> ru_maxrss), through a small
launcher process (LAUNCHER). Each case also reports
the time of its work measured inside the process. Before timing, the runner checks that the tools
find the same results: pipefix's figures must equal the hand-written pass's (asserted), and
incremental figures must equal a full rescan's (asserted).

Usage: python benchmarks/run.py [--quick] [--out BENCHMARKS.md] [--spark] [--only PART,...]

The Spark local[2] part (a JVM per case) runs with `--spark` or `--only spark` (`make
bench-spark`); `--only spark` rewrites only its section of BENCHMARKS.md, and a run without it
keeps the section already there. The PostgreSQL part starts a throwaway server from the machine's
binaries (as the tests do); `--only postgres` rewrites only its section, and a machine without the
binaries keeps the section already there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import data
import run_ingestion
import run_profile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = HERE / "cases.py"
PYTHON = sys.executable
PIPEFIX = str(Path(PYTHON).with_name("pipefix"))


@dataclass
class Run:
    wall: float
    rss_mib: float
    result: dict[str, Any]


@dataclass
class Series:
    label: str
    command: list[str]
    reps: int
    runs: list[Run] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def inner(self) -> float:
        return statistics.median(float(r.result.get("seconds", r.wall)) for r in self.runs)

    def median(self, key: str) -> float:
        return statistics.median(float(r.result[key]) for r in self.runs)

    @property
    def rss(self) -> float:
        return max(r.rss_mib for r in self.runs)

    @property
    def last(self) -> dict[str, Any]:
        return self.runs[-1].result


class AgreementError(AssertionError):
    """The tools disagree: no timing is worth reporting."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise AgreementError(message)


def case(name: str, *args: str) -> list[str]:
    return [PYTHON, str(CASES), name, *args]


# Linux starts a new program's peak RSS (ru_maxrss) at the size of the process it was forked
# from: a case forked by this runner, grown by the cases it verified in-process, would report at
# least the runner's size. So each case is forked by this small launcher instead, which writes
# the case's own ru_maxrss (KiB) to the file it is given.
LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def measure(command: Sequence[str]) -> Run:
    """One fresh process: wall time, peak RSS of that process alone, its last JSON line."""
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    with (
        tempfile.TemporaryFile() as errors,
        tempfile.TemporaryFile() as output,
        tempfile.NamedTemporaryFile(prefix="pipefix-rss-") as peak,
    ):
        launched = [sys.executable, "-c", LAUNCHER, peak.name, *command]
        start = time.perf_counter()
        process = subprocess.Popen(launched, stdout=output, stderr=errors, env=env, cwd=HERE)
        _, status, _ = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        kib = Path(peak.name).read_text().strip()
        output.seek(0)
        errors.seek(0)
        text = output.read().decode(errors="replace")
        if process.returncode != 0:
            tail = errors.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    result: dict[str, Any] = {}
    if command[0] == PYTHON and command[1].endswith(("cases.py", "where_time_goes.py")):  # a case
        result = json.loads(text.strip().splitlines()[-1])
    return Run(wall, int(kib or 0) / 1024, result)


def alternate(series: list[Series], log: Any) -> list[Series]:
    """Round after round, each series once per round (until it has its repetitions)."""
    for round_no in range(max(s.reps for s in series)):
        for item in series:
            if round_no < item.reps:
                run = measure(item.command)
                item.runs.append(run)
                jvm = run.result.get("jvm_rss_mib")
                log(
                    f"  {item.label:<42} {run.wall:7.2f} s  {run.rss_mib:7.0f} MiB"
                    + (f" + JVM {jvm:.0f} MiB" if jvm else "")
                )
    return series


# --- the benchmarks ----------------------------------------------------------------------------


@dataclass
class Report:
    quick: bool
    machine: list[str] = field(default_factory=list)
    dlt_rows: int = 100_000
    spark_sizes: tuple[str, ...] = ("1m",)
    ingestion_cases: tuple[str, ...] = run_ingestion.KINDS
    ran: set[str] = field(default_factory=set)  # the parts measured in this run
    spark: str = ""  # the Spark section, when measured in this run
    postgres: str = ""  # the PostgreSQL section, when measured in this run
    profile: str = ""  # section 6, where the time goes, when measured in this run
    sections: list[str] = field(default_factory=list)
    targets: list[tuple[str, str, bool, str]] = field(default_factory=list)  # what, target, met, detail

    def target(self, what: str, target: str, met: bool, detail: str) -> None:
        self.targets.append((what, target, met, detail))


def _fmt_ratio(x: float) -> str:
    return f"{x:.2f}×"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _same_figures(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("rows", "nulls", "duplicate_keys", "price_out", "quantity_out", "status_out", "newest")
    return all(a[k] == b[k] for k in keys)


def _require_agreement(full: dict[str, Any], hand: dict[str, Any]) -> None:
    """pipefix's figures (`pipefix-verify`) equal a hand-written pass's, and so do its checks."""
    require(_same_figures(full, hand["figures"]), f"pipefix {full} != hand-written {hand}")
    require(full["pipefix_checks"]["schema"], f"schema mismatch: {full['schema_mismatches']}")
    expected = hand["checks"]
    pipefix_checks = full["pipefix_checks"]
    mapped = {
        "schema": pipefix_checks["schema"],
        "not_null": pipefix_checks["not_null"],
        "unique_key": pipefix_checks["unique_key"],
        "null_fraction": pipefix_checks["null_fraction"],
        "ranges": pipefix_checks["ranges"],
        "row_count": pipefix_checks["row_count"],
        "freshness": pipefix_checks["freshness"],
    }
    ranges = expected["price_range"] and expected["quantity_range"] and expected["allowed_values"]
    require(mapped["ranges"] == ranges, f"ranges: pipefix {mapped} vs {expected}")
    same = all(mapped[k] == expected[k] for k in mapped if k != "ranges")
    require(same, f"checks: pipefix {mapped} vs hand-written {expected}")


def verify(report: Report, log: Any) -> None:
    """Agreement before speed: pipefix == hand-written pass; incremental == full rescan."""
    rows = []
    for size in data.SIZES:
        for folder in (data.warehouse(size, with_batch=True),):
            hand = measure(case("duckdb-sql", str(folder))).result
            full = measure(case("pipefix-verify", str(folder), "full")).result["figures"]
            incremental = measure(case("pipefix-verify", str(folder), "incremental")).result["figures"]
            _require_agreement(full, hand)
            require(_same_figures(incremental, full), f"incremental {incremental} != full {full}")
            require(incremental["read_after_step"] == 0, f"not incremental: {incremental}")
            name = folder.name
            rows.append(
                [
                    name,
                    f"{hand['figures']['rows']:,}",
                    str(hand["figures"]["duplicate_keys"]),
                    str(hand["figures"]["price_out"]),
                    str(hand["figures"]["status_out"]),
                    f"{hand['figures']['nulls']['coupon']:,}",
                    "equal",
                    "equal (read rows loaded after step 0 only)",
                ]
            )
            log(f"  verified {name}: pipefix == hand-written, incremental == full")
    report.sections.append(
        "## Agreement (asserted before any timing)\n\n"
        "pipefix's figures (rows, nulls per column, duplicate keys, out-of-range and not-allowed "
        "values, newest timestamp) must equal the hand-written DuckDB pass's, and the incremental "
        "figures must equal a full rescan's; the runner stops otherwise.\n\n"
        + _table(
            [
                "warehouse",
                "rows",
                "duplicate keys",
                "price out of range",
                "status not allowed",
                "null coupons",
                "pipefix vs hand-written",
                "incremental vs full",
            ],
            rows,
        )
    )


CHECK_NAMES = data.CHECKS


def bench_full_check(report: Report, log: Any) -> None:
    body = []
    for size in data.SIZES:
        # Repetitions within the 10-minute budget: fewer for the large table and slow tools.
        reps = 2 if report.quick else (5 if size == "1m" else 3)
        slow = 1 if report.quick or size != "1m" else 2
        folder = str(data.warehouse(size))
        log(f"full check, {size}")
        series = alternate(
            [
                Series("pipefix check --full", case("pipefix-check", folder, "full"), reps),
                Series("hand-written DuckDB pass", case("duckdb-sql", folder), reps),
                Series("Polars lazy (Parquet)", case("polars-lazy", size), slow),
                Series("Soda Core (DuckDB)", case("soda", folder), slow),
                Series("Great Expectations (SQL, DuckDB)", case("gx", folder), slow),
            ],
            log,
        )
        pipefix, hand, _, soda, gx = series
        hand_checks = hand.last["checks"]
        rows = []
        for item in series:
            checks = item.last.get("checks", {})
            if item is pipefix:
                agree = _pipefix_agrees(checks, hand_checks)
            else:
                missing = [c for c in CHECK_NAMES if c not in checks]
                differ = [c for c in CHECK_NAMES if c in checks and checks[c] != hand_checks[c]]
                agree = (
                    "all 9 agree"
                    if not missing and not differ
                    else "; ".join(
                        part
                        for part in (
                            f"missing: {', '.join(missing)}" if missing else "",
                            f"differ: {', '.join(differ)}" if differ else "",
                        )
                        if part
                    )
                )
                errors = item.last.get("errors")
                if errors:
                    agree += f" (errors: {errors[0][:80]})"
            rows.append(
                [
                    item.label,
                    str(len(item.runs)),
                    f"{item.wall:.2f} s",
                    f"{item.inner:.2f} s",
                    f"{item.rss:.0f} MiB",
                    _fmt_ratio(item.wall / hand.wall),
                    _fmt_ratio(item.inner / hand.inner),
                    agree,
                ]
            )
        body.append(
            f"### {data.SIZES[size]:,} rows\n\n"
            + _table(
                [
                    "tool",
                    "runs",
                    "wall (median)",
                    "work inside (median)",
                    "peak RSS",
                    "wall vs hand-written",
                    "work vs hand-written",
                    "checks vs hand-written",
                ],
                rows,
            )
            + f"\n\npipefix's process: import {pipefix.median('import_seconds'):.2f} s, "
            f"check {pipefix.median('check_seconds'):.2f} s (median)."
        )
        ratio = pipefix.wall / hand.wall
        report.target(
            f"full check {size}: pipefix vs hand-written DuckDB (wall)",
            "≤ 1.0×",
            ratio <= 1.0,
            f"{ratio:.2f}× (work inside: {pipefix.inner / hand.inner:.2f}×)",
        )
        report.target(
            f"full check {size}: faster than Soda",
            "≥ 1.5×",
            soda.wall / pipefix.wall >= 1.5,
            f"{soda.wall / pipefix.wall:.2f}×",
        )
        report.target(
            f"full check {size}: faster than GX",
            "≥ 5×",
            gx.wall / pipefix.wall >= 5,
            f"{gx.wall / pipefix.wall:.2f}×",
        )
    report.sections.append(
        "## 1. Full check: the same 9 checks\n\n"
        "Schema match (exact types), not-null (6 columns), unique key, null fraction (coupon ≤ 90%), "
        "value range ×2 (price 0–10,000; quantity 1–100), allowed values (status), row count (≥ 1), "
        "freshness (newest `created_at` within 1 day of a fixed now). Every tool reads the same table "
        "in the same DuckDB file, except Polars, which reads the Parquet file it came from. "
        "*Wall* is the whole process (interpreter, imports, connection, checks); *work inside* is "
        "timed in the process from before the tool's import to its result. The hand-written pass "
        "is the query a person writes first: one aggregate with `count(DISTINCT order_id)`.\n\n"
        + "\n\n".join(body)
    )


def _pipefix_agrees(checks: dict[str, bool], hand: dict[str, bool]) -> str:
    ranges = hand["price_range"] and hand["quantity_range"] and hand["allowed_values"]
    pairs = {
        "schema": hand["schema"],
        "not_null": hand["not_null"],
        "unique_key": hand["unique_key"],
        "ranges": ranges,
        "freshness": hand["freshness"],
    }
    differ = [k for k, v in pairs.items() if checks.get(k) != v]
    return "agree (null fraction, row count: asserted in verification)" if not differ else f"differ: {differ}"


def bench_incremental(report: Report, log: Any) -> None:
    reps = 2 if report.quick else 3
    rows = []
    by_size = {}
    for size in data.SIZES:
        folder = str(data.warehouse(size, with_batch=True))
        log(f"incremental step, {size} + 10k")
        incremental, full = alternate(
            [
                Series(
                    f"pipefix check, {size} + 10k", case("pipefix-check", folder, "incremental", "2"), reps
                ),
                Series(
                    f"pipefix check --full, {size} + 10k", case("pipefix-check", folder, "full", "2"), reps
                ),
            ],
            log,
        )
        load = alternate([Series(f"load the 10k batch, {size}", case("pipefix-load-batch", size), 1)], log)[0]
        by_size[size] = (incremental, full, load)
        rows.append(
            [
                f"{data.SIZES[size]:,} + 10,000",
                f"{incremental.median('warm_check_seconds') * 1000:.0f} ms",
                f"{full.median('warm_check_seconds') * 1000:.0f} ms",
                _fmt_ratio(full.median("warm_check_seconds") / incremental.median("warm_check_seconds")),
                f"{incremental.median('check_seconds') * 1000:.0f} / "
                f"{full.median('check_seconds') * 1000:.0f} ms",
                f"{incremental.rss:.0f} / {full.rss:.0f} MiB",
                f"{load.inner:.2f} s",
            ]
        )
    inc10, full10, _ = by_size["10m"]
    ratio = full10.median("warm_check_seconds") / inc10.median("warm_check_seconds")
    cold = full10.median("check_seconds") / inc10.median("check_seconds")
    report.target(
        "incremental check, 10M table + 10k batch, vs full rescan",
        "≥ 20× faster",
        ratio >= 20,
        f"{ratio:.1f}× in a running agent; {cold:.1f}× for a fresh `pipefix check` process",
    )
    rss_small, rss_large = by_size["1m"][0].rss, inc10.rss
    report.target(
        "incremental check: peak memory independent of table size",
        "1M ≈ 10M",
        rss_large <= rss_small * 1.25,
        f"{rss_small:.0f} MiB at 1M, {rss_large:.0f} MiB at 10M",
    )
    report.sections.append(
        "## 2. Incremental step: a table receiving a 10,000-row batch\n\n"
        "The warehouse holds the table as loaded at step 0, with the figures an agent step saved; "
        "the batch was then loaded at step 1 by pipefix's loader. `pipefix check` reads only the "
        "rows loaded after the saved step and the new keys' probe into the older keys; "
        "`--full` rescans. Each process checks twice: the first check pays the process's one-time "
        "costs (DuckDB's catalog, pydantic's validators), as a fresh `pipefix check` does; the "
        "second is what each step of a running agent pays (*step*, median). The load of the "
        "batch (pipefix's loader judging and inserting 10k rows into a copy of the table) is the "
        "rest of a step, timed once.\n\n"
        + _table(
            [
                "rows",
                "incremental check (step)",
                "full rescan (step)",
                "speed-up",
                "first check in a fresh process (inc / full)",
                "peak RSS (inc / full)",
                "load of the batch",
            ],
            rows,
        )
    )


# Table sizes the Spark part checks (`--spark-sizes`).
SPARK_SIZES = ("1m", "10m")


# dlt turns each record into Python objects: 1M records take it many minutes on this machine,
# too long for `make bench`. It loads the first DLT_ROWS records of the same file and its time is
# scaled to 1M (`--dlt-rows 1000000` loads them all).
DLT_ROWS = 100_000


def bench_ingestion(report: Report, log: Any) -> None:
    run_ingestion.bench_ingestion(report, log)


def bench_demo_and_scaling(report: Report, log: Any) -> None:
    log("demo and scaling")
    profiled = Series("`pipefix demo`, 25 steps, whole process", case("demo", "25"), 1)
    help_series = Series("pipefix --help", [PIPEFIX, "--help"], 3 if report.quick else 7)
    alternate([profiled], log)
    alternate([help_series], log)
    demo = profiled.last
    # 1,000 tables each loading a batch take minutes here (the loader's statements per batch):
    # at 1,000 the quiet step is timed; the loaded step at 8 and 100.
    plan = [("8", "yes"), ("100", "yes")] if report.quick else [("8", "yes"), ("100", "yes"), ("1000", "no")]
    scaling = alternate([Series(f"{n} tables", case("scaling", n, load), 1) for n, load in plan], log)
    rows = [
        [
            profiled.label,
            f"{profiled.wall:.1f} s",
            f"{profiled.rss:.0f} MiB",
            f"DuckDB {demo['database_seconds']:.1f} s ({demo['statements']:,} statements), producer "
            f"{demo['producer_seconds']:.1f} s, agent {demo['overhead_per_step_ms']:.0f} ms per step = "
            f"{demo['overhead_per_table_step_ms']:.1f} ms per table-step",
        ],
        [help_series.label, f"{help_series.wall:.2f} s", f"{help_series.rss:.0f} MiB", ""],
    ]
    scale_rows = []
    for item in scaling:
        for kind in ("loaded", "quiet"):
            step = item.last.get(kind)
            if step is None:
                continue
            scale_rows.append(
                [
                    f"{item.last['tables']:,}",
                    "one batch per table" if kind == "loaded" else "nothing new",
                    f"{step['seconds']:.2f} s",
                    f"{step['statements']:,}",
                    f"{step['per_table_step_ms']:.1f} ms",
                    f"{step['database_per_table_step_ms']:.1f} ms",
                    f"{step['overhead_per_table_step_ms']:.1f} ms",
                    f"{item.rss:.0f} MiB",
                ]
            )
    largest = scaling[-1].last
    overhead = largest["quiet"]["overhead_per_table_step_ms"]
    report.target(
        f"agent overhead per table-step at {largest['tables']:,} tables",
        "≤ 5 ms",
        overhead <= 5,
        f"{overhead:.1f} ms (a step with nothing new; with a batch per table at 100 tables: "
        f"{scaling[1].last['loaded']['overhead_per_table_step_ms']:.1f} ms)",
    )
    report.target("`pipefix --help`", "≤ 0.3 s", help_series.wall <= 0.3, f"{help_series.wall:.2f} s")
    report.sections.append(
        "## 4. The demo, and `pipefix --help`\n\n"
        "The demo runs in a fresh process as `pipefix demo` does (without printing the report), "
        "with the time spent inside DuckDB (statements and fetches) and in the scenario's producer "
        "(writing each step's batch files) counted; what remains is pipefix's own work per step "
        "(planning, the LangGraph loop, the safety guard's parsing, bookkeeping).\n\n"
        + _table(["run", "wall", "peak RSS", "where the time goes"], rows)
        + "\n\n## 5. Scaling: tables per step\n\n"
        "N tables with a 4-column contract. Step 1 (no data) sets up every table; then, at 8 and "
        "100 tables, each table receives one 20-row JSONL batch and that step is timed (load every "
        "batch, measure every table, evaluate, plan, act); then a step with nothing new is timed. "
        "At 1,000 tables only the step with nothing new runs here; a step loading a 1,000-row "
        "batch into each of 1,000 tables is timed, phase by phase, in section 6. *pipefix "
        "(rest)* is the step's time outside DuckDB.\n\n"
        + _table(
            [
                "tables",
                "step",
                "wall",
                "statements",
                "per table-step",
                "in DuckDB",
                "pipefix (rest)",
                "peak RSS",
            ],
            scale_rows,
        )
    )


# --- PostgreSQL: an incremental check right after a load -----------------------------------------

PG_BEGIN = "<!-- postgres: written by `make bench` (`run.py --only postgres` alone) -->"
PG_END = "<!-- /postgres -->"
PG_ROWS, PG_BATCH = 1_000_000, 10_000
PG_TIMEOUT = 60  # seconds the correlated probe gets before it is cancelled


class NoPostgres(Exception):
    """The machine has no PostgreSQL server binaries."""


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL from the machine's binaries on a free port (run as the `postgres`
    user when this runs as root, as the tests' server); its URL, stopped afterwards."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    on_path = shutil.which("pg_ctl")
    bindir = (found[0] if found else Path(on_path) if on_path else Path("/nonexistent/pg_ctl")).parent
    if not (bindir / "initdb").exists():
        raise NoPostgres("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    base = Path(tempfile.mkdtemp(prefix="pipefix-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data_dir = base / "data"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def server(*command: str, check: bool = True) -> None:
        as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_server, *command], check=check, capture_output=True, stdin=subprocess.DEVNULL)

    initdb = ("-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
    server(str(bindir / "initdb"), "-D", str(data_dir), *initdb)
    options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    server(str(bindir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-l", str(base / "log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        server(str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)


def bench_postgres(report: Report, log: Any) -> None:
    try:
        _bench_postgres(report, log)
    except NoPostgres as error:
        log(f"  PostgreSQL part skipped: {error}; BENCHMARKS.md keeps its section")
        report.ran.discard("postgres")


def _bench_postgres(report: Report, log: Any) -> None:
    with postgres_server() as url, tempfile.TemporaryDirectory(prefix="pipefix-bench-pg-") as folder:
        log(f"PostgreSQL: {PG_ROWS:,} rows, then {PG_BATCH:,} with repeated keys")
        prepared = measure(case("postgres-prepare", folder, url, str(PG_ROWS), str(PG_BATCH))).result
        # Agreement before speed: the incremental figures equal a full rescan's.
        incremental = measure(case("pipefix-verify", folder, "incremental")).result["figures"]
        full = measure(case("pipefix-verify", folder, "full")).result["figures"]
        require(incremental["read_after_step"] == 1, f"not incremental: {incremental}")
        require(_same_figures(incremental, full), f"incremental {incremental} != full {full}")
        reps = 1 if report.quick else 3
        inc, rescan = alternate(
            [
                Series(
                    "pipefix check (incremental)", case("pipefix-check", folder, "incremental", "2"), reps
                ),
                Series("pipefix check --full", case("pipefix-check", folder, "full", "2"), reps),
            ],
            log,
        )
        timeout = 20 if report.quick else PG_TIMEOUT
        old = measure(case("postgres-exists-probe", folder, str(timeout))).result
        log(f"  correlated EXISTS probe: {old['seconds']:.1f} s, cancelled: {old['cancelled']}")
    old_text = f"> {timeout} s (cancelled)" if old["cancelled"] else f"{old['seconds']:.2f} s"
    step = inc.median("warm_check_seconds")
    report.target(
        "PostgreSQL incremental check, 1M + 10k repeated keys, statistics from before the batch",
        "linear: ≤ 2× the full rescan (one pass)",
        step <= rescan.median("warm_check_seconds") * 2,
        f"{step:.2f} s (full rescan {rescan.median('warm_check_seconds'):.2f} s; the correlated probe "
        f"it replaced {old_text})",
    )
    rows = [
        [
            "pipefix check, incremental (INTERSECT probe)",
            f"{step:.2f} s",
            f"{inc.median('check_seconds'):.2f} s",
            f"{inc.rss:.0f} MiB",
        ],
        [
            "pipefix check --full",
            f"{rescan.median('warm_check_seconds'):.2f} s",
            f"{rescan.median('check_seconds'):.2f} s",
            f"{rescan.rss:.0f} MiB",
        ],
        ["the correlated EXISTS probe alone (pipefix before; DuckDB's form)", old_text, "", ""],
    ]
    report.postgres = "\n\n".join(
        [
            PG_BEGIN,
            "## PostgreSQL: an incremental check right after a load\n\n"
            f"A PostgreSQL 15 table (a throwaway server on this machine) of {prepared['rows']:,} rows: "
            f"{PG_ROWS:,} loaded at step 1, their figures saved and the table analyzed, then "
            f"{PG_BATCH:,} rows at step 2 whose keys repeat (each 4 times; half of them among the "
            "older keys), as overlapping runs leave them. The statistics are those from before the "
            "batch, as right after any load (autovacuum analyzes a table once a tenth of it changed). "
            "The incremental check reads the rows loaded after step 1 and probes the older rows "
            "with their distinct keys; planned from those statistics, the correlated EXISTS probe "
            "scans the older rows once per new key. The incremental figures equal a full "
            "rescan's (asserted). *Step* as in section 2: the second check in one process.\n\n"
            + _table(["check", "step (median)", "first check in a fresh process", "peak RSS"], rows),
            PG_END,
        ]
    )


# --- Spark local[2] -------------------------------------------------------------------------------

# The Spark section is measured by `make bench-spark` (`run.py --only spark`), which rewrites it
# alone; `make bench` keeps the section it finds in BENCHMARKS.md.
SPARK_BEGIN = "<!-- spark: written by `make bench-spark`; `make bench` keeps it -->"
SPARK_END = "<!-- /spark -->"


def _jvm_rss(item: Series) -> float:
    return max((float(r.result.get("jvm_rss_mib", 0)) for r in item.runs), default=0.0)


def _rss_with_jvm(item: Series) -> str:
    """Peak RSS of the Python process, plus that of its Spark JVM (a child process) if any."""
    jvm = _jvm_rss(item)
    return f"{item.rss:.0f} + {jvm:.0f} MiB" if jvm else f"{item.rss:.0f} MiB"


def _start_and_work(item: Series) -> tuple[str, str]:
    """(start: interpreter-side set-up up to the first job, the work itself), medians."""
    result = item.last
    if "jvm_seconds" in result:  # hand-written Spark: the session's start, then the query
        return f"{item.median('jvm_seconds'):.2f} s", f"{item.median('query_seconds'):.2f} s"
    if "open_seconds" in result and "check_seconds" in result:  # pipefix: import + open, check
        start = item.median("import_seconds") + item.median("open_seconds")
        return f"{start:.2f} s", f"{item.median('check_seconds'):.2f} s"
    return "–", f"{item.inner:.2f} s"


def spark_machine() -> list[str]:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    java_line = (java.stderr or java.stdout).splitlines()[0] if (java.stderr or java.stdout) else "?"
    versions = []
    for package in ("pipefix", "pyspark", "py4j", "pyarrow", "pandas", "duckdb"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    return [
        f"- Java: {java_line}; Spark in local mode, `local[2]` (one JVM, 2 task threads, the "
        "default 1 GiB driver heap), 2 shuffle partitions, no UI, as pipefix's `spark://local[2]` "
        "opens it",
        f"- Packages: {', '.join(versions)}",
    ]


def bench_spark(report: Report, log: Any) -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()
    sizes = report.spark_sizes
    log(f"Spark warehouses {', '.join(sizes)} (cached under benchmarks/.data/; built once, by Spark)")
    measure([PYTHON, str(HERE / "data.py"), "--spark", *sizes])
    folders = {size: (str(data.spark_warehouse(size)), str(data.warehouse(size))) for size in sizes}

    # Agreement before speed: the Spark passes find what the DuckDB hand-written pass finds.
    agreement = []
    for size, (on_spark, on_duckdb) in folders.items():
        hand = measure(case("duckdb-sql", on_duckdb)).result
        by_spark = measure(case("spark-sql", on_spark)).result
        figures = measure(case("pipefix-verify", on_spark, "full")).result["figures"]
        require(
            _same_figures(by_spark["figures"], hand["figures"]),
            f"hand-written Spark {by_spark['figures']} != hand-written DuckDB {hand['figures']}",
        )
        require(by_spark["checks"] == hand["checks"], f"Spark {by_spark['checks']} != {hand['checks']}")
        _require_agreement(figures, hand)
        agreement.append(
            [
                f"{data.SIZES[size]:,}",
                f"{hand['figures']['duplicate_keys']} / {hand['figures']['price_out']} / "
                f"{hand['figures']['status_out']} / {hand['figures']['nulls']['coupon']:,}",
                "equal",
                "equal",
            ]
        )
        log(f"  verified Spark {size}: pipefix on Spark == hand-written Spark == hand-written DuckDB")

    reps = 1 if report.quick else 3
    body = []
    checked: dict[str, list[Series]] = {}
    for size, (on_spark, on_duckdb) in folders.items():
        log(f"Spark: full check, {size}")
        n = reps if size == "1m" else max(1, reps - 1)
        series = alternate(
            [
                Series("pipefix check --full, Spark local[2]", case("pipefix-check", on_spark, "full"), n),
                Series("hand-written Spark SQL pass, local[2]", case("spark-sql", on_spark), n),
                Series("pipefix check --full, DuckDB", case("pipefix-check", on_duckdb, "full"), n),
                Series("hand-written DuckDB pass", case("duckdb-sql", on_duckdb), n),
            ],
            log,
        )
        pipefix_spark, spark_hand, pipefix_duckdb, duckdb_hand = series
        hand_checks = duckdb_hand.last["checks"]
        require(spark_hand.last["checks"] == hand_checks, f"Spark pass: {spark_hand.last['checks']}")
        agrees = _pipefix_agrees(pipefix_spark.last["checks"], hand_checks)
        require(agrees.startswith("agree"), f"pipefix on Spark: {agrees}")
        rows = []
        for item in series:
            start, work = _start_and_work(item)
            rows.append(
                [
                    item.label,
                    str(len(item.runs)),
                    f"{item.wall:.2f} s",
                    start,
                    work,
                    _rss_with_jvm(item),
                    _fmt_ratio(item.wall / pipefix_duckdb.wall),
                    _fmt_ratio(item.wall / duckdb_hand.wall),
                ]
            )
        body.append(
            f"#### {data.SIZES[size]:,} rows\n\n"
            + _table(
                [
                    "tool",
                    "runs",
                    "wall (median)",
                    "start (imports, JVM, catalog)",
                    "the check itself",
                    "peak RSS (Python + JVM)",
                    "wall vs pipefix on DuckDB",
                    "wall vs hand-written DuckDB",
                ],
                rows,
            )
            + f"\n\nThe Spark session's start alone (the JVM, `SparkSession.builder…getOrCreate()`): "
            f"{pipefix_spark.median('session_seconds'):.2f} s inside pipefix's open, "
            f"{spark_hand.median('jvm_seconds'):.2f} s in the hand-written pass (medians). The rest "
            "of pipefix's open re-registers the table's versions and view in the session's "
            "in-memory catalog: its first Spark statements, which pay the SQL engine's warm-up "
            "that the hand-written pass pays inside its query."
        )
        checked[size] = series

    log("Spark: ingestion, 1M JSONL rows, 1% non-conforming")
    raw_reps = 1 if report.quick else 2
    ingest = alternate(
        [
            Series("pipefix loader → Spark local[2]", case("ingest-pipefix", "spark"), 1),
            Series("raw Spark read.json + insertInto", case("ingest-spark"), raw_reps),
            Series("pipefix loader → DuckDB", case("ingest-pipefix"), 1),
            Series("raw DuckDB INSERT … read_json", case("ingest-duckdb"), raw_reps),
        ],
        log,
    )
    loader_spark, raw_spark, loader_duckdb, _ = ingest
    for item in (loader_spark, loader_duckdb):
        got = item.last
        require(got["received"] == data.INGEST_ROWS, f"{item.label}: received {got}")
        require(got["loaded"] + got["quarantined"] == got["received"], f"{item.label}: rows lost: {got}")
        require(got["quarantined"] == data.BAD_ROWS, f"{item.label}: not every bad row held: {got}")
    require(raw_spark.last["loaded"] == data.INGEST_ROWS, f"raw Spark: {raw_spark.last}")
    require(raw_spark.last["null_timestamps"] == 0, f"raw Spark lost timestamps: {raw_spark.last}")
    ingest_rows = []
    for item in ingest:
        got = item.last
        if item is loader_spark or item is loader_duckdb:
            note = (
                f"{got['loaded']:,} loaded + {got['quarantined']:,} held with reasons = "
                f"{got['received']:,} received; 0 lost"
            )
        else:
            note = (
                f"{got['loaded']:,} loaded, {got['nonconforming_loaded']:,} of them breaking the "
                "contract (or turned to NULL)"
            )
        start = f"{item.median('open_seconds'):.2f} s" if "open_seconds" in got else "–"
        ingest_rows.append(
            [
                item.label,
                str(len(item.runs)),
                f"{item.inner:.2f} s",
                start,
                f"{item.wall:.2f} s",
                _rss_with_jvm(item),
                _fmt_ratio(item.inner / raw_spark.inner),
                _fmt_ratio(item.inner / loader_duckdb.inner),
                note,
            ]
        )
    slowest = "; ".join(f"{t:.1f} s `{sql}…`" for t, sql in loader_spark.last["slowest"])

    by_size = [
        f"{spark.wall / duckdb.wall:.0f}×{' its wall time on DuckDB' if not n else ''} at "
        f"{data.SIZES[size] // 1_000_000}M rows (the check itself {spark.median('check_seconds'):.2f} s "
        f"against {duckdb.median('check_seconds'):.2f} s)"
        for n, (size, (spark, _, duckdb, _)) in enumerate(checked.items())
    ]
    pipefix_spark = checked[sizes[0]][0]
    worth = (
        "**When Spark is worth it.** Not on one machine: pipefix's `check --full` on Spark "
        f"local[2] took {' and '.join(by_size)}. Two costs DuckDB does not have: "
        "each process starts a JVM and a Spark session "
        f"({pipefix_spark.median('session_seconds'):.1f} s inside pipefix's open, "
        f"{pipefix_spark.median('open_seconds'):.1f} s for the whole open with the catalog), and "
        "each statement is a job, planned, scheduled and run as tasks, where DuckDB runs a "
        "query in-process. Ingestion pays both, plus the trip of every verdict row from DuckDB "
        f"(which still judges the batch) to Spark: {loader_spark.inner / loader_duckdb.inner:.1f}× "
        "pipefix's DuckDB load. A running agent starts its JVM once, so only the per-job cost "
        "recurs each step; a fresh `pipefix check` pays the start every time. Spark earns "
        "these costs back only where one machine is not enough: tables larger than a machine "
        "scans in a step, or tables that already live in a cluster's storage beside other Spark "
        "readers, where executors on many machines scan in parallel (not measured here: this "
        "is one 2-core machine). Below that, choose DuckDB."
    )
    load_after = os.getloadavg()
    report.spark = "\n\n".join(
        [
            SPARK_BEGIN,
            "## Spark local[2]",
            f"Written by `make bench-spark` (`benchmarks/run.py --only spark"
            f"{' --quick' if report.quick else ''}`) in {time.perf_counter() - started:.0f} s, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, on the machine above, with "
            "each case in a fresh process as everywhere here, and the DuckDB cases beside it "
            "measured again, alternately, in the same run. Load average when this part started: "
            f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f} (1 / 5 / 15 min); "
            f"when it ended: {load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}. On a "
            "2-core machine any other process competes with the JVM's task threads: re-run when "
            "the machine is quiet.",
            "\n".join(spark_machine()),
            "The Spark warehouse is pipefix's own `spark://local[2]` (a `pipefix.yaml` naming it): "
            "the orders table is the Parquet table `orders__v1` behind the view `orders`, written "
            "by Spark from the same Parquet file as the DuckDB warehouse, with pipefix's state "
            "(contracts, batches, saved figures) in `spark-warehouse/pipefix-state.duckdb`. "
            "Peak RSS is the Python process's and, after the `+`, its JVM's (a child process the "
            "runner's accounting does not reach: read from `/proc/<pid>/status` `VmHWM` before "
            "the case exits).",
            "### Agreement (asserted before any timing)\n\n"
            "pipefix on Spark (`pipefix-verify`: its health module's figures), the hand-written "
            "Spark SQL pass and the hand-written DuckDB pass must find the same figures and the "
            "same 9 results; the runner stops otherwise.\n\n"
            + _table(
                [
                    "rows",
                    "duplicate keys / price out of range / status not allowed / null coupons",
                    "pipefix on Spark vs hand-written DuckDB",
                    "hand-written Spark vs hand-written DuckDB",
                ],
                agreement,
            ),
            "### Full check, the same 9 checks\n\n"
            "`pipefix check --full` as section 1 times it (`Pipeline.open(read_only=True)`, "
            "`check(full=True)`), on the Spark warehouse and on the DuckDB one. The hand-written "
            "Spark SQL pass starts a local[2] session configured as pipefix's, reads the table's "
            "Parquet files (`spark.read.parquet`) and runs the hand-written DuckDB pass's "
            "aggregate query unchanged (`count(DISTINCT order_id)`, `count(*) FILTER (…)`). "
            "*Start* is the process's work before the first job: for pipefix its imports and "
            "`Pipeline.open` (on Spark: the JVM, the session, and the table versions registered "
            "again in the session's in-memory catalog); for the hand-written Spark pass, the "
            "session. *The check itself* is the rest: pipefix's `check` (its state's reads and "
            "one aggregate statement per table), or the hand-written query with reading the "
            "schema.\n\n" + "\n\n".join(body),
            "### Ingestion: 1,000,000 JSONL rows, 1% non-conforming\n\n"
            "The file of section 3, into a new warehouse. *Load* is timed inside the process "
            "from the open warehouse (for Spark: its JVM started, the table created) to the "
            "committed load; *start* is that opening. On Spark, pipefix's loader still stages and "
            "judges the batch in DuckDB, probes the table for the batch's keys (one Spark job), "
            "writes the conforming rows to the table's Parquet version as one Arrow DataFrame, "
            "and commits the held records and the batch's bookkeeping to its state. The raw "
            "Spark load is `spark.read.json(path, schema=…)` (PERMISSIVE: a value it cannot type "
            "becomes NULL) and `insertInto` a Parquet table, no contract; its timestamp column is "
            "`TIMESTAMP_LTZ`, because read into `TIMESTAMP_NTZ` every `…Z` timestamp of the file "
            "becomes NULL without an error.\n\n"
            + _table(
                [
                    "loader",
                    "runs",
                    "load (median)",
                    "start",
                    "wall",
                    "peak RSS (Python + JVM)",
                    "vs raw Spark",
                    "vs pipefix on DuckDB",
                    "rows",
                ],
                ingest_rows,
            )
            + f"\n\nThe slowest steps of pipefix's load into Spark (its last run): {slowest}.",
            worth,
            SPARK_END,
        ]
    )


def _spark_block(text: str) -> str:
    """The Spark section of an earlier BENCHMARKS.md, markers included ("" if none)."""
    begin, end = text.find(SPARK_BEGIN), text.find(SPARK_END)
    return text[begin : end + len(SPARK_END)] if 0 <= begin < end else ""


def _postgres_block(text: str) -> str:
    """The PostgreSQL section of an earlier BENCHMARKS.md, markers included ("" if none)."""
    begin, end = text.find(PG_BEGIN), text.find(PG_END)
    return text[begin : end + len(PG_END)] if 0 <= begin < end else ""


def _with_postgres_block(text: str, block: str) -> str:
    """`text` with its PostgreSQL section replaced by `block` (or placed before the Spark one,
    else before the notes on how the other tools are run)."""
    old = _postgres_block(text)
    if old:
        return text.replace(old, block)
    for marker in (SPARK_BEGIN, "## How the other tools are run"):
        if marker in text:
            return text.replace(marker, block + "\n\n" + marker)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def _with_spark_block(text: str, block: str) -> str:
    """`text` with its Spark section replaced by `block` (or placed before the notes on how the
    other tools are run)."""
    old = _spark_block(text)
    if old:
        return text.replace(old, block)
    marker = "## How the other tools are run"
    if marker in text:
        return text.replace(marker, block + "\n\n" + marker)
    return text.rstrip("\n") + "\n\n" + block + "\n"


# --- the report ----------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        ram = f"{int(mem) / 1024 / 1024:.1f} GiB"
    except OSError:
        ram = "unknown"
    versions = []
    packages = (
        "pipefix",
        "duckdb",
        "soda-core",
        "soda-core-duckdb",
        "great-expectations",
        "dlt",
        "polars",
        "sqlalchemy",
        "duckdb-engine",
        "pandas",
        "langgraph",
    )
    for package in packages:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    load = os.getloadavg()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {ram}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}",
        f"- Packages: {', '.join(versions)}",
        f"- Load average when the run started: {load[0]:.2f} (1 min), {load[1]:.2f} (5 min), "
        f"{load[2]:.2f} (15 min); the machine should be otherwise idle",
    ]


def write(report: Report, path: Path, seconds: float) -> None:
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    spark = report.spark or _spark_block(before)
    postgres = report.postgres or _postgres_block(before)
    profile = report.profile or run_profile.block(before)
    if report.ran and report.ran <= {"spark", "postgres", "profile", "ingest"}:  # only those: the rest stays
        text = before or "# pipefix benchmarks\n"
        if "ingest" in report.ran:
            text = run_ingestion.rewrite(text, report)
        if report.profile:
            text = run_profile.with_block(text, profile, (PG_BEGIN, SPARK_BEGIN, "## How the other tools"))
        if report.spark:
            text = _with_spark_block(text, spark)
        if report.postgres:
            text = _with_postgres_block(text, postgres)
        path.write_text(text, encoding="utf-8")
        return
    targets = _table(
        ["target", "wanted", "result", "measured"],
        [[what, want, "met" if met else "**missed**", detail] for what, want, met, detail in report.targets],
    )
    text = "\n\n".join(
        [
            "# pipefix benchmarks",
            f"Written by `make bench` (`benchmarks/run.py{' --quick' if report.quick else ''}`) in "
            f"{seconds:.0f} s. Every case runs in a fresh process; pairs run alternately in the same "
            "run; medians of the runs shown. Peak RSS is the largest resident set of the process "
            "(`ru_maxrss` of that child). Numbers from one machine: re-run `make bench` on yours.",
            "## Machine\n\n" + "\n".join(report.machine),
            "## Targets\n\n" + targets + "\n\n" + explain(report),
            *report.sections,
            *([profile] if profile else []),
            *([postgres] if postgres else []),
            *([spark] if spark else []),
            COMPETITORS,
        ]
    )
    path.write_text(text + "\n", encoding="utf-8")


COMPETITORS = """## How the other tools are run

- Pinned in `benchmarks/requirements.lock`, installed into `.venv-bench` with the product's lock, never
  into the product's dependencies. Every version is in *Machine* above.
- **Soda Core** 3.5 with its DuckDB data source, reading the warehouse file read-only; SodaCL checks
  `schema` (required columns, `wrong column type`), `missing_count` ×6, `duplicate_count`,
  `missing_percent`, `invalid_count` with `valid min/max` ×2 and `valid values`, `row_count`,
  `freshness` (with `NOW` set to the benchmark's fixed now). `soda-core-duckdb` 3.5.6 declares
  `duckdb<1.1`; it runs here on DuckDB 2 (installed with `--no-deps`) so every tool uses the same
  engine, and it finds the same 9 results. Its usage statistics are switched off.
- **Great Expectations** 1.x, SQL datasource through `duckdb-engine` and SQLAlchemy 2.0,
  `result_format=BOOLEAN_ONLY`: `ExpectTableColumnsToMatchSet`, `ExpectColumnValuesToBeOfType` ×7
  (its SQL path sees SQLAlchemy types: DOUBLE comes back as FLOAT), `ExpectColumnValuesToNotBeNull`
  ×6, `ExpectColumnValuesToBeUnique`, `ExpectColumnValuesToNotBeNull(mostly=0.1)` for the null
  fraction, `ExpectColumnValuesToBeBetween` ×2, `ExpectColumnValuesToBeInSet`,
  `ExpectTableRowCountToBeBetween`, `ExpectColumnMaxToBeBetween` for freshness. GX 1.24 reads a
  query's rows after closing its connection, which duckdb-engine does not survive (every metric
  comes back empty; GX issues #10738 and #11579): the benchmark buffers each result before the
  connection closes, the same queries otherwise.
- **dlt** 1.x: a resource yielding the JSONL records as dicts, column hints with types, contract
  `data_type: discard_row`, destination DuckDB. dlt has no row-level not-null or range rule (a null
  in a column declared not-nullable fails the whole load), so its columns are declared nullable.
- **Polars** lazy: one `select` over `scan_parquet` of the file the table was made from.
- **Hand-written DuckDB**: one aggregate query over the table plus `information_schema` for types.
"""


def explain(report: Report) -> str:
    notes = []
    for what, _, met, detail in report.targets:
        if met:
            continue
        if what.startswith("full check") and "hand-written" in what:
            notes.append(
                f"- *{what}* ({detail}): pipefix's process imports its config and pydantic "
                "(click, DuckDB) and reads its own state (contracts, loads, quarantine) before "
                "the one aggregate query; on a small table that fixed cost (see the import and check "
                "split under the table) outweighs the scan."
            )
        elif what.startswith("ingestion"):
            notes.append(run_ingestion.explain(what, detail))
        elif "overhead" in what:
            notes.append(
                f"- *{what}* ({detail}): pipefix's work outside DuckDB per table and step: building "
                "and reading each table's statements, the per-table evaluation and planning, and "
                "the step's records; with a batch per table, also the loader's Python side. It is "
                "the smallest share of a table-step (see section 5), and it grows with the "
                "machine's load (see the load average above)."
            )
        elif "--help" in what:
            notes.append(
                f"- *{what}* ({detail}): `pipefix --help` imports only click and pipefix's command "
                "module (no DuckDB, no LangGraph); its time follows the machine's load."
            )
        else:
            notes.append(f"- *{what}*: {detail}.")
    return "### Where a target is missed\n\n" + "\n".join(notes) if notes else "Every target met."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated: verify,full,incremental,ingest,demo,profile,postgres,spark",
    )
    parser.add_argument(
        "--ingestion-cases",
        default=",".join(run_ingestion.KINDS),
        help="comma-separated ingestion cases (`--only ingest` rewrites section 3 alone): "
        + ",".join(run_ingestion.KINDS),
    )
    parser.add_argument(
        "--dlt-rows", type=int, default=DLT_ROWS, help="records dlt loads (time scaled to 1M)"
    )
    parser.add_argument(
        "--spark", action="store_true", help="also the Spark local[2] part (`make bench-spark` alone)"
    )
    parser.add_argument(
        "--spark-sizes", default=",".join(SPARK_SIZES), help="comma-separated table sizes on Spark: 1m,10m"
    )
    options = parser.parse_args()
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", flush=True)

    sizes = tuple(filter(None, options.spark_sizes.split(",")))
    unknown = [size for size in sizes if size not in data.SIZES]
    if unknown or not sizes:
        parser.error(f"--spark-sizes: one or more of {', '.join(data.SIZES)}")
    kinds = tuple(filter(None, options.ingestion_cases.split(",")))
    if set(kinds) - set(run_ingestion.KINDS):
        parser.error(f"--ingestion-cases: one or more of {', '.join(run_ingestion.KINDS)}")
    report = Report(
        options.quick, machine=machine(), dlt_rows=options.dlt_rows, spark_sizes=sizes, ingestion_cases=kinds
    )  # the load average before this run's work
    only = set(filter(None, options.only.split(",")))
    if not only or only - {"spark", "postgres", "profile", "ingest"}:  # those make their own data
        log("preparing data (cached under benchmarks/.data/)")
        data.prepare_all()
    steps = [
        ("verify", verify),
        ("full", bench_full_check),
        ("incremental", bench_incremental),
        ("ingest", bench_ingestion),
        ("demo", bench_demo_and_scaling),
        ("profile", run_profile.bench_profile),
        ("postgres", bench_postgres),
        ("spark", bench_spark),
    ]
    for name, step in steps:
        wanted = name in only if only else (name != "spark" or options.spark)
        if wanted:
            log(name)
            report.ran.add(name)
            step(report, log)
    write(report, options.out, time.perf_counter() - started)
    log(f"wrote {options.out}")


if __name__ == "__main__":
    main()
