"""The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched) that
shows what happened to a pipeline, from what its warehouse holds.

Every piece of text that comes from data (table and column names, sample rows, reasons) is
escaped; the page's Content-Security-Policy forbids scripts and remote loads besides.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipefix.domain.records import StepRecord
from pipefix.engines.base import Engine
from pipefix.report import plots
from pipefix.report.data import ConstraintTrack, DriftEpisode, FixRow, GoalVersion, ReportData, collect

SECTIONS = {
    "overview": "Overview",
    "health": "Health, error rate and throughput",
    "score": "Evaluation score",
    "fixes": "Fix timeline",
    "goals": "Goal versions",
    "constraints": "Constraints over time",
    "rows": "Rows",
    "drift": "Drift: evidence and repair",
}
MAX_REASONS = 50
# Defence in depth behind the escaping: no script runs and nothing is fetched, whatever the data.
CSP = "default-src 'none'; style-src 'unsafe-inline'"

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2733; background: #f5f7fa; }
header { background: #1f3b57; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
nav { padding: 8px 28px; background: #e4eaf1; position: sticky; top: 0; }
nav a { margin-right: 14px; color: #1f3b57; }
main { padding: 8px 28px 40px; max-width: 1180px; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; }
section { padding: 12px 18px; margin: 16px 0; }
h2 { font-size: 18px; margin: 4px 0 10px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border-bottom: 1px solid #e6eaef; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f0f3f7; font-weight: 600; }
td.num { text-align: right; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #dde3ea; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 20px; }
.ok { color: #2e8b57; }
.failed, .refused { color: #c0392b; font-weight: 600; }
.goals { display: flex; gap: 12px; overflow-x: auto; }
.goal { flex: 1 1 0; min-width: 260px; border: 1px solid #dde3ea; border-radius: 6px; padding: 8px 12px; }
ul.criteria { padding-left: 18px; margin: 4px 0; }
li.add { color: #2e8b57; }
li.add::marker { content: "+ "; }
li.del { color: #c0392b; text-decoration: line-through; }
li.del::marker { content: "− "; }
ins { background: #dff3e4; text-decoration: none; }
del { background: #fbe3e0; }
pre { background: #f4f6f8; padding: 6px 8px; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
svg.plot { width: 100%; max-width: 920px; height: auto; display: block; margin: 6px 0; }
.muted { color: #66727f; }
code { font-size: 12px; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def build_report(
    engine: Engine,
    source_tables: Sequence[str] | None = None,
    *,
    revise_threshold: float | None = None,
    stop_reason: str = "",
    source: str = "",
) -> str:
    """The report's HTML. Raises ReportError for a warehouse with nothing to show."""
    data = collect(engine, source_tables, revise_threshold=revise_threshold, stop_reason=stop_reason)
    return render(data, source)


def write_report(
    path: Path, engine: Engine, source_tables: Sequence[str] | None = None, **options: Any
) -> Path:
    """Write the report to `path` (its folder must exist); returns the absolute path written."""
    text = build_report(engine, source_tables, **options)
    target = path.expanduser().resolve()
    target.write_text(text, encoding="utf-8")
    return target


def render(data: ReportData, source: str = "") -> str:
    revisions = [(r.step, _revision_label(r)) for r in data.records if r.revision is not None]
    drift_steps = data.drift_steps
    recovered = data.summary["recovered_step"]
    last_step = data.records[-1].step
    bodies = {
        "overview": _overview(data),
        "health": plots.timeline_svg(data.records, drift_steps, revisions, recovered) + _events(data),
        "score": plots.score_svg(data.records, data.revise_threshold, drift_steps, revisions, recovered)
        + f'<p class="muted">The goal is revised when the score falls to {data.revise_threshold:+.2f} '
        "or below (once per drift episode).</p>",
        "fixes": _fixes(data.fixes),
        "goals": _goals(data.goals),
        "constraints": plots.constraints_svg(data.constraints, last_step) + _constraints(data.constraints),
        "rows": plots.rows_svg(data.rows) + _rows(data.rows, data.open_reasons),
        "drift": "".join(_drift(e) for e in data.drifts) or "<p>No schema drift was diagnosed.</p>",
    }
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in SECTIONS.items())
    sections = "".join(
        f'<section id="{key}" data-section="{key}"><h2>{esc(SECTIONS[key])}</h2>{body}</section>'
        for key, body in bodies.items()
    )
    subtitle = f"{len(data.records)} steps" + (f" · {esc(source)}" if source else "")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>pipefix report</title><style>{CSS}</style></head><body>"
        f"<header><h1>pipefix report</h1><div>{subtitle}</div></header><nav>{nav}</nav>"
        f"<main>{sections}</main></body></html>\n"
    )


def _revision_label(record: StepRecord) -> str:
    assert record.revision is not None
    return f"goal v{record.revision.from_goal.version}→v{record.revision.to_goal.version}"


