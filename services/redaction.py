"""Who an event concerns, and what a reader may see of it: pure functions over event
documents and case states, used by the records client.

Where a person id can occur in an event is known from its types (``PersonId`` fields,
see domain/ids.py and ``domain.records.person_paths``), the actor when a person, and
the data subject of every personal value: no list of field names to keep up to date.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ..domain import case as dc
from ..domain.people import document_people, person_actor
from ..domain.records import STORED_EVENT_MODELS, person_paths
from ..domain.streams import PERSON_PREFIXES, split
from ..store.crypto import is_personal

# Envelope fields naming a stream ("member-<id>", "subject-<id>"), which may embed a
# person id.
_STREAM_KEYS = ("stream_id", "correlation_id", "workflow_id")


def concerns(doc: Mapping[str, Any], person_id: str) -> bool:
    """``doc``: an event's stored document or its JSON form (envelope and payload)."""
    return person_id in event_person_ids(doc)


def event_person_ids(doc: Mapping[str, Any]) -> list[str]:
    """Every person an event names: the actor when a person, the payload's ``PersonId``
    fields, and the data subjects of its personal values (in that order)."""
    return document_people(doc)


def unknown_event_types(docs: Iterable[Mapping[str, Any]]) -> set[str]:
    """Event types whose person-id fields are unknown (a type with no model)."""
    return {d["event_type"] for d in docs if d["event_type"] not in STORED_EVENT_MODELS}


class Pseudonyms:
    """Stable stand-ins for other people's ids within one export: the same person is
    ``person-N`` wherever they appear, so the subject can tell who acted twice without
    learning who they are."""

    def __init__(self, subject_id: str) -> None:
        self.subject_id = subject_id
        self.names: dict[str, str] = {}

    def add(self, person_ids: Iterable[str]) -> None:
        for person_id in person_ids:
            if person_id != self.subject_id and person_id not in self.names:
                self.names[person_id] = f"person-{len(self.names) + 1}"

    def __call__(self, person_id: str) -> str:
        self.add([person_id])
        return self.names.get(person_id, person_id)

    def stream(self, stream_id: str) -> str:
        parts = split(stream_id)
        if parts is None or parts[0] not in PERSON_PREFIXES or parts[1] not in self.names:
            return stream_id
        return f"{parts[0]}{self.names[parts[1]]}"


def redact_others(doc: Mapping[str, Any], person_id: str,
                  pseudonyms: Pseudonyms | None = None) -> dict[str, Any]:
    """One event's JSON form with the person's own data kept and everyone else's hidden:
    their personal values dropped, and their ids (``PersonId`` fields, actors, data
    subjects, streams named after them) replaced by pseudonyms."""
    names = pseudonyms if pseudonyms is not None else Pseudonyms(person_id)
    names.add(event_person_ids(doc))
    others = {k: v for k, v in names.names.items() if k != person_id}
    paths = person_paths(doc["event_type"])

    def walk(value: Any, at: tuple[str, ...]) -> Any:
        if is_personal(value) and value["subject_id"] != person_id:
            return {"pii": True, "subject_id": names(value["subject_id"]), "value": None,
                    "redacted": True}
        if isinstance(value, dict):
            if person_actor(value) is not None and len(at) <= 2 and at[-1:] == ("actor",):
                return {**value, "id": others.get(value["id"], value["id"])}
            return {k: walk(v, (*at, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*at, "[]")) for v in value]
        if isinstance(value, str) and at[:1] == ("payload",) and _at_path(at[1:], paths):
            return others.get(value, value)
        return value

    redacted: dict[str, Any] = walk(dict(doc), ())
    for key in _STREAM_KEYS:
        if isinstance(redacted.get(key), str):
            redacted[key] = names.stream(redacted[key])
    return redacted


def _at_path(at: tuple[str, ...], paths: frozenset[tuple[str, ...]]) -> bool:
    # Mapping values are walked under their keys; a path's "{}" matches any key.
    return any(len(p) == len(at) and all(s in ("{}", a) for s, a in zip(p, at, strict=True))
               for p in paths)


def _is_evidence_item(node: Any) -> bool:
    return isinstance(node, dict) and {"evidence_id", "description", "content_hash"} <= set(node)


def evidence_ids_in(node: Any) -> set[str]:
    """The ids of the evidence items (not mere references) anywhere in a document."""
    if _is_evidence_item(node):
        return {node["evidence_id"]}
    if isinstance(node, dict):
        return set().union(*(evidence_ids_in(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(evidence_ids_in(v) for v in node))
    return set()


_EVIDENCE_KEYED = frozenset({"inadmissible", "withheld", "disclosed_at"})


def _only_evidence(node: Any, shown: Collection[str], known: Collection[str]) -> Any:
    """Drop every evidence item not in ``shown``, wherever it sits (the evidence map, the
    report, events folded into the state), and every reference (admissibility rulings,
    withholding and redaction notes) to evidence the reader has not been told of."""
    if isinstance(node, dict):
        kept: dict[str, Any] = {}
        for key, value in node.items():
            if _is_evidence_item(value) and value["evidence_id"] not in shown:
                continue
            if key in _EVIDENCE_KEYED and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k in known}
            kept[key] = _only_evidence(value, shown, known)
        return kept
    if isinstance(node, list):
        return [_only_evidence(v, shown, known) for v in node
                if not (isinstance(v, dict) and "evidence_id" in v
                        and v["evidence_id"] not in (shown if _is_evidence_item(v) else known))]
    return node


def _erase_others(node: Any, keep: str) -> Any:
    """Every personal value not about ``keep`` replaced by the redaction marker."""
    if is_personal(node):
        if node["subject_id"] == keep:
            return node
        return {"pii": True, "subject_id": node["subject_id"], "value": None, "erased": True}
    if isinstance(node, dict):
        return {k: _erase_others(v, keep) for k, v in node.items()}
    if isinstance(node, list):
        return [_erase_others(v, keep) for v in node]
    return node


def _replace_id(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: _replace_id(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_id(v, old, new) for v in node]
    return new if node == old else node


UNNAMED_COMPLAINANT = "complainant-not-named"


def respondent_view(
    state: dc.CaseState, respondent_id: str, shown: Collection[str]
) -> dc.CaseState:
    """The case as the respondent may see it: only the evidence in ``shown`` (disclosed
    to them), no reference to evidence they were never told of, nobody else's personal
    data, and the complainant's id too while the complainant is not named to them."""
    known = set(state.disclosed_at) | set(state.withheld)
    data = _erase_others(_only_evidence(state.model_dump(mode="json"), shown, known),
                         respondent_id)
    complainant = state.complainant
    named = state.notice is not None and state.notice.complainant_identified
    if complainant is not None and not named and complainant.person_id != respondent_id:
        data = _replace_id(data, complainant.person_id, UNNAMED_COMPLAINANT)
    return dc.CaseState.model_validate(data)
