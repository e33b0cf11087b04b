"""Who an event names, from its types: the one definition subject access, erasure and the
person index (migration 0013, filled by the append) all use.

A person is named by an event when they are its actor (or the payload's actor) and a
person, when a field typed ``PersonId`` holds their id (``domain.records.person_paths``),
or when they are the data subject of a personal value (``{"pii": true, "subject_id": ...}``
in clear, or sealed: the subject id stays in clear either way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import ActorKind
from .ids import person_ids_at
from .records import person_paths

# An enum member's ``.value`` is a descriptor call; the append asks this twice per event.
# Issue 14, with the trie of domain/ids.py and one actor document per batch: the person
# index's share of the append 4.4 -> 2.7 us per event (bench workload, min of 9).
_PERSON = ActorKind.PERSON.value


def person_actor(node: Any) -> str | None:
    """The id of an actor document when the actor is a person."""
    if (isinstance(node, dict) and isinstance(node.get("id"), str)
            and node.get("kind", _PERSON) == _PERSON):
        return str(node["id"])
    return None


def is_personal_node(node: Any) -> bool:
    """A ``Personal`` value in JSON form (clear or sealed)."""
    return isinstance(node, dict) and node.get("pii") is True and "subject_id" in node


def _subjects(node: Any, found: dict[str, None]) -> None:
    if is_personal_node(node):
        found.setdefault(node["subject_id"])
    elif isinstance(node, dict):
        for value in node.values():
            _subjects(value, found)
    elif isinstance(node, list):
        for value in node:
            _subjects(value, found)


def named_people(
    event_type: str, actor: Any, payload: Mapping[str, Any],
    subjects: Iterable[str] | None = None,
) -> list[str]:
    """Every person an event names, in order: the actor when a person (``actor``: its JSON
    form), the payload's actor, its ``PersonId`` fields, and the data subjects of its
    personal values (``subjects`` when the caller already found them)."""
    found: dict[str, None] = {}
    add_named_people(found, event_type, person_actor(actor), payload, subjects)
    return list(found)


def add_named_people(
    found: dict[str, None], event_type: str, actor_id: str | None,
    payload: Mapping[str, Any], subjects: Iterable[str] | None = None,
) -> None:
    """``named_people`` added to ``found`` (keys in order of first mention), with the
    actor's ``person_actor`` id already known: the append collects a batch's people into
    one dict and judges its actor once per batch, not once per event."""
    if actor_id is not None:
        found[actor_id] = None
    if (payload_actor := person_actor(payload.get("actor"))) is not None:
        found[payload_actor] = None
    if paths := person_paths(event_type):
        found.update(dict.fromkeys(person_ids_at(payload, paths)))
    if subjects is None:
        _subjects(payload, found)
    else:
        found.update(dict.fromkeys(subjects))


def document_people(doc: Mapping[str, Any]) -> list[str]:
    """``named_people`` of an event document (stored form or JSON form)."""
    return named_people(doc["event_type"], doc.get("actor"), doc.get("payload") or {})
