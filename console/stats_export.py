"""The transparency statistics as downloads: JSON (the document ``dueprocess stats --json``
prints) and CSV, one figure per row, that reads back into the same statistics.

CSV columns: ``section, group, key, value``. ``section`` is a top-level figure
(``cases``, ``appeals``, ``by_rule``...); ``group`` and ``key`` name the figure inside it
when it is nested (``appeals,outcomes,allowed,3``; ``by_rule,R1,upheld,2``;
``appeals,,reversal_rate,0.25``; ``cases,,,12``). An empty ``value`` is "no figure"
(a rate with nothing to divide by, an open period bound), or, on a row naming a group
and no key, an empty group (``by_rule,,,`` when no rule was cited). A cell a spreadsheet
would take for a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is written with a leading
``'`` (as is one that starts with ``'``), and read back without it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any, get_origin

from pydantic import BaseModel

from ..domain.statistics import CaseStatistics

COLUMNS = ("section", "group", "key", "value")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
Scalar = int | float | str | None


def to_json(stats: CaseStatistics) -> str:
    return json.dumps(stats.model_dump(mode="json"), indent=2) + "\n"


def from_json(text: str) -> CaseStatistics:
    return CaseStatistics.model_validate(json.loads(text))


def to_csv(stats: CaseStatistics) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(COLUMNS)
    for path, value in _flatten(stats.model_dump(mode="json")):
        section, group, key = _columns(path)
        writer.writerow([_quoted(c) for c in (section, group, key, _cell(value))])
    return out.getvalue()


def from_csv(text: str) -> CaseStatistics:
    """The statistics a CSV export holds (raises ValueError naming a bad row)."""
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None or tuple(header) != COLUMNS:
        raise ValueError(f"csv: the first row must be {','.join(COLUMNS)}")
    document: dict[str, Any] = {}
    for number, row in enumerate(rows, start=2):
        if len(row) != len(COLUMNS):
            raise ValueError(f"csv row {number}: expected {len(COLUMNS)} cells")
        section, group, key, value = (_unquoted(c) for c in row)
        path = [p for p in (section, group, key) if p]
        if not path:
            raise ValueError(f"csv row {number}: section must not be empty")
        node = document
        for part in path[:-1]:
            node = node.setdefault(part, {})
        parsed = _parse(value)
        node[path[-1]] = {} if parsed is None and _is_group(path) else parsed
    return CaseStatistics.model_validate(document)


def _is_group(path: list[str]) -> bool:
    """Whether the statistics' shape has a mapping (a group of figures) at ``path``."""
    model: type[BaseModel] = CaseStatistics
    for index, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            continue
        return get_origin(annotation) is dict and index == len(path) - 1
    return False


def _flatten(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Scalar]]:
    if isinstance(node, dict):
        if not node and path:
            yield path, None  # an empty group (e.g. no rule cited): keep the section
        for key, value in node.items():
            yield from _flatten(value, (*path, str(key)))
    else:
        yield path, node


def _columns(path: tuple[str, ...]) -> tuple[str, str, str]:
    match path:
        case (section,):
            return section, "", ""
        case (section, key):
            return section, "", key
        case (section, group, key):
            return section, group, key
    raise ValueError(f"statistics nest deeper than the CSV holds: {'.'.join(path)}")


def _quoted(cell: str) -> str:
    return f"'{cell}" if cell.startswith(_FORMULA_START) else cell


def _unquoted(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def _cell(value: Scalar) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)


def _parse(cell: str) -> Scalar:
    if cell == "":
        return None
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            continue
    return cell
