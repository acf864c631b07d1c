"""The report's charts: matplotlib figures rendered to inline SVG (text kept as text, no fonts or
scripts needed to view them). Figures are built without pyplot, so no global state is touched."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from pipefix.domain.records import StepRecord
from pipefix.report.data import ConstraintTrack

DRIFT = "#f2b233"
REVISION = "#8e44ad"
OK = "#2e8b57"
BAD = "#c0392b"
LINE = "#1f5f99"
_METADATA = ("Creator", "Date", "Format", "Type")  # none written: the same chart gives the same SVG
SERIES = {"received": "#1f5f99", "loaded": OK, "quarantined": BAD, "replayed": DRIFT}


def _svg(figure: Figure, name: str) -> str:
    """The figure as an <svg> element that can share a page with other charts."""
    buffer = io.StringIO()
    with (
        matplotlib.rc_context(
            {"svg.fonttype": "none", "svg.hashsalt": f"pipefix-{name}", "text.parse_math": False}
        ),
        warnings.catch_warnings(),
    ):
        # A producer's name may use a character the layout font lacks; the browser draws it anyway.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from font")
        figure.savefig(buffer, format="svg", metadata=dict.fromkeys(_METADATA), bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :].replace("<svg ", f'<svg class="plot" data-plot="{name}" ', 1)
    # Element ids (figure_1, axes_1, ...) are unique within a chart; prefixed, within the page too.
    text = re.sub(r' id="([^"]+)"', rf' id="{name}-\1"', text)
    return re.sub(r'(url\(#|xlink:href="#)', rf"\1{name}-", text)


def _mark_events(
    axes: Axes, drift_steps: Sequence[int], revisions: Sequence[tuple[int, str]], recovered: int | None
) -> None:
    for index, step in enumerate(drift_steps):
        axes.axvspan(
            step - 0.5, step + 0.5, color=DRIFT, alpha=0.25, lw=0, label="drift" if index == 0 else None
        )
    for index, (step, _) in enumerate(revisions):
        axes.axvline(step, color=REVISION, ls="--", lw=1.2, label="goal revised" if index == 0 else None)
    if recovered is not None:
        axes.axvline(recovered, color=OK, ls=":", lw=1.6, label="recovered")


def _label_revisions(axes: Axes, revisions: Sequence[tuple[int, str]]) -> None:
    for step, label in revisions:
        axes.annotate(
            label,
            (step, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            color=REVISION,
            fontsize=8,
        )


def timeline_svg(
    records: Sequence[StepRecord],
    drift_steps: Sequence[int],
    revisions: Sequence[tuple[int, str]],
    recovered: int | None,
) -> str:
    """Health, error rate and throughput per step: the drift shaded, each revision and the
    recovery marked."""
    steps = [r.step for r in records]
    figure = Figure(figsize=(9, 6.2))
    health, errors, throughput = figure.subplots(3, 1, sharex=True)
    series: list[tuple[Axes, list[float], str, str]] = [
        (health, [r.metrics.health for r in records], "health", OK),
        (errors, [100 * r.metrics.error_rate for r in records], "error rate (%)", BAD),
        (throughput, [r.metrics.throughput for r in records], "throughput (rows/s)", LINE),
    ]
    for axes, values, label, color in series:
        _mark_events(axes, drift_steps, revisions, recovered)
        axes.plot(steps, values, marker="o", ms=3.5, color=color, lw=1.6)
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
    health.set_ylim(min(0.0, *series[0][1]) - 0.02, 1.05)
    errors.set_ylim(bottom=0)
    throughput.set_ylim(bottom=0)
    _label_revisions(health, revisions)
    throughput.set_xlabel("step")
    if drift_steps or revisions:
        health.legend(loc="lower left", fontsize=8)
    figure.suptitle("Health, error rate and throughput per step")
    return _svg(figure, "timeline")


def score_svg(
    records: Sequence[StepRecord],
    threshold: float,
    drift_steps: Sequence[int],
    revisions: Sequence[tuple[int, str]],
    recovered: int | None,
) -> str:
    """The evaluation score per step against the revision threshold."""
    figure = Figure(figsize=(9, 3.2))
    axes = figure.subplots()
    _mark_events(axes, drift_steps, revisions, recovered)
    axes.axhline(threshold, color=BAD, ls=":", lw=1.4, label=f"revision threshold ({threshold:+.2f})")
    axes.plot(
        [r.step for r in records],
        [r.evaluation.score for r in records],
        marker="o",
        ms=3.5,
        color=LINE,
        lw=1.6,
        label="score",
    )
    _label_revisions(axes, revisions)
    axes.set_ylim(-1.1, 1.15)
    axes.set_xlabel("step")
    axes.set_ylabel("score")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize=8)
    axes.set_title("Evaluation score (mean over the goal's criteria)")
    return _svg(figure, "score")


def constraints_svg(tracks: Sequence[ConstraintTrack], last_step: int) -> str:
    """One bar per constraint while it was active; a mark at each step it was enforced."""
    figure = Figure(figsize=(9, 0.9 + 0.45 * max(1, len(tracks))))
    axes = figure.subplots()
    names = [t.name for t in tracks]
    for row, track in enumerate(tracks):
        start = track.added if track.added is not None else 0
        end = track.removed if track.removed is not None else last_step + 0.5
        axes.broken_barh([(start, end - start)], (row - 0.3, 0.6), color=LINE, alpha=0.35)
        for step in track.modified:
            axes.plot(step, row, marker="D", color=REVISION, ms=6)
        enforced = sorted({step for step, _ in track.enforced})
        if enforced:
            axes.plot(enforced, [row] * len(enforced), "X", color=BAD, ms=8, ls="none")
    axes.plot([], [], "X", color=BAD, ls="none", label="enforced")
    axes.set_yticks(range(len(names)), names)
    axes.set_ylim(-0.7, len(names) - 0.3)
    axes.set_xlim(-0.5, last_step + 0.5)
    axes.invert_yaxis()
    axes.set_xlabel("step")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title("Constraints over time")
    return _svg(figure, "constraints")


def rows_svg(rows: dict[str, dict[str, int]]) -> str:
    """Rows received, loaded, quarantined (still held) and replayed per table (log scale)."""
    tables = list(rows)
    figure = Figure(figsize=(9, 1.2 + 0.55 * max(1, len(tables))))
    axes = figure.subplots()
    height = 0.8 / len(SERIES)
    for index, (key, color) in enumerate(SERIES.items()):
        positions = [row + (index - 1.5) * height for row in range(len(tables))]
        values = [rows[t][key] for t in tables]
        axes.barh(positions, values, height=height, color=color, label=key)
    axes.set_yticks(range(len(tables)), tables)
    axes.set_xscale("symlog", linthresh=1)
    axes.set_xlim(left=0)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.invert_yaxis()
    axes.set_xlabel("rows (log scale)")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(loc="lower right", fontsize=8, ncols=4)
    axes.set_title("Rows per table")
    return _svg(figure, "rows")
