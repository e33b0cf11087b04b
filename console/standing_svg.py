"""The picture of a member's rights over time, drawn on the server as accessible SVG.

Rows, top to bottom: the time axis; the member's standing (membership status, or the
measure in effect); one row per right (held, or removed: hatched); one row per measure
on the record (interim suspension, sanction; one voided on appeal is cross-hatched, with
a dashed outline and "voided on appeal" written on it). Every shape has a ``<title>``
and, where it fits, a text label; the ``<desc>`` tells the whole history in words, so a
screen reader, a printout in grey and a colour-blind reader get the same facts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from ..domain.policy import Right
from .rights_timeline import MeasureBar, RightsPicture, Span
from .svg import MUTED, fits, hatch, picture, rect, serialise, text

WIDTH = 880.0
LABEL_WIDTH = 170.0
RIGHT_MARGIN = 16.0
PLOT = WIDTH - LABEL_WIDTH - RIGHT_MARGIN
ROW = 26.0
BAR = 18.0
AXIS = 34.0
MAX_TICKS = 8
TICK_GAP = 76.0  # room for a "2024-06-10" label
MIN_PERIOD = 140.0  # the narrowest a period between two changes is drawn

STATUS_FILL = {  # light fills: dark text on every one is well above 4.5:1
    "member": "#cde9d3", "warned": "#fff0b3", "interim_suspended": "#ffd9a8",
    "suspended": "#f7c6c6", "expelled": "#dcc4ec",
}
OTHER_FILL = "#e2e2e2"  # not a member, lapsed, resigned, a policy's own status
HELD_FILL = "#cde9d3"
REMOVED_COLOUR = "#b3261e"
VOIDED_COLOUR = "#757575"
# A white outline behind a label, so it reads on a hatched fill as on a plain one.
HALO = {"stroke": "#ffffff", "stroke-width": "3", "paint-order": "stroke",
        "stroke-linejoin": "round"}


def rights_svg(p: RightsPicture, ident: str = "rights") -> str:
    """The SVG document (a string, to embed in a page or serve alone)."""
    rows = 1 + len(Right) + len(p.measures)
    height = AXIS + rows * ROW + 8
    scale = _Scale(p)
    scaled = "" if scale.to_scale else (
        " The time axis is not to scale: short periods are widened to carry their labels.")
    root = picture(WIDTH, height, f"Rights over time of member {p.member_id}",
                   describe(p) + scaled, ident)
    defs = ET.SubElement(root, "defs")
    removed = hatch(defs, f"{ident}-hatch-removed", REMOVED_COLOUR, "#fbe9e7")
    voided = hatch(defs, f"{ident}-hatch-voided", VOIDED_COLOUR, "#f5f5f5", cross=True)
    _axis(root, scale)
    y = AXIS
    _row_label(root, y, "standing")
    for span in p.spans:
        _span(root, scale, y, span, STATUS_FILL.get(span.status, OTHER_FILL),
              _words(span.status))
    for right in Right:
        y += ROW
        _row_label(root, y, _words(right.value))
        for span in p.spans:
            held = right in span.rights
            _span(root, scale, y, span, HELD_FILL if held else removed,
                  "held" if held else "removed", f"{_words(right.value)}: ")
    for bar in p.measures:
        y += ROW
        _row_label(root, y, "interim measure" if bar.interim else f"sanction: {bar.label}")
        _measure(root, scale, y, bar, p.end, voided)
    if not p.spans:
        text(root, LABEL_WIDTH, AXIS + BAR - 4, "nothing recorded in this period",
             fill=MUTED)
    return serialise(root)


def describe(p: RightsPicture) -> str:
    """The whole picture in words (the ``<desc>``, and the page's caption)."""
    known = (f", as known on {_day(p.as_known_on)}" if p.as_known_on is not None else "")
    parts = [f"From {_day(p.start)} to {_day(p.end)}{known}."]
    for span in p.spans:
        removed = ", ".join(_words(r.value) for r in span.rights_removed)
        parts.append(f"{_day(span.start)} to {_day(span.end)}: {_words(span.status)}, "
                     + (f"{removed} removed." if removed else "all rights held."))
    for bar in p.measures:
        end = _day(bar.end) if bar.end is not None else "open"
        fate = (f", voided on appeal on {_day(bar.voided_on)}: it never took effect"
                if bar.voided and bar.voided_on is not None else "")
        varied = f", varied on appeal from {bar.varied_from}" if bar.varied_from else ""
        parts.append(f"Case {bar.case_id}: {bar.label} from {_day(bar.start)} to {end}"
                     f"{varied}{fate}.")
    return " ".join(parts)


class _Scale:
    """Time to x, piecewise linear: between two consecutive changes (of standing or of a
    measure) the scale is linear, and each such period is at least MIN_PERIOD wide, so a
    two-week interim suspension in a ten-year membership still carries its label. The
    description says the axis is not to scale when it is not."""

    def __init__(self, p: RightsPicture) -> None:
        self.start, self.end = p.start, p.end
        inner = {s.start for s in p.spans} | {b.start for b in p.measures} | {
            b.end for b in p.measures if b.end is not None}
        self.bounds = sorted({p.start, p.end, *(at for at in inner if p.start < at < p.end)})
        periods = [(b - a).total_seconds() for a, b in zip(self.bounds, self.bounds[1:],
                                                           strict=False)]
        total = sum(periods) or 1.0
        floor = min(MIN_PERIOD, 0.9 * PLOT / max(len(periods), 1))
        spare = PLOT - floor * len(periods)
        self.widths = [floor + spare * d / total for d in periods]

    @property
    def to_scale(self) -> bool:
        whole = max((self.end - self.start).total_seconds(), 1.0)
        return all(abs(w / PLOT - (b - a).total_seconds() / whole) < 0.02
                   for w, a, b in zip(self.widths, self.bounds, self.bounds[1:], strict=False))

    def x(self, at: datetime) -> float:
        left = LABEL_WIDTH
        for width, a, b in zip(self.widths, self.bounds, self.bounds[1:], strict=False):
            if at < b:
                share = max((at - a).total_seconds(), 0.0) / max((b - a).total_seconds(), 1.0)
                return left + width * share
            left += width
        return LABEL_WIDTH + PLOT


def _axis(root: ET.Element, scale: _Scale) -> None:
    axis = ET.SubElement(root, "g", {"aria-hidden": "true"})  # the desc says the dates
    ET.SubElement(axis, "line", {"x1": str(LABEL_WIDTH), "y1": str(AXIS - 6),
                                 "x2": str(WIDTH - RIGHT_MARGIN), "y2": str(AXIS - 6),
                                 "stroke": MUTED})
    drawn = -TICK_GAP
    for at, label in ticks(scale.start, scale.end):
        x = scale.x(at)
        if x - drawn < TICK_GAP:
            continue  # squeezed by the widened periods around it: the next one will do
        drawn = x
        ET.SubElement(axis, "line", {"x1": f"{x:.2f}", "y1": str(AXIS - 10),
                                     "x2": f"{x:.2f}", "y2": str(AXIS - 2), "stroke": MUTED})
        text(axis, x, AXIS - 14, label, anchor="middle", fill=MUTED)


def ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Calendar ticks inside [start, end]: years, else months, else days; at most
    MAX_TICKS, evenly thinned."""
    if end <= start:
        return []
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    years = [date(y, 1, 1) for y in range(first.year, last.year + 1)]
    months = [date(y, m, 1) for y in range(first.year, last.year + 1) for m in range(1, 13)]
    days = [date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]
    for candidates, fmt in ((years, "%Y"), (months, "%Y-%m"), (days, "%Y-%m-%d")):
        inside = [d for d in candidates if start <= _at(d) <= end]
        if len(inside) >= 3 or candidates is days:
            stride = -(-len(inside) // MAX_TICKS) if inside else 1
            return [(_at(d), d.strftime(fmt)) for d in inside[::stride]]
    return []


def _span(root: ET.Element, scale: _Scale, y: float, span: Span, fill: str, label: str,
          prefix: str = "") -> None:
    x0, x1 = scale.x(span.start), scale.x(span.end)
    tip = f"{prefix}{label} from {_day(span.start)} to {_day(span.end)}"
    group = rect(root, x0, y, x1 - x0, BAR, fill, tip, stroke="#ffffff")
    if fits(label, x1 - x0):
        text(group, x0 + 4, y + BAR - 5, label, **HALO)


def _measure(root: ET.Element, scale: _Scale, y: float, bar: MeasureBar, until: datetime,
             voided: str) -> None:
    end = bar.end if bar.end is not None and bar.end < until else until
    x0, x1 = scale.x(bar.start), scale.x(end)
    rights = ", ".join(_words(r.value) for r in bar.rights) or "no rights"
    tip = (f"{bar.label}, case {bar.case_id}: from {_day(bar.start)} to "
           f"{_day(bar.end) if bar.end is not None else 'open'}; removes {rights}")
    if bar.voided and bar.voided_on is not None:
        tip += f"; voided on appeal on {_day(bar.voided_on)}: it never took effect"
    if bar.voided:
        group = rect(root, x0, y, x1 - x0, BAR, voided, tip, stroke=VOIDED_COLOUR,
                     **{"stroke-dasharray": "4 3"})
    else:
        group = rect(root, x0, y, x1 - x0, BAR, STATUS_FILL.get(bar.status, OTHER_FILL),
                     tip, stroke=MUTED)
    label = "voided on appeal" if bar.voided else bar.label
    if fits(label, x1 - x0):
        text(group, x0 + 4, y + BAR - 5, label, **HALO)
    elif fits(label, WIDTH - RIGHT_MARGIN - x1):
        text(group, x1 + 4, y + BAR - 5, label)  # beside a bar too narrow to hold it


def _row_label(root: ET.Element, y: float, label: str) -> None:
    text(root, LABEL_WIDTH - 8, y + BAR - 5, label, anchor="end")


def _words(value: str) -> str:
    return value.replace("_", " ")


def _day(at: datetime) -> str:
    return at.astimezone(UTC).date().isoformat()


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
