"""Section 3 of BENCHMARKS.md, "Ingestion", and its rows of the Targets table (`run.py --only
ingest` rewrites only those). Each pipefix load runs side by side with its raw reference, in
alternation, in the same run:

- messy: the cached 1M-row JSONL, 1% non-conforming, vs raw DuckDB `INSERT … read_json` (and dlt);
- clean: a 1M-row JSONL where every record conforms, vs the same raw insert;
- 10m: a 10M-row messy JSONL (~1.5 GB, written into a temp dir and deleted after): peak memory;
- postgres: the messy 1M file into a PostgreSQL warehouse vs DuckDB `read_json` → CSV → psycopg
  `COPY` (a throwaway server, as section "PostgreSQL").

`--ingestion-cases messy,clean` picks some of them (the others' rows are kept as they were)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import data

KINDS = ("messy", "clean", "10m", "postgres")
SECTION = "## 3. Ingestion"
MIB_1M, MIB_10M = 600, 800


def _ratio_target(report: Any, what: str, wanted: float, pipefix: Any, raw: Any) -> None:
    ratio = pipefix.inner / raw.inner
    report.target(
        what,
        f"≤ {wanted:g}×",
        ratio <= wanted,
        f"{ratio:.2f}× ({pipefix.inner:.2f} s vs {raw.inner:.2f} s)",
    )


def _row(run: Any, item: Any, raw: Any, note: str, seconds: float | None = None) -> list[str]:
    took = item.inner if seconds is None else seconds
    return [
        item.label,
        str(len(item.runs)),
        f"{took:.2f} s" + (" (scaled)" if seconds is not None else ""),
        f"{item.wall:.2f} s",
        f"{item.rss:.0f} MiB",
        run._fmt_ratio(took / raw.inner),
        note,
    ]


def _held(result: dict[str, Any]) -> str:
    return f"{result['loaded']:,} loaded + {result['quarantined']:,} held with reasons; none lost"


def _raw(result: dict[str, Any]) -> str:
    return (
        f"{result['loaded']:,} loaded, {result['nonconforming_loaded']:,} of them breaking the "
        "contract (or turned to NULL)"
    )


def _slowest(result: dict[str, Any]) -> str:
    return "; ".join(f"{t:.1f} s `{sql}…`" for t, sql in result["slowest"])


def bench_ingestion(report: Any, log: Any) -> None:
    import run

    kinds = report.ingestion_cases
    reps = 2 if report.quick else 3
    data.ingest_jsonl()
    parts: list[str] = [
        f"{SECTION}: pipefix's loader beside a raw load of the same file\n\n"
        "*Load* is timed inside the process, from the open warehouse to the committed load; the "
        "wall includes the interpreter and imports; peak RSS is the process's (for PostgreSQL, "
        "the client's: the server is another process). Every case runs in a fresh process, "
        "alternately with its raw reference."
    ]
    if "messy" in kinds:
        log("ingestion, 1M JSONL rows, 1% non-conforming")
        dlt_rows = report.dlt_rows
        pipefix, raw, dlt = run.alternate(
            [
                run.Series("pipefix loader (contract split)", run.case("ingest-pipefix"), reps),
                run.Series("raw DuckDB INSERT … read_json", run.case("ingest-duckdb"), reps),
                run.Series(
                    f"dlt pipeline → DuckDB ({dlt_rows:,} rows)", run.case("ingest-dlt", str(dlt_rows)), 1
                ),
            ],
            log,
        )
        got = pipefix.last
        run.require(got["loaded"] + got["quarantined"] == data.INGEST_ROWS, f"rows lost: {got}")
        run.require(got["quarantined"] == data.BAD_ROWS, f"not every bad row held: {got}")
        scale = data.INGEST_ROWS / dlt.last["rows"]
        dlt_seconds = dlt.inner * scale
        dlt_note = (
            f"{dlt.last['loaded']:,} of {dlt.last['rows']:,} loaded, {dlt.last['nonconforming_loaded']:,} "
            "of them breaking the contract; rows with a text quantity discarded, not kept"
            + (f"; load time ×{scale:.0f} for 1M rows" if scale != 1 else "")
        ) + (f"; error: {dlt.last['error']}" if dlt.last.get("error") else "")
        rows = [
            _row(run, pipefix, raw, _held(got)),
            _row(run, raw, raw, _raw(raw.last)),
            _row(run, dlt, raw, dlt_note, dlt_seconds if scale != 1 else dlt.inner),
        ]
        _ratio_target(report, "ingestion, messy 1M JSONL, vs raw DuckDB insert", 2.5, pipefix, raw)
        report.target(
            "ingestion, messy 1M JSONL: peak memory",
            f"≤ {MIB_1M} MiB",
            pipefix.rss <= MIB_1M,
            f"{pipefix.rss:.0f} MiB (raw insert {raw.rss:.0f} MiB)",
        )
        report.target(
            "ingestion faster than dlt",
            "≥ 10×",
            dlt_seconds / pipefix.inner >= 10,
            f"{dlt_seconds / pipefix.inner:.1f}×"
            + (f" (dlt on {dlt.last['rows']:,} rows, scaled)" if scale != 1 else ""),
        )
        parts.append(
            "### 1,000,000 JSONL rows, 1% non-conforming\n\n"
            "One record in 100 breaks the contract (in turn: a negative price, an unknown status, a "
            "quantity sent as text, no customer_id). dlt loads the first "
            f"{dlt.last['rows']:,} records of the same file (1M take it many minutes here) and its "
            "load time is scaled to 1M rows; `benchmarks/run.py --dlt-rows 1000000` loads them all.\n\n"
            + run._table(HEADER, rows)
            + f"\n\npipefix's slowest statements in its last run: {_slowest(got)}."
        )
    with tempfile.TemporaryDirectory(prefix="pipefix-bench-ingest-") as folder:
        for kind, rows_wanted in (("clean", data.INGEST_ROWS), ("10m", 10 * data.INGEST_ROWS)):
            if kind not in kinds:
                continue
            log(f"ingestion, {kind}: writing the file")
            made = run.measure(run.case("ingest-file", kind, folder)).result
            log(f"  {made['bytes'] / 2**20:,.0f} MiB in {made['seconds']:.1f} s")
            path = made["path"]
            n = 1 if kind == "10m" else reps
            pipefix, raw = run.alternate(
                [
                    run.Series(
                        "pipefix loader (contract split)", run.case("ingest-pipefix", "duckdb", path), n
                    ),
                    run.Series("raw DuckDB INSERT … read_json", run.case("ingest-duckdb", path), n),
                ],
                log,
            )
            got = pipefix.last
            run.require(got["loaded"] + got["quarantined"] == rows_wanted, f"rows lost: {got}")
            title = "1,000,000 JSONL rows, every record conforming"
            if kind == "clean":
                run.require(got["quarantined"] == 0, f"a clean record held: {got}")
                _ratio_target(report, "ingestion, clean 1M JSONL, vs raw DuckDB insert", 1.3, pipefix, raw)
            else:
                run.require(got["quarantined"] == rows_wanted // 100, f"not every bad row held: {got}")
                title = f"10,000,000 JSONL rows ({made['bytes'] / 2**30:.2f} GiB), 1% non-conforming"
                report.target(
                    "ingestion, messy 10M JSONL: peak memory",
                    f"≤ {MIB_10M} MiB",
                    pipefix.rss <= MIB_10M,
                    f"{pipefix.rss:.0f} MiB (raw insert {raw.rss:.0f} MiB; load {pipefix.inner:.1f} s, "
                    f"{pipefix.inner / raw.inner:.2f}× the raw insert)",
                )
            parts.append(
                f"### {title}\n\n"
                + run._table(
                    HEADER, [_row(run, pipefix, raw, _held(got)), _row(run, raw, raw, _raw(raw.last))]
                )
                + f"\n\npipefix's slowest statements in its last run: {_slowest(got)}."
            )
            Path(path).unlink(missing_ok=True)
    if "postgres" in kinds:
        _postgres(report, log, reps, parts)
    report.sections.append("\n\n".join(parts))


HEADER = ["loader", "runs", "load (median)", "wall", "peak RSS", "vs raw", "rows"]


def _postgres(report: Any, log: Any, reps: int, parts: list[str]) -> None:
    import run

    try:
        server = run.postgres_server()
        url = server.__enter__()
    except run.NoPostgres as error:
        log(f"  PostgreSQL ingestion skipped: {error}")
        return
    try:
        log("ingestion into PostgreSQL, 1M JSONL rows, 1% non-conforming")
        pipefix, raw = run.alternate(
            [
                run.Series("pipefix loader → PostgreSQL", run.case("ingest-pipefix", url), reps),
                run.Series(
                    "DuckDB read_json → CSV → psycopg COPY", run.case("ingest-postgres-raw", url), reps
                ),
            ],
            log,
        )
    finally:
        server.__exit__(None, None, None)
    got = pipefix.last
    run.require(got["loaded"] + got["quarantined"] == data.INGEST_ROWS, f"rows lost: {got}")
    run.require(got["quarantined"] == data.BAD_ROWS, f"not every bad row held: {got}")
    _ratio_target(report, "ingestion into PostgreSQL, messy 1M JSONL, vs its raw path", 2.0, pipefix, raw)
    parts.append(
        "### Into PostgreSQL: 1,000,000 JSONL rows, 1% non-conforming\n\n"
        "A throwaway PostgreSQL 15 server on this machine (fsync off). The raw path: DuckDB "
        "`read_json` of the file written as CSV, then psycopg `COPY … FROM STDIN` of it.\n\n"
        + run._table(HEADER, [_row(run, pipefix, raw, _held(got)), _row(run, raw, raw, _raw(raw.last))])
        + f"\n\npipefix's slowest statements in its last run: {_slowest(got)}."
    )


WHY = (
    "pipefix reads every line as text (a broken line is held, not turned into NULLs), judges every "
    "field of every record against the contract, checks each key against the keys already loaded "
    "and writes the held records with their reasons; the raw load trusts its input. The slowest "
    "statements are listed under section 3."
)


def explain(what: str, detail: str) -> str:
    return f"- *{what}* ({detail}): {WHY}"


def rewrite(before: str, report: Any) -> str:
    """An earlier BENCHMARKS.md with section 3 and the ingestion rows of the Targets table (and
    their notes under "Where a target is missed") replaced by this run's."""
    text = before
    section = "\n\n".join(s for s in report.sections if s.startswith(SECTION))
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[end:] if end >= 0 else "\n")
    new_rows = [
        f"| {what} | {want} | {'met' if met else '**missed**'} | {detail} |"
        for what, want, met, detail in report.targets
    ]
    new_notes = [explain(what, detail) for what, _, met, detail in report.targets if not met]
    out: list[str] = []
    in_targets = False
    removed_at = last_row = note_at = end_at = -1  # where rows and notes go; the section's end
    for line in text.split("\n"):
        if line.startswith("## "):
            if in_targets:
                end_at = len(out)
            in_targets = line.startswith("## Targets")
        if in_targets and re.match(r"\| (ingestion[^|]*) \|", line):
            removed_at = len(out) if removed_at < 0 else removed_at
            continue  # every ingestion row: this run's replace them
        if in_targets and re.match(r"- \*(ingestion[^*]*)\*", line):
            continue
        out.append(line)
        if in_targets and line.startswith("| "):
            last_row = len(out)
        if in_targets and line.startswith(("- *", "### Where a target is missed")):
            note_at = len(out)
    if new_notes and note_at < 0 and end_at >= 0:
        out[end_at:end_at] = ["### Where a target is missed", "", *new_notes, ""]
    elif note_at >= 0:
        out[note_at:note_at] = new_notes
    row_at = removed_at if removed_at >= 0 else last_row
    if row_at >= 0:
        out[row_at:row_at] = new_rows
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))
