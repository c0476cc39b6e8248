"""Charts of a summary, drawn with matplotlib's object-oriented API (a Figure of its own per chart, never
pyplot, whose global state does not belong in a web process). They are served by the app as SVG, and mailed
as PNG, with their titles, axes and bar labels in the reader's language.

Chinese needs a font with its characters: the first of CJK_FONTS installed on the server is used
(``apt-get install fonts-wqy-microhei`` on Debian), after DejaVu Sans for Latin text. SVG keeps its text as
text, so a browser draws it with its own fonts; a PNG drawn on a server without such a font shows its
Chinese labels as empty boxes, and the server's log says which font to install.

The SVG carries no inline style (:func:`without_inline_style`): matplotlib's ``style="fill: …"`` attributes and its
``<style>`` element become SVG presentation attributes (``fill="…"``), which draw the same, so a chart looks
right under the app's Content-Security-Policy (``capa/http/headers.py``) also when opened on its own.
"""

import io
import logging
import math
import re
import warnings
from typing import Any

from flask_babel import lazy_gettext as _l
from matplotlib import font_manager, rcParams
from matplotlib.figure import Figure

from capa.trends.wording import CHART_TITLES, key_labels

log = logging.getLogger(__name__)

CJK_FONTS = (
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "Droid Sans Fallback",
)

INK, ACCENT, WARN, MUTED = "#1f2933", "#0b6e4f", "#b54708", "#9aa5b1"


def _chinese_font() -> str | None:
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


CHINESE_FONT = _chinese_font()
# Set once for the process (matplotlib's settings are global): DejaVu Sans for Latin text, then the Chinese
# font, which matplotlib falls back to glyph by glyph; text stays text in SVG (smaller, searchable, drawn by
# the browser's own fonts).
rcParams["font.family"] = ["DejaVu Sans", *([CHINESE_FONT] if CHINESE_FONT else [])]
rcParams["svg.fonttype"] = "none"
# Labels are names people typed (defect types, parameters): text, never mathtext, where "$5 and $6" would be set
# as a formula and "$x^$" would fail the chart and the summary's mail.
rcParams["text.parse_math"] = False


#: The CSS properties matplotlib writes in its SVG that SVG also takes as presentation attributes (same name,
#: same value); a property outside this list is dropped, as a browser would drop the inline style anyway.
PRESENTATION_ATTRIBUTES = frozenset(
    {
        "clip-path", "clip-rule", "color", "display", "fill", "fill-opacity", "fill-rule", "font-family",
        "font-size", "font-stretch", "font-style", "font-variant", "font-weight", "letter-spacing", "mix-blend-mode",
        "opacity", "stroke", "stroke-dasharray", "stroke-dashoffset", "stroke-linecap", "stroke-linejoin",
        "stroke-miterlimit", "stroke-opacity", "stroke-width", "text-anchor", "text-decoration", "visibility",
        "word-spacing",
    }
)  # fmt: skip
# Matplotlib escapes "<" and ">" in text and attribute values, so every "<…>" is a tag (or a declaration).
_TAG = re.compile(r"<[^<>]*>")
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
# The stylesheet matplotlib puts in <defs>: one rule for every element ("*{stroke-linejoin: round; …}").
_STYLE_ELEMENT = re.compile(r'<style type="text/css">\s*\*\s*\{([^}]*)\}\s*</style>')


def _attributes(declarations: str) -> dict[str, str]:
    found = {}
    for declaration in declarations.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name in PRESENTATION_ATTRIBUTES and value:
            found[name] = value  # already escaped for an attribute: it was one
        elif name:
            log.warning("chart SVG: the style property %r has no presentation attribute; left out", name)
    return found


def _restyle(tag: str, attributes: dict[str, str]) -> str:
    """``tag`` with ``attributes`` set, each replacing an attribute of the same name (inline style won over it)."""
    for name, value in attributes.items():
        existing = re.compile(rf'\s{re.escape(name)}="[^"]*"')
        if existing.search(tag):
            tag = existing.sub(f' {name}="{value}"', tag, count=1)
        else:
            end = -2 if tag.endswith("/>") else -1
            tag = f'{tag[:end]} {name}="{value}"{tag[end:]}'
    return tag


def without_inline_style(svg_text: str) -> str:
    """Matplotlib's SVG with each ``style`` attribute and its ``<style>`` element turned into presentation
    attributes, drawing the same: the element's own declarations on it, the stylesheet's rule for every element
    on the root ``<svg>`` (where every element inherits them, unless it sets its own)."""
    root: dict[str, str] = {}

    def stylesheet(match: re.Match) -> str:
        root.update(_attributes(match.group(1)))
        return ""

    def tag(match: re.Match) -> str:
        text = match.group(0)
        found = _STYLE_ATTRIBUTE.search(text)
        if found is None:
            return text
        return _restyle(text[: found.start()] + text[found.end() :], _attributes(found.group(1)))

    svg_text = _TAG.sub(tag, _STYLE_ELEMENT.sub(stylesheet, svg_text))
    return re.sub(r"<svg\b[^<>]*>", lambda match: _restyle(match.group(0), root), svg_text, count=1)


