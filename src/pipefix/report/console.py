"""The human report of a run, in the original example's sections, every figure from the run."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console
from rich.table import Table

from pipefix.domain.constraints import Constraint
from pipefix.domain.goals import Evaluation, Goal
from pipefix.domain.records import StepMetrics, StepRecord
from pipefix.engines import store
from pipefix.pipeline import landing_report
from pipefix.tools.context import PipelineContext


def make_console(no_color: bool = False) -> Console:
    # A fixed width keeps piped output (CI logs, files) identical from run to run. Off a terminal
    # rich writes no escape codes; --no-color drops them on a terminal too (bold included).
    return Console(
        no_color=no_color,
        color_system=None if no_color else "auto",
        highlight=False,
        width=120,
        soft_wrap=False,
    )


def header(console: Console, db_path: str, landing: str, planner: str) -> None:
    console.print("[bold]pipefix[/] — Data Pipeline Fixer demo")
    console.print(f"mode:      {planner}")
    console.print(f"warehouse: {db_path}")
    console.print(f"landing:   {landing}")


def initial_state(
    console: Console, goal: Goal, constraints: tuple[Constraint, ...], tables: tuple[str, ...]
) -> None:
    console.rule("Initial state")
    console.print(f"goal v{goal.version}: {goal.description}")
    for criterion in goal.criteria:
        console.print(f"  - {criterion}")
    console.print("constraints:")
    for constraint in constraints:
        console.print(f"  - {constraint.name}: {constraint.description}")
    console.print(f"tables ({len(tables)}): {', '.join(tables)}")
    console.rule("Steps")


def step_line(console: Console, record: StepRecord, *, verbose: bool = False) -> None:
    m = record.metrics
    marks = []
    if m.drifted_tables:
        marks.append(f"[yellow]drift: {', '.join(m.drifted_tables)}[/]")
    if record.revision is not None:
        marks.append(
            f"[magenta]goal revised v{record.revision.from_goal.version}"
            f"->v{record.revision.to_goal.version}[/]"
        )
    for change in record.constraint_changes:
        marks.append(f"[cyan]constraint {change.change}: {change.constraint.name}[/]")
    marks += [f"[yellow]{t}[/]" for t in m.new_tables]  # drift of the pipeline: a folder no contract names
    actions = [f"{res.action} {'ok' if res.ok else '[red]FAILED[/]'}" for res in record.results]
    actions += [f"[red]refused[/] {r.action} ({r.reason})" for r in record.refused]
    console.print(
        f"Step {record.step:>2} | score {record.evaluation.score:+.2f} | health {m.health:.2f} | "
        f"error {m.error_rate:6.2%} | throughput {m.throughput:6.1f} rows/s ({m.throughput_ratio:4.0%})"
    )
    if marks:
        console.print(f"        {' | '.join(marks)}")
    resent = [r for t in m.tables for r in t.resent]
    if resent:
        console.print(f"        duplicates: {resent_text([(r.file, r.lines, r.first) for r in resent])}")
    for line in file_lines([(n.kind, n.text) for n in record.files]):
        console.print(f"        {line}", markup=False, soft_wrap=True)  # one line per file, unbroken
    waiting = [t for t in m.tables if not t.checks.get("held_rows", True)]
    if waiting:
        held = ", ".join(_held_text(t.table, t.held_for_shape, t.held_for_value) for t in waiting)
        console.print(f"        [red]rows wait:[/] {held}")
    for action in actions or ["no action"]:
        console.print(f"        -> {action}")
    for wait in record.waiting:
        console.print(
            f"        [red]repair needed[/] on {wait.table} (decision {wait.decision_id}): {wait.reason}"
        )
    if verbose:
        for judged in record.evaluation.results:
            value = "n/a" if judged.value is None else f"{judged.value:g}"
            console.print(
                f"        {'✓' if judged.met else '✗'} {judged.criterion} (measured {value}, "
                f"score {judged.score:+.2f})"
            )
        if record.plan is not None:
            console.print(f"        plan: {record.plan.reasoning} (confidence {record.plan.confidence:.2f})")
        for result in record.results:
            console.print(f"           {result.action}: {result.detail}")
        for note in record.amendments:
            console.print(f"        amended: {note}")


def _held_text(table: str, shape: int, value: int) -> str:
    parts = [f"{n:,} for {what}" for n, what in ((shape, "shape"), (value, "values")) if n]
    return f"{table} {' + '.join(parts) or '0'}"


def resent_text(files: list[tuple[str, int, str]]) -> str:
    """Files re-sent with bytes already loaded, (file, lines, first file) each, in a few words."""
    if len(files) == 1:
        file, lines, first = files[0]
        return f"{file} ({lines:,} lines) already loaded as {first}"
    firsts = list(dict.fromkeys(first for _, _, first in files))
    shown = ", ".join(firsts[:3]) + (f" and {len(firsts) - 3} more" if len(firsts) > 3 else "")
    return f"{len(files)} files ({sum(n for _, n, _ in files):,} lines) already loaded as {shown}"


def file_lines(notes: list[tuple[str, str]], most: int = 5) -> list[str]:
    """Landed files not simply loaded, (kind, text) each: grown or rewritten after they were
    loaded, not read yet (still being written, waiting for _SUCCESS), or reported: never read
    as they are (landing_report.py). A long list is cut."""
    lines = [text for kind, text in notes if kind in ("appended", "rewritten")]
    waiting = [text for kind, text in notes if kind in ("writing", "marker")]
    reported = [text for kind, text in notes if kind in landing_report.KINDS]
    lines += [f"not read yet: {text}" for text in waiting[:most]]
    if len(waiting) > most:
        lines.append(f"not read yet: {len(waiting) - most} more files")
    lines += [f"reported: {text}" for text in reported[: most * 2]]
    if len(reported) > most * 2:
        lines.append(f"reported: {len(reported) - most * 2} more files")
    return lines


def settle_wait_line(console: Console, seconds: float, files: list[Any]) -> None:
    """`pipefix run` waits once when every file to read is still being written."""
    names = ", ".join(f.file for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    console.print(
        f"waiting {math.ceil(seconds)} s for {names} to settle (modified less than landing.settle ago)",
        markup=False,
        soft_wrap=True,
    )


def _landing_lines(console: Console, summary: dict[str, Any]) -> None:
    """Files rewritten after they were loaded (over the pipeline's life) and files not read yet."""
    landing = summary.get("landing") or {}
    notes = [("rewritten", store.changed_file_text(c)) for c in landing.get("rewritten", [])]
    notes += [
        ("writing", f"{f['file']} ({f['reason']}): a later run reads it")
        for f in landing.get("not_ready", [])
    ]
    for line in file_lines(notes):
        console.print(line, markup=False, soft_wrap=True)
    files = summary.get("files")
    if files:
        console.print(files["text"], markup=False, soft_wrap=True)
        reported = [(f["kind"], f"{f['file']}: {f['reason']}") for f in files["reported_files"]]
        for line in file_lines(reported, most=10):
            console.print(f"  {line}", markup=False, soft_wrap=True)


def _rows_text(rows: dict[str, int]) -> str:
    """received = loaded + held (+ the lines of re-sent files, when there are any)."""
    resent = f" | duplicates {rows['duplicates']:,}" if rows.get("duplicates") else ""
    # Records in the folders of tables no contract names yet: received, waiting to be adopted.
    resent += f" | waiting {rows['waiting']:,}" if rows.get("waiting") else ""
    # Rows of an adopted table from before pipefix: loaded, never received by pipefix.
    adopted = f" (adopted {rows['adopted']:,})" if rows.get("adopted") else ""
    return (
        f"rows: received {rows['received']:,} | loaded {rows['loaded']:,}{adopted} | "
        f"quarantined {rows['quarantined']:,}{resent} | replayed {rows['replayed']:,} | lost {rows['lost']:,}"
    )


def _resent_line(console: Console, summary: dict[str, Any]) -> None:
    files = summary.get("duplicates") or []
    if files:
        listed = [(f["file"], f["lines"], f["first"]) for f in files]
        console.print(f"duplicates: {resent_text(listed)}; recorded, nothing loaded twice")


def waiting_lines(console: Console, summary: dict[str, Any]) -> None:
    """Rows that still wait, per table and why, and the decisions that say what would release them."""
    held = summary["held"]
    for table in held["tables_waiting"]:
        figures = held["tables"][table]
        console.print(
            f"[red]rows wait[/] on {table}: {figures['for_shape']:,} held for their shape, "
            f"{figures['for_value'] + figures['unreadable']:,} for their values "
            f"({figures['share']:.2%} of {figures['received']:,} received)"
        )
    for decision in summary["waiting"]:
        console.print(f"  decision {decision['decision']} (step {decision['step']}): {decision['reason']}")
    for variant in summary.get("variants", []):
        console.print(
            f"[yellow]{variant['table']} carries a variant[/]: {variant['variant']} keeps "
            f"{variant['rows']:,} value(s) of {variant['column']} no conversion can type, as sent"
        )


def new_table_lines(console: Console, summary: dict[str, Any]) -> None:
    """Folders of tables no contract names: their records wait, and what would load them; a table
    added from one, with the YAML that makes pipefix.yaml own it."""
    for entry in summary.get("new_tables", []):
        table = entry["table"]
        if entry["status"] == "added":
            console.print(
                f"table {table} was added from landing/{table}/ ({entry['contract']}); {entry['needs']}:",
                markup=False,
                soft_wrap=True,
            )
            console.print(entry["yaml"].rstrip(), markup=False, soft_wrap=True)
            continue
        console.print(
            f"new table {table}: {entry['files']} file(s), {entry['records']:,} records wait "
            f"({entry['status']}); {entry['needs']}",
            markup=False,
            soft_wrap=True,
        )
        if entry["contract"]:
            console.print(f"  proposed contract: {entry['contract']}", markup=False, soft_wrap=True)


def final_report(
    console: Console,
    pipeline: PipelineContext,
    summary: dict[str, Any],
    constraints: tuple[Constraint, ...],
    verbose: bool = False,
) -> None:
    engine = pipeline.engine
    final = summary["final"]
    console.rule("Final state")
    console.print(
        f"health {final['health']:.2f} | error rate {final['error_rate']:.2%} | "
        f"throughput {final['throughput']:.1f} rows/s"
    )
    contracts = store.active_contracts(engine)
    versions = ", ".join(f"{t} {c.label}" for t, c in contracts.items())
    console.print(f"contracts: {versions}")

    console.rule("Fix history")
    table = Table("step", "fix", "target", "result", "detail", show_edge=False)
    for fix in summary["fixes"]:
        table.add_row(
            str(fix["step"]),
            fix["action"],
            fix["target"],
            "ok" if fix["ok"] else "FAILED",
            fix["detail"],
        )
    console.print(table if summary["fixes"] else "no fixes were needed")

    console.rule("Drift details")
    diagnoses = [(k, v) for _, k, v in store.knowledge(engine) if k.startswith("diagnosis.")]
    if not diagnoses:
        console.print("no drift observed")
    seen = set()
    for key, diagnosis in diagnoses:
        if key in seen:
            continue
        seen.add(key)
        console.print(
            f"{diagnosis['table']} (contract v{diagnosis['contract_version']}.0): "
            f"{diagnosis['schema_rows']} rows held for their shape, first in {diagnosis['first_bad_batch']}"
        )
        for drift in diagnosis["drifts"]:
            console.print(
                f"  - {drift['kind']}: {drift['column']} "
                f"{drift.get('expected') or ''}{' -> ' if drift.get('expected') else ''}"
                f"{drift.get('observed') or ''}{' (' + drift['hint'] + ')' if drift.get('hint') else ''}"
            )
        for sample in diagnosis["samples"][:1]:
            console.print(f"    sample: {sample[:110]}")

    console.rule("Constraints")
    initial = [p for _, _, p in store.audit_trail(engine, ("constraint_initial",))]
    console.print("initial: " + "; ".join(p["constraint"] for p in initial))
    console.print("final:   " + "; ".join(c.name for c in constraints))
    evolutions = summary["constraints"]["evolutions"]
    rounds = sorted({e["step"] for e in evolutions})
    console.print(f"evolution rounds with changes: {len(rounds)}")
    for e in evolutions:
        console.print(f"  step {e['step']}: {e['change']} {e['constraint']} — {e['reason']}")

    console.rule("Goal audit trail")
    for version, step, description, reason, evidence in store.goals(engine):
        console.print(f"v{version} (step {step}): {description}")
        console.print(f"    reason: {reason}")
        if verbose and evidence and evidence != "{}":
            for key, values in json.loads(evidence).items():
                console.print(f"    {key}: {'; '.join(values)}")

    console.rule("Knowledge store")
    latest: dict[str, Any] = {}
    for step, key, value in store.knowledge(engine):
        latest[key] = (step, value)
    for key, (step, value) in sorted(latest.items()):
        text = value.get("drifts") if isinstance(value, dict) else value
        console.print(f"{key} (step {step}): {json.dumps(text, default=str)[:90]}")

    console.rule("Summary")
    rows = summary["rows"]
    console.print(f"{_rows_text(rows)} | duplicated {rows['duplicated']:,}")
    _resent_line(console, summary)
    console.print(
        f"drift at step {summary['drift_step']}; recovered at step {summary['recovered_step']}; "
        f"{len(summary['fixes'])} fixes; {len(summary['revisions'])} goal revision(s); "
        f"stop: {summary['stop_reason']}"
    )
    spent = summary["budget"]
    exhausted = ""
    if spent["exhausted_at_step"] is not None:
        exhausted = (
            f"; exhausted at step {spent['exhausted_at_step']}: {spent['refused']} fix(es) refused, "
            "monitoring went on"
        )
    console.print(f"fix budget: {spent['used']} of {spent['max_fixes']} attempts used{exhausted}")
    waiting_lines(console, summary)
    reasons = store.open_quarantine_reasons(engine)
    if reasons:
        held = summary["held"]
        kind = "bad values, not drift" if held["for_shape"] == 0 else "for their shape or values"
        console.print(f"still held in quarantine ({kind}):")
        for table_name, reason, count in reasons[:8]:
            console.print(f"  {table_name}: {count} × {reason}")
    console.print("healthy" if summary["healthy"] else "[red]NOT HEALTHY[/]: see the rows that wait above")


def run_summary(console: Console, summary: dict[str, Any]) -> None:
    """The closing lines of `pipefix run`: rows (cumulative) and health now."""
    rows = summary["rows"]
    final = summary["final"]
    console.rule("Summary")
    console.print(_rows_text(rows))
    _resent_line(console, summary)
    _landing_lines(console, summary)
    if final["health"] is not None:
        console.print(f"health {final['health']:.2f} | error rate {final['error_rate']:.2%}")
    waiting_lines(console, summary)
    new_table_lines(console, summary)
    console.print("healthy" if summary["healthy"] else "[red]NOT HEALTHY[/]")
    console.print(
        f"{len(summary['fixes'])} fixes, {len(summary['revisions'])} goal revision(s) "
        "over the pipeline's life; "
        f"goal v{summary['goal']['version']}: {summary['goal']['description']}"
    )


def check_report(console: Console, healthy: bool, metrics: StepMetrics, evaluation: Evaluation) -> None:
    table = Table(
        "table", "contract", "held (shape/values)", "of received", "checks", "failing", show_edge=False
    )
    for health in metrics.tables:
        table.add_row(
            health.table,
            f"v{health.contract_version}.0",
            f"{health.quarantine_open} ({health.held_for_shape}/{health.held_for_value})",
            f"{health.held_share:.2%}",
            f"{health.passed}/{len(health.checks)}",
            ", ".join(health.failing) or "-",
        )
    console.print(table)
    for result in evaluation.results:
        value = "n/a" if result.value is None else f"{result.value:g}"
        console.print(f"{'ok  ' if result.met else 'FAIL'} {result.criterion} (measured {value})")
    console.print("healthy" if healthy else "UNHEALTHY")
