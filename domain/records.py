"""Events about the records themselves: who read what and why, subject rights exercised.

Kept apart from the case lifecycle: reading a file changes nobody's case, but it must be
on the record (invariant 10: every read of evidence is recorded, who, when, purpose).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from .base import EventBase

READER_ROLES = frozenset({
    "auditor", "case_officer", "investigator", "panel_member", "appeal_panel_member",
    "data_protection_officer",
})


def access_stream(case_id: str) -> str:
    return f"access-{case_id}"


def subject_stream(subject_id: str) -> str:
    return f"subject-{subject_id}"


class CaseFileAccessed(EventBase):
    type: Literal["CaseFileAccessed"] = "CaseFileAccessed"
    case_id: str
    purpose: str
    evidence_ids: list[str] = []  # the evidence shown; empty for a file without evidence


class SubjectAccessExported(EventBase):
    type: Literal["SubjectAccessExported"] = "SubjectAccessExported"
    subject_id: str
    events_included: int


class SubjectErased(EventBase):
    type: Literal["SubjectErased"] = "SubjectErased"
    subject_id: str
    reason: str
    keys_destroyed: int


RecordsEvent = Annotated[
    CaseFileAccessed | SubjectAccessExported | SubjectErased, Field(discriminator="type")
]
RECORDS_EVENT_ADAPTER: TypeAdapter[RecordsEvent] = TypeAdapter(RecordsEvent)
