"""Where a person id can occur is known from the types (``PersonId``), and subject access
finds a person wherever such a field puts them."""

from __future__ import annotations

from typing import Any

from dueprocess.domain.base import Model
from dueprocess.domain.ids import (
    ITEM,
    VALUE,
    Path,
    PersonId,
    person_id_paths,
    person_ids_at,
    values_at,
)
from dueprocess.domain.records import STORED_EVENT_MODELS, person_paths
from dueprocess.services.redaction import concerns, event_person_ids, redact_others
from hypothesis import given, settings
from hypothesis import strategies as st

EXPECTED: dict[str, set[Path]] = {
    "ReportFiled": {("complainant", "person_id"), ("respondent", "person_id"),
                    ("evidence", ITEM, "captured_by"), ("evidence", ITEM, "witness_id")},
    "CaseTriaged": {("reviewed_by",)},
    "CaseDismissed": {("reviewed_by",)},
    "InvestigatorAssigned": {("investigator_id",), ("replaces",)},
    "EvidenceAdded": {("evidence", ITEM, "captured_by"), ("evidence", ITEM, "witness_id")},
    "PanelAppointed": {("members", ITEM, "member_id")},
    "AppealPanelAppointed": {("members", ITEM, "member_id")},
    "HearingHeld": {("attendees", ITEM)},
    "InstructionRecorded": {("from_person_id",), ("to_person_id",)},
    "DataCollectionNoticeGiven": {("subject_id",)},
    "DataCollectionNoticeExempted": {("subject_id",)},
    "DataCollectionNoticeMissed": {("subject_id",)},
    "RecordCorrected": {("found_by",)},
    "ReporterWarned": {("reporter_id",), ("counted", ITEM, "dismissed_by")},
    "ReportHeld": {("reporter_id",), ("warning", "involved", ITEM)},
    "HoldContestDecided": {("decided_by",)},
    "MemberJoined": {("member_id",)},
    "SubjectAccessExported": {("subject_id",)},
    "SubjectErased": {("subject_id",)},
    "NotificationDispatched": {("recipient_subject_id",)},
}
SYSTEM = {"id": "dueprocess", "role": "system", "kind": "system"}


def test_every_event_types_person_id_paths_are_found() -> None:
    # given every event type the log holds, when their paths are derived from the types
    found = {name: set(person_paths(name)) for name in STORED_EVENT_MODELS}
    # then each type's person-id fields are exactly those typed PersonId, and no other
    # type has any
    assert {n: p for n, p in found.items() if p} == EXPECTED
    assert person_paths("NoSuchEvent") == frozenset()


class Inner(Model):
    who: PersonId
    note: str = ""


class Future(Model):
    """An event shape someone might add: person ids nested in every container kind."""

    lead: PersonId | None = None
    helpers: list[Inner] = []
    by_role: dict[str, list[PersonId]] = {}
    maybe: Inner | None = None


def test_a_new_field_typed_person_id_cannot_be_missed() -> None:
    assert person_id_paths(Future) == {("lead",), ("helpers", ITEM, "who"),
                                       ("by_role", VALUE, ITEM), ("maybe", "who")}


def placed(path: Path, value: str) -> Any:
    """A JSON document holding ``value`` at ``path`` and nothing else."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == ITEM:
        return [placed(rest, value)]
    if head == VALUE:
        return {"any-key": placed(rest, value)}
    return {head: placed(rest, value)}


PLACES = sorted((name, path) for name, paths in EXPECTED.items() for path in paths)
person_ids = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                     max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PLACES), person_ids)
def test_a_person_in_any_person_id_field_is_found_by_subject_access(
    place: tuple[str, Path], person: str,
) -> None:
    # given an event naming the person in one of its PersonId fields (by a system actor)
    event_type, path = place
    doc = {"event_type": event_type, "actor": SYSTEM, "payload": placed(path, person)}
    # then subject access judges it to concern them, and an export for someone else
    # pseudonymises them there
    assert concerns(doc, person)
    assert person in event_person_ids(doc)
    other = "subject-of-another-export" if person != "subject-of-another-export" else "x"
    redacted = redact_others(doc, other)["payload"]
    assert list(values_at(redacted, path)) == ["person-1"]


def _reference_person_ids_at(node: Any, paths: frozenset[Path]) -> list[str]:
    """The walk person_ids_at made before issue 14 (prefix tuples tested per key): the
    oracle its trie must agree with, order of first mention included."""
    prefixes = {p[:i] for p in paths for i in range(len(p) + 1)}
    found: dict[str, None] = {}

    def walk(value: Any, at: Path) -> None:
        if at in paths and isinstance(value, str):
            found.setdefault(value)
        if isinstance(value, dict):
            for key, item in value.items():
                for step in (key, VALUE):
                    if (*at, step) in prefixes:
                        walk(item, (*at, step))
        elif isinstance(value, list) and (*at, ITEM) in prefixes:
            for item in value:
                walk(item, (*at, ITEM))

    walk(node, ())
    return list(found)


_KEYS = st.sampled_from(["a", "b", "c"])
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.sampled_from(["p1", "p2", "p3", 7, None]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12)
_PATHS = st.frozensets(st.lists(_KEYS | st.just(ITEM) | st.just(VALUE), min_size=1, max_size=3)
                       .map(tuple), max_size=4)


@settings(max_examples=300)
@given(document=_JSON, paths=_PATHS)
def test_person_ids_at_finds_what_the_prefix_walk_found_in_the_same_order(
    document: Any, paths: frozenset[Path]
) -> None:
    # given any JSON document and any set of person-id paths
    # when the ids at those paths are collected
    found = person_ids_at(document, paths)
    # then they are exactly those the previous walk found, in order of first mention
    assert found == _reference_person_ids_at(document, paths)
