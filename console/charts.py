"""Horizontal bar charts drawn on the server as accessible SVG.

One bar per row: the row's name on the left, the bar, and the value written after it,
so every figure is read from text, never from a length or a colour alone. The ``<desc>``
lists every row with its value; a page shows the same figures in a table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .svg import CHAR_WIDTH, MUTED, hatch, picture, rect, serialise, text

WIDTH = 640.0
MIN_LABEL_WIDTH = 120.0
MAX_LABEL_WIDTH = 300.0
VALUE_WIDTH = 120.0
ROW = 24.0
BAR = 16.0
TOP = 8.0
BAR_FILL = "#2f5d8a"  # 6.9:1 on white, so the bars themselves stand out (WCAG 1.4.11)
EMPTY_FILL = "#8a8a8a"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no figure (e.g. a rate with nothing to divide by)
    shown: str  # the value as written: "12", "25% (1 of 4)", "no appeals decided"


@dataclass(frozen=True)
class Chart:
    ident: str  # unique on the page: element ids derive from it
    title: str
    bars: tuple[Bar, ...]
    scale_max: float | None = None  # None: the largest value; 1.0 for rates
    empty: str = "no figures"  # said when there are no bars


def bar_chart(chart: Chart) -> str:
    """The chart as an SVG document."""
    height = TOP * 2 + max(len(chart.bars), 1) * ROW
    root = picture(WIDTH, height, chart.title, describe(chart), chart.ident)
    label_width = _label_width(chart)
    defs = root.makeelement("defs", {})
    root.append(defs)
    missing = hatch(defs, f"{chart.ident}-hatch-none", EMPTY_FILL)
    largest = chart.scale_max or max((b.value or 0.0 for b in chart.bars), default=0.0)
    plot = WIDTH - label_width - VALUE_WIDTH
    for index, bar in enumerate(chart.bars):
        y = TOP + index * ROW
        text(root, label_width - 8, y + BAR - 3, bar.label, anchor="end")
        if bar.value is None:
            group = rect(root, label_width, y, 12, BAR, missing, f"{bar.label}: {bar.shown}",
                         stroke=EMPTY_FILL)
            text(group, label_width + 18, y + BAR - 3, bar.shown, fill=MUTED)
            continue
        width = plot * (bar.value / largest) if largest > 0 else 0.0
        group = rect(root, label_width, y, max(width, 1.0), BAR, BAR_FILL,
                     f"{bar.label}: {bar.shown}")
        text(group, label_width + max(width, 1.0) + 6, y + BAR - 3, bar.shown)
    if not chart.bars:
        text(root, label_width, TOP + BAR - 3, chart.empty, fill=MUTED)
    return serialise(root)


def _label_width(chart: Chart) -> float:
    """Room for the longest row name, within bounds (the bars need the rest)."""
    longest = max((len(b.label) for b in chart.bars), default=0)
    return min(max(longest * CHAR_WIDTH + 16, MIN_LABEL_WIDTH), MAX_LABEL_WIDTH)


def describe(chart: Chart) -> str:
    rows = "; ".join(f"{b.label}: {b.shown}" for b in chart.bars) or chart.empty
    return f"{chart.title}. {rows}."


def counts(ident: str, title: str, figures: Sequence[tuple[str, int]],
           empty: str = "no figures") -> Chart:
    return Chart(ident, title, tuple(Bar(_words(k), float(v), str(v)) for k, v in figures),
                 empty=empty)


def days(ident: str, title: str, figures: Sequence[tuple[str, float | None]]) -> Chart:
    return Chart(ident, title, tuple(
        Bar(label, value, "no case yet" if value is None else f"{value:g} days")
        for label, value in figures))


def rates(ident: str, title: str,
          figures: Sequence[tuple[str, float | None, int, int]]) -> Chart:
    """(label, rate, part, whole) rows on a 0-100 % scale."""
    return Chart(ident, title, tuple(
        Bar(label, None, "none to count") if rate is None or whole == 0
        else Bar(label, rate, f"{rate:.0%} ({part} of {whole})")
        for label, rate, part, whole in figures), scale_max=1.0)


def _words(value: str) -> str:
    return value.replace("_", " ")
