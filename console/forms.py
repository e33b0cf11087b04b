"""HTML forms generated from the command models (domain/case/commands), and back.

Each field of a command becomes a control chosen by its type: text (a textarea for free
text), a checkbox, a select of an enum's values, a UTC date-time, a duration, a
comma-separated list of ids, or repeated fieldsets for a list of values (panel members,
findings). ``type``, ``actor`` and ``effective_at`` are never on a form: the actor is the
signed-in person and the time is the server's. A submitted form becomes the document
pydantic validates; its errors come back keyed by the field's dotted path, so each is
shown next to its control.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ..domain.base import Personal
from ..domain.text import TEXT, Limit

HIDDEN = frozenset({"type", "actor", "effective_at", "policy"})
# pydantic's AwareDatetime is its own class at run time, not datetime
DATETIMES: tuple[Any, ...] = (datetime, AwareDatetime)
ROWS = {"members": 3, "evidence": 3}  # repeated fieldsets offered for a list of values (default 1)
Kind = str  # text, textarea, checkbox, select, datetime, duration, ids, personal, number


@dataclass
class Control:
    name: str  # dotted path, e.g. "members.0.member_id"
    label: str
    kind: Kind
    required: bool
    options: list[str] = field(default_factory=list)
    hint: str = ""


@dataclass
class Group:
    name: str
    label: str
    items: list[Control | Group]
    repeated: bool = False


def _label(name: str) -> str:
    return name.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _is_text(info: FieldInfo) -> bool:
    return any(isinstance(m, Limit) and m.max_chars >= TEXT.max_chars for m in info.metadata)


def controls(model: type[BaseModel], prefix: str = "") -> list[Control | Group]:
    """The controls for a model's fields, in declaration order."""
    found: list[Control | Group] = []
    for name, info in model.model_fields.items():
        if name in HIDDEN and not prefix:
            continue
        path = f"{prefix}{name}"
        kind, optional = _unwrap(info.annotation)
        required = info.is_required() and not optional
        origin = get_origin(kind)
        if origin is list:
            (inner,) = get_args(kind) or (str,)
            if isinstance(inner, type) and issubclass(inner, BaseModel) \
                    and inner is not Personal:
                rows = [Group(f"{path}.{i}", f"{_label(name)} {i + 1}",
                              controls(inner, f"{path}.{i}."))
                        for i in range(ROWS.get(name, 1))]
                found.append(Group(path, _label(name), list(rows), repeated=True))
            else:
                found.append(Control(path, _label(name), "ids", required,
                                     hint="comma-separated"))
        elif isinstance(kind, type) and issubclass(kind, Personal):
            found.append(Control(path, _label(name), "personal", required))
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            found.append(Group(path, _label(name) + ("" if required else " (optional)"),
                               controls(kind, f"{path}.")))
        elif isinstance(kind, type) and issubclass(kind, Enum):
            found.append(Control(path, _label(name), "select", required,
                                 options=[str(m.value) for m in kind]))
        elif kind is bool:
            found.append(Control(path, _label(name), "checkbox", False))
        elif kind in DATETIMES:
            found.append(Control(path, _label(name), "datetime", required, hint="UTC"))
        elif kind is date:
            found.append(Control(path, _label(name), "date", required))
        elif kind is timedelta:
            found.append(Control(path, _label(name), "duration", required,
                                 hint="ISO 8601 duration, e.g. P8W or P30D"))
        elif kind is int:
            found.append(Control(path, _label(name), "number", required))
        else:
            found.append(Control(path, _label(name), "textarea" if _is_text(info) else "text",
                                 required))
    return found


def leaves(items: list[Control | Group]) -> list[Control]:
    out: list[Control] = []
    for item in items:
        out.extend(leaves(item.items) if isinstance(item, Group) else [item])
    return out


def _value(control: Control, raw: str | None, subject: str) -> Any:
    """The JSON value of one control, or None when left blank."""
    if control.kind == "checkbox":
        return raw is not None
    text = (raw or "").strip()
    if not text:
        return None
    if control.kind == "ids":
        return [part.strip() for part in text.split(",") if part.strip()]
    if control.kind == "personal":
        return {"subject_id": subject, "value": text}
    if control.kind == "datetime":
        return text if text.endswith(("Z", "+00:00")) else text + "Z"
    return text


def _put(tree: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _lists(node: Any) -> Any:
    """{"0": {...}, "1": {...}} -> [{...}, {...}], dropping rows left blank."""
    if not isinstance(node, dict):
        return node
    fixed = {k: _lists(v) for k, v in node.items()}
    if fixed and all(k.isdigit() for k in fixed):
        rows = [fixed[k] for k in sorted(fixed, key=int)]
        return [r for r in rows if _filled(r)]
    return {k: v for k, v in fixed.items() if not (isinstance(v, dict) and not _filled(v))}


def _filled(node: Any) -> bool:
    if isinstance(node, dict):
        return any(_filled(v) for v in node.values())
    if isinstance(node, list):
        return bool(node)
    return node is not None and node is not False


def _subject(name: str, form: dict[str, str], subjects: dict[str, str],
             default: str) -> str:
    """Whose personal data the control ``name`` holds: the form field that names them,
    found by the longest key of ``subjects`` that is the control or a prefix of it."""
    keys = [k for k in subjects if name == k or name.startswith(k + ".")]
    if not keys:
        return default
    return form.get(subjects[max(keys, key=len)], "").strip() or default


def document(model: type[BaseModel], form: dict[str, str], subjects: dict[str, str],
             default_subject: str) -> dict[str, Any]:
    """The command document a submitted form stands for (before validation).
    ``subjects``: whose personal data a field (or a group of fields) holds, as the form
    field naming that person (default: ``default_subject``, the respondent), so it is
    sealed under the right person's key."""
    tree: dict[str, Any] = {}
    for control in leaves(controls(model)):
        value = _value(control, form.get(control.name),
                       _subject(control.name, form, subjects, default_subject))
        if value is not None:
            _put(tree, control.name, value)
    found: dict[str, Any] = _lists(tree)
    return found


def errors_of(err: ValidationError, tag: str | None = None) -> dict[str, str]:
    """Field path -> message, for each error pydantic found (``tag``: the union member's
    name, which a discriminated union puts first in each location)."""
    found: dict[str, str] = {}
    for item in err.errors():
        loc = [str(p) for p in item["loc"]]
        if loc and loc[0] == tag:
            loc = loc[1:]
        if len(loc) > 1 and loc[-1] in ("value", "subject_id"):
            loc = loc[:-1]  # a Personal's parts are one control
        found.setdefault(".".join(loc) or "form", item["msg"])
    return found
