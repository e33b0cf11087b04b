"""Events about the records themselves: who read what and why, subject rights exercised.

Kept apart from the case lifecycle: reading a file changes nobody's case, but it must be
on the record (invariant 10: every read of evidence is recorded, who, when, purpose).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, TypeAdapter

from .base import EventBase, Model, Personal
from .case.events import CaseEvent
from .ids import Path, PersonId, person_id_paths
from .membership.facts import MemberEvent

# Re-exported: stream names are defined in streams.py.
from .streams import access_stream as access_stream
from .streams import subject_stream as subject_stream

READER_ROLES = frozenset({
    "auditor", "case_officer", "investigator", "panel_member", "appeal_panel_member",
    "data_protection_officer", "dpo",  # "dpo": the role's name in access tokens
})


class CaseFileAccessed(EventBase):
    type: Literal["CaseFileAccessed"] = "CaseFileAccessed"
    case_id: str
    purpose: str
    evidence_ids: list[str] = []  # the evidence shown; empty for a file without evidence


class SubjectAccessExported(EventBase):
    type: Literal["SubjectAccessExported"] = "SubjectAccessExported"
    subject_id: PersonId
    events_included: int


class SubjectErased(EventBase):
    type: Literal["SubjectErased"] = "SubjectErased"
    subject_id: PersonId
    reason: str
    keys_destroyed: int


RecordsEvent = Annotated[
    CaseFileAccessed | SubjectAccessExported | SubjectErased, Field(discriminator="type")
]
RECORDS_EVENT_ADAPTER: TypeAdapter[RecordsEvent] = TypeAdapter(RecordsEvent)


class NotificationDispatched(Model):
    """The stored payload of a notice sent (``notifications-{case_id}`` streams)."""

    notification_id: str
    recipient_role: str
    recipient_subject_id: PersonId
    address: Personal | None = None
    subject: str
    channel: str
    caused_by: str


def _members(union: Any) -> tuple[type[BaseModel], ...]:
    return tuple(get_args(get_args(union)[0]))


# Every kind of event the log holds, by event type: what subject access and erasure
# judge stored documents by.
_STORED: tuple[type[BaseModel], ...] = (
    *_members(CaseEvent), *_members(MemberEvent), *_members(RecordsEvent),
    NotificationDispatched)
STORED_EVENT_MODELS: Mapping[str, type[BaseModel]] = {cls.__name__: cls for cls in _STORED}


def person_paths(event_type: str) -> frozenset[Path]:
    """Where a person id can occur in the payload of ``event_type`` (from its types);
    nothing for a type the log does not know."""
    model = STORED_EVENT_MODELS.get(event_type)
    return person_id_paths(model) if model is not None else frozenset()
