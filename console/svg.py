"""Small helpers for server-drawn SVG that a strict Content-Security-Policy allows.

Only presentation attributes (``fill``, ``stroke``, ``font-size``), never ``style``
attributes or elements, so no ``style-src 'unsafe-inline'`` is needed. Built with
ElementTree (tags without a namespace, ``xmlns`` as a plain attribute, so no global
namespace registry is touched): text is escaped, and the output is well-formed XML
whatever the input.
Every picture is ``role="img"`` named by its ``<title>`` and described by its ``<desc>``;
each shape carries its own ``<title>`` and a text label, so nothing is told by colour
alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK = "#1a1a1a"  # text: at least 12:1 on every fill used here
MUTED = "#4d4d4d"  # axis and secondary text: 8:1 on white
# Characters XML 1.0 cannot carry at all (ElementTree would write them, unparseable).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
CHAR_WIDTH = 6.5  # a generous average at 12 px, to decide whether a label fits


def picture(width: float, height: float, title: str, desc: str, ident: str) -> ET.Element:
    """The root ``<svg>``: an image named by ``title`` and described by ``desc``."""
    root = ET.Element("svg", {
        "xmlns": SVG_NS, "viewBox": f"0 0 {_n(width)} {_n(height)}", "width": _n(width),
        "height": _n(height), "role": "img", "aria-labelledby": f"{ident}-title {ident}-desc",
        "font-family": FONT, "font-size": "12", "fill": INK, "id": ident,
    })
    ET.SubElement(root, "title", {"id": f"{ident}-title"}).text = safe(title)
    ET.SubElement(root, "desc", {"id": f"{ident}-desc"}).text = safe(desc)
    return root


def hatch(defs: ET.Element, ident: str, colour: str, background: str = "#ffffff",
          cross: bool = False) -> str:
    """A diagonal (or crossed) hatching pattern; returns the ``fill`` value that uses it."""
    pattern = ET.SubElement(defs, "pattern", {
        "id": ident, "width": "8", "height": "8", "patternUnits": "userSpaceOnUse",
        "patternTransform": "rotate(45)"})
    ET.SubElement(pattern, "rect", {"width": "8", "height": "8", "fill": background})
    ET.SubElement(pattern, "line", {"x1": "0", "y1": "0", "x2": "0", "y2": "8",
                                    "stroke": colour, "stroke-width": "3"})
    if cross:
        ET.SubElement(pattern, "line", {"x1": "0", "y1": "0", "x2": "8", "y2": "0",
                                        "stroke": colour, "stroke-width": "2"})
    return f"url(#{ident})"


def rect(parent: ET.Element, x: float, y: float, w: float, h: float, fill: str,
         tooltip: str, **attrs: str) -> ET.Element:
    """A rectangle with its own ``<title>`` (read out and shown on hover)."""
    group = ET.SubElement(parent, "g")
    ET.SubElement(group, "title").text = safe(tooltip)
    ET.SubElement(group, "rect", {"x": _n(x), "y": _n(y), "width": _n(max(w, 0.0)),
                                  "height": _n(h), "fill": fill, **attrs})
    return group


def text(parent: ET.Element, x: float, y: float, value: str, anchor: str = "start",
         **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, "text", {"x": _n(x), "y": _n(y), "text-anchor": anchor,
                                          **attrs})
    node.text = safe(value)
    return node


def safe(value: str) -> str:
    """``value`` without the characters XML cannot hold (replaced by U+FFFD)."""
    return _NOT_XML.sub("\ufffd", value)


def fits(label: str, width: float) -> bool:
    return len(label) * CHAR_WIDTH + 8 <= width


def serialise(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode")


def _n(value: float) -> str:
    """Coordinates to two decimals: short output, and the same text for the same input."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
