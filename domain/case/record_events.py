"""Case events that put something on the record beside the procedure: contacts about the
case, Art 14 data-collection notices, and corrections of the record. Part of the one
CaseEvent union in domain/case/events.py."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime

from ..base import Personal
from ..ids import PersonId
from ..policy import EscalationRole
from .event_base import CaseEventBase
from .values import ContactDirection, ContactKind, CorrectedRecord, NoticeExemption, Sanction


class InstructionRecorded(CaseEventBase):
    """A contact about the case, either way, on the record (invariant 5).

    ``sender_assigned`` is whether the sender held a part in the case when it was
    recorded (investigator, panel, appeal panel, or a case officer who had acted on it);
    the audit surfaces every contact, and every instruction from a sender who did not.
    v2 added the direction, kind, outside body, recipient and what was shared; v1 records
    are upcast as instructions received (domain/case/upcasters.py).
    """

    schema_version: ClassVar[int] = 2
    type: Literal["InstructionRecorded"] = "InstructionRecorded"
    from_person_id: PersonId
    from_role: str
    channel: str
    content: Personal
    received_at: AwareDatetime  # when it was received, or sent
    sender_assigned: bool
    direction: ContactDirection = ContactDirection.RECEIVED
    kind: ContactKind = ContactKind.INSTRUCTION
    outside_body: str | None = None
    to_person_id: PersonId | None = None
    to_role: str | None = None
    shared: str | None = None
    shared_evidence_ids: list[str] = []


class DataCollectionNoticeGiven(CaseEventBase):
    """A person was told that data about them came from another source (GDPR Art 14)."""

    type: Literal["DataCollectionNoticeGiven"] = "DataCollectionNoticeGiven"
    subject_id: PersonId
    evidence_ids: list[str]
    sources: list[str]  # per item: the kind of source and where it was captured (Art 14(2)(f))
    channel: str


class DataCollectionNoticeExempted(CaseEventBase):
    type: Literal["DataCollectionNoticeExempted"] = "DataCollectionNoticeExempted"
    subject_id: PersonId
    evidence_ids: list[str]
    exemption: NoticeExemption
    legal_basis: str
    reasons: str


class DataCollectionNoticeMissed(CaseEventBase):
    # v2: the rulebook's escalation (who is told, what happens next; issue 15); v1 went
    # to the data protection officer and named no next step (upcasters.py).
    schema_version: ClassVar[int] = 2
    type: Literal["DataCollectionNoticeMissed"] = "DataCollectionNoticeMissed"
    subject_id: PersonId
    evidence_ids: list[str]
    due_at: AwareDatetime
    escalated_to: EscalationRole = "data_protection_officer"
    next_step: str | None = None  # None only on v1 misses


class RecordCorrected(CaseEventBase):
    """A correction of the record: what was wrong, what replaces it, and who found it.

    ``automation_error`` names the detector that filed the report (``detector_id``) and
    the human who found the error (``found_by``, the actor); it counts in statistics.
    v2 names the corrected event by its place in the case stream (``corrects_version``,
    the decider's, from the state) and, for an outcome with a sanction, the sanction that
    stands instead (``replaced_by``; None: none). v1 corrections are upcast without
    either: they correct the latest event of their kind before them (upcasters.py), and
    the outcome they correct no longer stands.
    """

    schema_version: ClassVar[int] = 2
    type: Literal["RecordCorrected"] = "RecordCorrected"
    corrects: CorrectedRecord
    what_was_wrong: str
    correction: str
    automation_error: bool
    detector_id: str | None = None
    found_by: PersonId
    apology: str | None = None
    corrects_version: int | None = None  # None: the latest of its kind before this one
    replaced_by: Sanction | None = None


# The event each kind of correction puts right: the one at ``corrects_version``, or for a
# v1 correction the latest of that type before it.
CORRECTED_EVENT_TYPE: dict[CorrectedRecord, str] = {
    CorrectedRecord.REPORT: "ReportFiled", CorrectedRecord.DISMISSAL: "CaseDismissed",
    CorrectedRecord.DECISION: "DecisionRecorded", CorrectedRecord.APPEAL_DECISION: "AppealDecided",
    CorrectedRecord.SANCTION: "SanctionApplied",
    CorrectedRecord.INTERIM_SUSPENSION: "InterimSuspensionImposed",
    CorrectedRecord.REPORTER_WARNING: "ReporterWarned", CorrectedRecord.HOLD: "ReportHeld"}
