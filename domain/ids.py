"""Where a person's id can occur, known from the types.

``PersonId`` marks every field that holds a person's id (parties, witnesses, panel
members, staff who acted, notification recipients). Subject access and erasure find a
person's events by the paths ``person_id_paths`` derives from these annotations, so a
new field typed ``PersonId`` cannot be missed, and no list of field names has to be kept.

The id's shape (length, one line, not blank) comes from ``text.IdText``.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from .text import IdText


class PersonRef:
    """Marker: the annotated value is a person's id."""

    def __repr__(self) -> str:
        return "PersonRef()"


# Ids are short, one line, not blank (domain/text.py); the marker says whose they are.
PersonId = Annotated[IdText, PersonRef()]

# A path into an event's JSON form: field names, with ITEM for "each item of a list" and
# VALUE for "each value of a mapping".
ITEM = "[]"
VALUE = "{}"
Path = tuple[str, ...]


def _marked(metadata: Sequence[Any]) -> bool:
    return any(isinstance(m, PersonRef) for m in metadata)


def _paths_in(annotation: Any, seen: frozenset[type[BaseModel]]) -> Iterator[Path]:
    """Paths below a value of type ``annotation`` that hold a person id ("()": itself)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        if _marked(metadata):
            yield ()
            return
        yield from _paths_in(inner, seen)
    elif origin in (Union, types.UnionType):
        for arm in get_args(annotation):
            yield from _paths_in(arm, seen)
    elif origin in (list, tuple, set, frozenset, Sequence):
        for arg in get_args(annotation):
            if arg is not Ellipsis:
                yield from ((ITEM, *p) for p in _paths_in(arg, seen))
    elif origin in (dict, Mapping):
        args = get_args(annotation)
        if args:
            yield from ((VALUE, *p) for p in _paths_in(args[-1], seen))
    elif origin is Literal:
        return
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            yield from _model_paths(annotation, seen | {annotation})


def _model_paths(model: type[BaseModel], seen: frozenset[type[BaseModel]]) -> Iterator[Path]:
    for name, info in model.model_fields.items():
        key = info.alias or name
        if _marked(info.metadata):
            yield (key,)
        yield from ((key, *p) for p in _paths_in(info.annotation, seen))


@cache
def person_id_paths(model: type[BaseModel]) -> frozenset[Path]:
    """Every path in ``model``'s JSON form whose value is a person id, through nested
    models, lists, optionals and unions (cached per class)."""
    return frozenset(p for p in _model_paths(model, frozenset({model})) if p)


def values_at(node: Any, path: Path) -> Iterator[Any]:
    """The values found at ``path`` in a JSON document (absent parts yield nothing)."""
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    if head == ITEM:
        if isinstance(node, list):
            for item in node:
                yield from values_at(item, rest)
    elif head == VALUE:
        if isinstance(node, dict):
            for item in node.values():
                yield from values_at(item, rest)
    elif isinstance(node, dict) and head in node:
        yield from values_at(node[head], rest)


class _Step:
    """A node of the trie of a path set: whether a path ends here, and the steps on."""

    __slots__ = ("end", "next")

    def __init__(self) -> None:
        self.end = False
        self.next: dict[str, _Step] = {}


@cache
def _trie(paths: frozenset[Path]) -> _Step:
    # Every append asks with one of a few dozen path sets (one per event type). A trie
    # looks each key up once; testing (*at, step) in a set of prefixes built two tuples
    # per key of the payload (issue 14: see domain/people.py for what this saved).
    root = _Step()
    for path in paths:
        node = root
        for step in path:
            node = node.next.setdefault(step, _Step())
        node.end = True
    return root


def person_ids_at(node: Any, paths: frozenset[Path]) -> list[str]:
    """Person ids at ``paths`` in the JSON document ``node``, in order of first mention."""
    if not paths:
        return []
    found: dict[str, None] = {}

    def walk(value: Any, at: _Step) -> None:
        if at.end and isinstance(value, str):
            found.setdefault(value)
        steps = at.next
        if not steps:
            return
        if isinstance(value, dict):
            each = steps.get(VALUE)
            for key, item in value.items():
                if (child := steps.get(key)) is not None:
                    walk(item, child)
                if each is not None:
                    walk(item, each)
        elif isinstance(value, list) and (child := steps.get(ITEM)) is not None:
            for item in value:
                walk(item, child)

    walk(node, _trie(paths))
    return list(found)