def _draw(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        if CHINESE_FONT is None:
            # Said once in the log below; a warning per missing character would drown it.
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(buffer, format=fmt, bbox_inches="tight", dpi=110)
    if fmt == "svg":
        return without_inline_style(buffer.getvalue().decode("utf-8")).encode("utf-8")
    return buffer.getvalue()


if CHINESE_FONT is None:
    log.warning("no font with Chinese characters (%s): Chinese chart labels will not show", ", ".join(CJK_FONTS))


def pareto(
    counts: dict[str, int],
    title: str,
    fmt: str = "svg",
    key_labels_of: dict[str, str] | None = None,
    left_out: int = 0,
) -> bytes:
    """Bars by count, largest first, with the cumulative share as a line on a second axis: a share of the whole,
    ``left_out`` included (the NCs of the keys a stored summary left out)."""
    key_labels_of = key_labels_of or {}
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:15]
    figure = Figure(figsize=(7, 3.2), dpi=100)
    axes = figure.add_subplot()
    if not items:
        axes.text(0.5, 0.5, "—", ha="center", va="center", color=MUTED, fontsize=20)
        axes.set_axis_off()
        return _draw(figure, fmt)
    labels = [key_labels_of.get(label, label) for label, _ in items]
    values = [value for _, value in items]
    total = sum(counts.values()) + left_out
    cumulative, running = [], 0
    for value in values:
        running += value
        cumulative.append(100 * running / total)
    positions = range(len(items))
    axes.bar(positions, values, color=ACCENT)
    axes.set_xticks(list(positions), labels, rotation=35, ha="right", fontsize=8)
    axes.set_ylabel(str(_l("NCs")))
    axes.set_title(title, fontsize=10, loc="left", color=INK)
    share = axes.twinx()
    share.plot(list(positions), cumulative, color=WARN, marker="o", linewidth=1.5)
    share.set_ylim(0, 105)
    share.set_ylabel(str(_l("cumulative share (%)")))
    for spine in (*axes.spines.values(), *share.spines.values()):
        spine.set_color(MUTED)
    return _draw(figure, fmt)


def weekly_trend(history: dict[str, Any], title: str, fmt: str = "svg") -> bytes:
    """New, closed and open NCs per week over the summary's 13 weeks."""
    figure = Figure(figsize=(7, 3), dpi=100)
    axes = figure.add_subplot()
    weeks = [week[-3:] for week in history["weeks"]]

    def values(name: str) -> list[float]:
        # A week without figures (no summary built for it) is a gap in the line, not a zero.
        return [math.nan if value is None else value for value in history[name]]

    axes.plot(weeks, values("new_ncs"), color=WARN, marker="o", label=str(_l("new")))
    axes.plot(weeks, values("closed"), color=ACCENT, marker="o", label=str(_l("closed")))
    axes.plot(weeks, values("open_at_end"), color=INK, linestyle="--", label=str(_l("open at the end")))
    axes.set_title(title, fontsize=10, loc="left", color=INK)
    axes.tick_params(axis="x", labelsize=8)
    axes.legend(fontsize=8, frameon=False)
    for spine in axes.spines.values():
        spine.set_color(MUTED)
    return _draw(figure, fmt)


CHARTS = {
    "trend": lambda figures, fmt: weekly_trend(figures["history"], str(CHART_TITLES["trend"]), fmt),
    "pareto": lambda figures, fmt: pareto(
        figures.get("by_defect_type", {}),
        str(CHART_TITLES["pareto"]),
        fmt,
        key_labels()["by_defect_type"],
        (figures.get("left_out") or {}).get("by_defect_type", 0),
    ),
    "parameters": lambda figures, fmt: pareto(
        figures.get("by_parameter", {}),
        str(CHART_TITLES["parameters"]),
        fmt,
        key_labels()["by_parameter"],
        (figures.get("left_out") or {}).get("by_parameter", 0),
    ),
}


def svg(name: str, figures: dict[str, Any]) -> bytes:
    """The chart ``name`` of a summary as SVG, for the page."""
    return CHARTS[name](figures, "svg")


def png(name: str, figures: dict[str, Any]) -> bytes:
    """The chart ``name`` of a summary as PNG, for mail clients, which rarely show SVG."""
    return CHARTS[name](figures, "png")
