"""Charts of a summary, drawn with matplotlib's object-oriented API (a Figure of its own per chart, never
pyplot, whose global state does not belong in a web process). They are served by the app as SVG."""

import io
from typing import Any

from matplotlib.figure import Figure

INK, ACCENT, WARN, MUTED = "#1f2933", "#0b6e4f", "#b54708", "#9aa5b1"


def _draw(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, bbox_inches="tight", dpi=110)
    return buffer.getvalue()


def pareto(counts: dict[str, int], title: str, fmt: str = "svg") -> bytes:
    """Bars by count, largest first, with the cumulative share as a line on a second axis."""
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:15]
    figure = Figure(figsize=(7, 3.2), dpi=100)
    axes = figure.add_subplot()
    if not items:
        axes.text(0.5, 0.5, "—", ha="center", va="center", color=MUTED, fontsize=20)
        axes.set_axis_off()
        return _draw(figure, fmt)
    labels = [label for label, _ in items]
    values = [value for _, value in items]
    total = sum(counts.values())
    cumulative, running = [], 0
    for value in values:
        running += value
        cumulative.append(100 * running / total)
    positions = range(len(items))
    axes.bar(positions, values, color=ACCENT)
    axes.set_xticks(list(positions), labels, rotation=35, ha="right", fontsize=8)
    axes.set_ylabel("NCs")
    axes.set_title(title, fontsize=10, loc="left", color=INK)
    share = axes.twinx()
    share.plot(list(positions), cumulative, color=WARN, marker="o", linewidth=1.5)
    share.set_ylim(0, 105)
    share.set_ylabel("cumulative %")
    for spine in (*axes.spines.values(), *share.spines.values()):
        spine.set_color(MUTED)
    return _draw(figure, fmt)


def weekly_trend(history: dict[str, Any], title: str, fmt: str = "svg") -> bytes:
    """New, closed and open NCs per week over the summary's 13 weeks."""
    figure = Figure(figsize=(7, 3), dpi=100)
    axes = figure.add_subplot()
    weeks = [week[-3:] for week in history["weeks"]]
    axes.plot(weeks, history["new_ncs"], color=WARN, marker="o", label="new")
    axes.plot(weeks, history["closed"], color=ACCENT, marker="o", label="closed")
    axes.plot(weeks, history["open_at_end"], color=INK, linestyle="--", label="open at end")
    axes.set_title(title, fontsize=10, loc="left", color=INK)
    axes.tick_params(axis="x", labelsize=8)
    axes.legend(fontsize=8, frameon=False)
    for spine in axes.spines.values():
        spine.set_color(MUTED)
    return _draw(figure, fmt)


CHARTS = {
    "trend": lambda figures, fmt: weekly_trend(figures["history"], "New, closed and open NCs per week", fmt),
    "pareto": lambda figures, fmt: pareto(figures.get("by_defect_type", {}), "New NCs by defect type (Pareto)", fmt),
    "parameters": lambda figures, fmt: pareto(figures.get("by_parameter", {}), "New NCs by safety parameter", fmt),
}


def svg(name: str, figures: dict[str, Any]) -> bytes:
    """The chart ``name`` of a summary as SVG, for the page."""
    return CHARTS[name](figures, "svg")


def png(name: str, figures: dict[str, Any]) -> bytes:
    """The chart ``name`` of a summary as PNG, for mail clients, which rarely show SVG."""
    return CHARTS[name](figures, "png")
