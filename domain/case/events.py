"""Case events: past-tense facts, each carrying everything evolve() needs.

decide() does every computation (deadlines, pinned versions, rights removed) and
writes the result into the event, so folding never consults the policy or the clock.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from ..base import EventBase, Personal
from ..ids import PersonId
from ..policy import PolicyVersion, Right, SanctionKind
from .values import (
    Admissibility,
    Allegation,
    AppealOutcome,
    AutomatedDecision,
    Complainant,
    ContactDirection,
    ContactKind,
    CorrectedRecord,
    DismissalReason,
    EscalatedKind,
    EvidenceItem,
    Finding,
    NoticedAllegation,
    NoticeExemption,
    PanelMember,
    Redaction,
    ReinstatementReason,
    Respondent,
    Sanction,
    StatementOfReasons,
    WithheldEvidence,
)


class CaseEventBase(EventBase):
    effective_at: AwareDatetime


class ReportFiled(CaseEventBase):
    type: Literal["ReportFiled"] = "ReportFiled"
    case_id: str
    complainant: Complainant
    respondent: Respondent
    allegations: list[Allegation]
    evidence: list[EvidenceItem]
    admissibility: list[Admissibility]
    good_faith_declaration: bool
    automated: bool  # came from an automated detector: no adverse step before human triage
    policy_id: str
    procedure_version: str  # in force when filed: deadlines, statuses, evidence rules
    rule_versions: dict[str, str]  # allegation_id -> version in force on its conduct date
    pinned_versions: list[PolicyVersion]  # every version named above, frozen into the case


class ReportAcknowledged(CaseEventBase):
    type: Literal["ReportAcknowledged"] = "ReportAcknowledged"


class CaseTriaged(CaseEventBase):
    type: Literal["CaseTriaged"] = "CaseTriaged"
    reasons: str
    reviewed_by: PersonId  # the named human who triaged


class CaseDismissed(CaseEventBase):
    type: Literal["CaseDismissed"] = "CaseDismissed"
    dismissal_reason: DismissalReason
    reasons: str
    reviewed_by: PersonId


class InvestigatorAssigned(CaseEventBase):
    type: Literal["InvestigatorAssigned"] = "InvestigatorAssigned"
    investigator_id: PersonId
    replaces: PersonId | None = None


class EvidenceAdded(CaseEventBase):
    type: Literal["EvidenceAdded"] = "EvidenceAdded"
    evidence: list[EvidenceItem]
    admissibility: list[Admissibility]


class InterimSuspensionImposed(CaseEventBase):
    type: Literal["InterimSuspensionImposed"] = "InterimSuspensionImposed"
    reasons: str
    review_by: AwareDatetime
    rights_removed: list[Right]


class InterimSuspensionRenewed(CaseEventBase):
    type: Literal["InterimSuspensionRenewed"] = "InterimSuspensionRenewed"
    reasons: str
    review_by: AwareDatetime


class InterimSuspensionLifted(CaseEventBase):
    type: Literal["InterimSuspensionLifted"] = "InterimSuspensionLifted"
    reasons: str
    rights_restored: list[Right]


class InterimSuspensionLapsed(CaseEventBase):
    type: Literal["InterimSuspensionLapsed"] = "InterimSuspensionLapsed"
    review_by: AwareDatetime
    rights_restored: list[Right]


class NoticeIssued(CaseEventBase):
    type: Literal["NoticeIssued"] = "NoticeIssued"
    allegations: list[NoticedAllegation]
    possible_consequences: list[SanctionKind]
    consequences_note: str | None = None
    complainant_identified: bool
    complainant_withheld_reason: str | None = None
    response_due: AwareDatetime


class EvidenceDisclosed(CaseEventBase):
    type: Literal["EvidenceDisclosed"] = "EvidenceDisclosed"
    evidence_ids: list[str]  # newly disclosed with this act
    withheld: list[WithheldEvidence] = []
    redactions: list[Redaction] = []


class ResponseSubmitted(CaseEventBase):
    type: Literal["ResponseSubmitted"] = "ResponseSubmitted"
    statement: Personal
    late: bool = False


class DeadlineMissed(CaseEventBase):
    type: Literal["DeadlineMissed"] = "DeadlineMissed"
    kind: EscalatedKind
    due_at: AwareDatetime
    escalated_to: str = "case_officer"


class PanelAppointed(CaseEventBase):
    type: Literal["PanelAppointed"] = "PanelAppointed"
    members: list[PanelMember]


class HearingScheduled(CaseEventBase):
    type: Literal["HearingScheduled"] = "HearingScheduled"
    at: AwareDatetime
    location: str


class HearingHeld(CaseEventBase):
    type: Literal["HearingHeld"] = "HearingHeld"
    attendees: list[PersonId]
    companion: Personal | None = None
    respondent_attended: bool


class DecisionRecorded(CaseEventBase):
    type: Literal["DecisionRecorded"] = "DecisionRecorded"
    findings: list[Finding]
    upheld: bool  # at least one allegation upheld
    sanction: Sanction | None  # the governing (most severe) sanction, if any
    automated_detection: bool
    automated_decision: AutomatedDecision
    how_to_appeal: str
    appeal_deadline: AwareDatetime
    interim_suspension_ended: bool = False
    statement_of_reasons: StatementOfReasons | None = None


class AppealLodged(CaseEventBase):
    type: Literal["AppealLodged"] = "AppealLodged"
    grounds: Personal


class AppealWindowClosed(CaseEventBase):
    type: Literal["AppealWindowClosed"] = "AppealWindowClosed"
    closes_at: AwareDatetime


class AppealPanelAppointed(CaseEventBase):
    type: Literal["AppealPanelAppointed"] = "AppealPanelAppointed"
    members: list[PanelMember]


class AppealDecided(CaseEventBase):
    type: Literal["AppealDecided"] = "AppealDecided"
    outcome: AppealOutcome
    reasons: str
    new_sanction: Sanction | None = None


class SanctionApplied(CaseEventBase):
    type: Literal["SanctionApplied"] = "SanctionApplied"
    sanction: Sanction
    status: str
    rights_removed: list[Right]
    ends_at: AwareDatetime | None = None  # only suspensions end


class SanctionEnded(CaseEventBase):
    type: Literal["SanctionEnded"] = "SanctionEnded"
    ends_at: AwareDatetime


class MemberReinstated(CaseEventBase):
    type: Literal["MemberReinstated"] = "MemberReinstated"
    reason: ReinstatementReason
    rights_restored: list[Right]
    record_corrected: bool  # a reversed decision leaves no warning on file (GDPR Art 16)
    continuity_preserved: bool = True  # membership runs on as if never interrupted
    apology: str | None = None


class CaseClosed(CaseEventBase):
    """The event; the error raised for commands on a closed case is ``base.CaseClosed``."""

    type: Literal["CaseClosed"] = "CaseClosed"


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
    type: Literal["DataCollectionNoticeMissed"] = "DataCollectionNoticeMissed"
    subject_id: PersonId
    evidence_ids: list[str]
    due_at: AwareDatetime
    escalated_to: str = "data_protection_officer"


class RecordCorrected(CaseEventBase):
    """A correction of the record: what was wrong, what replaces it, and who found it.

    ``automation_error`` names the detector that filed the report (``detector_id``) and
    the human who found the error (``found_by``, the actor); it counts in statistics.
    """

    type: Literal["RecordCorrected"] = "RecordCorrected"
    corrects: CorrectedRecord
    what_was_wrong: str
    correction: str
    automation_error: bool
    detector_id: str | None = None
    found_by: PersonId
    apology: str | None = None


CaseEvent = Annotated[
    ReportFiled | ReportAcknowledged | CaseTriaged | CaseDismissed | InvestigatorAssigned
    | EvidenceAdded | InterimSuspensionImposed | InterimSuspensionRenewed
    | InterimSuspensionLifted | InterimSuspensionLapsed | NoticeIssued | EvidenceDisclosed
    | ResponseSubmitted | DeadlineMissed | PanelAppointed | HearingScheduled | HearingHeld
    | DecisionRecorded | AppealLodged | AppealWindowClosed | AppealPanelAppointed
    | AppealDecided | SanctionApplied | SanctionEnded | MemberReinstated | CaseClosed
    | InstructionRecorded | DataCollectionNoticeGiven | DataCollectionNoticeExempted
    | DataCollectionNoticeMissed | RecordCorrected,
    Field(discriminator="type"),
]

# The event each kind of correction puts right (the latest of that type before it).
CORRECTED_EVENT_TYPE: dict[CorrectedRecord, str] = {
    CorrectedRecord.REPORT: "ReportFiled", CorrectedRecord.DISMISSAL: "CaseDismissed",
    CorrectedRecord.DECISION: "DecisionRecorded", CorrectedRecord.APPEAL_DECISION: "AppealDecided",
    CorrectedRecord.SANCTION: "SanctionApplied"}

CASE_EVENT_ADAPTER: TypeAdapter[CaseEvent] = TypeAdapter(CaseEvent)

EVENT_TYPES: dict[str, type[CaseEventBase]] = {
    cls.__name__: cls
    for cls in (
        ReportFiled, ReportAcknowledged, CaseTriaged, CaseDismissed, InvestigatorAssigned,
        EvidenceAdded, InterimSuspensionImposed, InterimSuspensionRenewed,
        InterimSuspensionLifted, InterimSuspensionLapsed, NoticeIssued, EvidenceDisclosed,
        ResponseSubmitted, DeadlineMissed, PanelAppointed, HearingScheduled, HearingHeld,
        DecisionRecorded, AppealLodged, AppealWindowClosed, AppealPanelAppointed,
        AppealDecided, SanctionApplied, SanctionEnded, MemberReinstated, CaseClosed,
        InstructionRecorded, DataCollectionNoticeGiven, DataCollectionNoticeExempted,
        DataCollectionNoticeMissed, RecordCorrected,
    )
}