def _table(headers: Iterable[str], rows: Iterable[Iterable[tuple[str, str]]]) -> str:
    """Cells are (css class, already-escaped HTML)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{cls}">{cell}</td>' if cls else f"<td>{cell}</td>" for cls, cell in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _overview(data: ReportData) -> str:
    s = data.summary
    final, rows = s["final"], s["rows"]
    cards = [
        ("steps", s["steps"]),
        ("drift at step", s["drift_step"] if s["drift_step"] is not None else "none"),
        ("recovered at step", s["recovered_step"] if s["recovered_step"] is not None else "-"),
        ("health now", f"{final['health']:.2f}"),
        ("error rate now", f"{final['error_rate']:.2%}"),
        ("fixes", len(s["fixes"])),
        ("goal revisions", len(s["revisions"])),
        ("rows lost", f"{rows['lost']:,}"),
        ("rows duplicated", f"{rows['duplicated']:,}"),
    ]
    held = s["held"]
    cards.insert(3, ("healthy now", "yes" if s["healthy"] else "NO: rows wait"))
    cards.insert(
        4, ("held for shape / values", f"{held['for_shape']:,} / {held['for_value'] + held['unreadable']:,}")
    )
    html_cards = "".join(f'<div class="card">{esc(label)}<b>{esc(value)}</b></div>' for label, value in cards)
    goal = s["goal"]
    waits = "".join(
        f"<li>{esc(table)}: {figures['for_shape']:,} held for their shape, "
        f"{figures['for_value'] + figures['unreadable']:,} for their values "
        f"({figures['share']:.2%} of {figures['received']:,} received)</li>"
        for table, figures in held["tables"].items()
        if figures["waits"]
    )
    decisions = "".join(
        f"<li>decision {esc(d['decision'])} (step {esc(d['step'])}), "
        f"{esc(d['table'])}: {esc(d['reason'])}</li>"
        for d in s["waiting"]
    )
    waiting = f'<p class="waiting">Rows wait:</p><ul>{waits}{decisions}</ul>' if waits or decisions else ""
    waiting += "".join(
        f"<p>{esc(v['table'])} carries a variant: <code>{esc(v['variant'])}</code> keeps "
        f"{v['rows']:,} value(s) of <code>{esc(v['column'])}</code> no conversion can type, as sent</p>"
        for v in s.get("variants", [])
    )
    return (
        f'<div class="cards">{html_cards}</div>'
        f"<p>Goal now (v{esc(goal['version'])}): {esc(goal['description'])}<br>"
        f"Rows: received {rows['received']:,} · loaded {rows['loaded']:,} "
        f"· still held {rows['quarantined']:,} · replayed {rows['replayed']:,} "
        f"· re-sent, already loaded {rows.get('duplicates', 0):,} "
        f"· stop: {esc(s['stop_reason'])}</p>{waiting}"
    )


def _events(data: ReportData) -> str:
    """The steps the plot marks, in words."""
    items = []
    for record in data.records:
        notes = []
        if record.metrics.drifted_tables:
            notes.append("drift on " + ", ".join(record.metrics.drifted_tables))
        if record.revision is not None:
            notes.append(
                f"goal revised v{record.revision.from_goal.version}→v{record.revision.to_goal.version}"
            )
        if record.step == data.summary["recovered_step"]:
            notes.append("recovered: health and error rate within target and no row waiting, from here on")
        if notes:
            items.append(f"<li>step {record.step}: {esc('; '.join(notes))}</li>")
    return (
        f'<ul class="muted">{"".join(items)}</ul>' if items else '<p class="muted">No drift, no revision.</p>'
    )


def _fixes(fixes: Sequence[FixRow]) -> str:
    if not fixes:
        return "<p>No fix was needed.</p>"
    headers = ("step", "action", "target", "result", "post-check", "inverse", "inverse applied", "detail")
    return _table(
        headers,
        (
            [
                ("num", esc(f.step)),
                ("", esc(f.action)),
                ("", esc(f.target)),
                (f.result, esc(f.result)),
                ("", esc(f.post_check)),
                ("", f"<code>{esc(f.inverse)}</code>"),
                ("", esc(f.inverse_applied)),
                ("", esc(f.detail)),
            ]
            for f in fixes
        ),
    )


def _word_diff(before: str, after: str) -> str:
    old, new = before.split(), after.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if op in ("delete", "replace"):
            out.append(f"<del>{esc(' '.join(old[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{esc(' '.join(new[j1:j2]))}</ins>")
        if op == "equal":
            out.append(esc(" ".join(old[i1:i2])))
    return " ".join(out)


def _goals(goals: Sequence[GoalVersion]) -> str:
    cards = []
    previous: GoalVersion | None = None
    for goal in goals:
        if previous is None:
            description = esc(goal.description)
            items = [("", c) for c in goal.criteria]
        else:
            description = _word_diff(previous.description, goal.description)
            items = [("" if c in previous.criteria else "add", c) for c in goal.criteria]
            items += [("del", c) for c in previous.criteria if c not in goal.criteria]
        criteria = "".join(
            f'<li class="{cls}">{esc(c)}</li>' if cls else f"<li>{esc(c)}</li>" for cls, c in items
        )
        cards.append(
            f'<div class="goal"><h3>v{goal.version} <span class="muted">from step {goal.step}</span></h3>'
            f'<p>{description}</p><ul class="criteria">{criteria or "<li>(criteria not recorded)</li>"}</ul>'
            f'<p class="muted">reason: {esc(goal.reason)}</p></div>'
        )
        previous = goal
    return f'<div class="goals">{"".join(cards)}</div>'


def _constraints(tracks: Sequence[ConstraintTrack]) -> str:
    def step_of(value: int | None) -> str:
        return "-" if value is None else str(value)

    return _table(
        ("constraint", "description", "added", "modified", "removed", "enforced"),
        (
            [
                ("", esc(t.name)),
                ("", esc(t.description)),
                ("num", esc(step_of(t.added))),
                ("", esc(", ".join(map(str, t.modified)) or "-")),
                ("num", esc(step_of(t.removed))),
                (
                    "",
                    "<br>".join(f"step {s}: {esc(how)}" for s, how in t.enforced) or "never had to intervene",
                ),
            ]
            for t in tracks
        ),
    )


def _rows(rows: dict[str, dict[str, int]], reasons: Sequence[tuple[str, str, int]]) -> str:
    keys = ("received", "loaded", "quarantined", "duplicates", "replayed", "lost", "duplicated")
    table = _table(
        ("table", *keys),
        (
            [("", esc(name)), *(("num", f"{counts.get(k, 0):,}") for k in keys)]
            for name, counts in rows.items()
        ),
    )
    if not reasons:
        return table + "<p>Nothing is held in quarantine.</p>"
    shown = _table(
        ("table", "rows", "open reason"),
        ([("", esc(t)), ("num", f"{n:,}"), ("", esc(r))] for t, r, n in reasons[:MAX_REASONS]),
    )
    more = (
        f'<p class="muted">… and {len(reasons) - MAX_REASONS} more reasons.</p>'
        if len(reasons) > MAX_REASONS
        else ""
    )
    return table + "<h3>Still held in quarantine</h3>" + shown + more


def _renames(diagnosis: dict[str, Any]) -> str:
    """Each (removed, added) pair weighed as a rename: verdict, confidence and evidence."""
    weighed = diagnosis.get("renames") or []
    if not weighed:
        return ""
    rows = _table(
        ("removed", "added", "verdict", "confidence", "evidence", "figures"),
        (
            [
                ("", f"<code>{esc(e.get('old'))}</code>"),
                ("", f"<code>{esc(e.get('new'))}</code>"),
                ("", esc(e.get("verdict"))),
                ("num", f"{float(e.get('confidence') or 0):.0%}"),
                ("", esc("; ".join(x for x in (e.get("why"), e.get("name"), e.get("value")) if x) or "-")),
                ("", esc(f"{e.get('rows')} rows, overlap {float(e.get('overlap') or 0):.0%}")),
            ]
            for e in weighed
        ),
    )
    return f"<h3>Renames weighed</h3>{rows}"


def _drift(episode: DriftEpisode) -> str:
    d = episode.diagnosis
    drifts = _table(
        ("change", "column", "expected", "observed", "rows", "hint"),
        (
            [
                ("", esc(x.get("kind"))),
                ("", f"<code>{esc(x.get('column'))}</code>"),
                ("", esc(x.get("expected") or "-")),
                ("", esc(x.get("observed") or "-")),
                ("num", esc(x.get("rows") or "-")),
                ("", esc(x.get("hint") or "-")),
            ]
            for x in d.get("drifts", [])
        ),
    )
    samples = "".join(f"<pre>{esc(s)}</pre>" for s in d.get("samples", [])[:3])
    reasons = "".join(f"<li>{esc(n)} × {esc(r)}</li>" for r, n in d.get("top_reasons", [])[:5])
    repairs = _fixes(episode.repairs) if episode.repairs else "<p>No repair was applied (yet).</p>"
    plan = f"<p>Plan: {esc(episode.reasoning)}</p>" if episode.reasoning else ""
    return (
        f'<div class="drift-episode"><h3>{esc(episode.table)} · contract v{episode.contract_version}.0 · '
        f"diagnosed at step {episode.step}</h3>"
        f"<p>{esc(d.get('schema_rows', '?'))} rows held for their shape, first in "
        f"<code>{esc(d.get('first_bad_batch') or '-')}</code>.</p>{drifts}{_renames(d)}"
        f"<h3>Sample rows</h3>{samples or '<p>none kept</p>'}"
        f"<h3>Why rows were held</h3><ul>{reasons}</ul><h3>Repair chosen</h3>{plan}{repairs}</div>"
    )
