"""Case events: past-tense facts, each carrying everything evolve() needs.

decide() does every computation (deadlines, pinned versions, rights removed) and
writes the result into the event, so folding never consults the policy or the clock.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from ..base import Personal
from ..ids import PersonId
from ..policy import EscalationRole, PolicyVersion, Right, SanctionKind
from .event_base import CaseEventBase
from .priors import PriorsWeighed
from .record_events import (
    CORRECTED_EVENT_TYPE,
    DataCollectionNoticeExempted,
    DataCollectionNoticeGiven,
    DataCollectionNoticeMissed,
    InstructionRecorded,
    RecordCorrected,
)
from .reporter_events import (
    HoldContestDecided,
    HoldContested,
    HoldReleased,
    ReporterWarned,
    ReportHeld,
)
from .values import (
    Admissibility,
    Allegation,
    AppealOutcome,
    AutomatedDecision,
    Complainant,
    DismissalReason,
    EscalatedKind,
    EvidenceItem,
    Finding,
    NoticedAllegation,
    PanelMember,
    Redaction,
    ReinstatementReason,
    Respondent,
    Sanction,
    StatementOfReasons,
    WithheldEvidence,
)

__all__ = [
    "CASE_EVENT_ADAPTER", "CORRECTED_EVENT_TYPE", "EVENT_TYPES", "AppealDecided", "AppealLodged",
    "AppealPanelAppointed", "AppealWindowClosed", "CaseClosed", "CaseDismissed", "CaseEvent",
    "CaseEventBase", "CaseTriaged", "DataCollectionNoticeExempted", "DataCollectionNoticeGiven",
    "DataCollectionNoticeMissed", "DeadlineMissed", "DecisionRecorded", "EvidenceAdded",
    "EvidenceDisclosed", "HearingHeld", "HearingScheduled", "HoldContestDecided", "HoldContested",
    "HoldReleased", "InstructionRecorded", "InterimSuspensionImposed", "InterimSuspensionLapsed",
    "InterimSuspensionLifted", "InterimSuspensionRenewed", "InvestigatorAssigned",
    "MemberReinstated", "NoticeIssued", "PanelAppointed", "RecordCorrected", "ReportAcknowledged",
    "ReportFiled", "ReportHeld", "ReporterWarned", "ResponseSubmitted", "SanctionApplied",
    "SanctionEnded",
]


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
    # v2: the rulebook's escalation for the kind (who is told, what happens next; issue
    # 15); v1 escalated to the case officer and named no next step (upcasters.py).
    schema_version: ClassVar[int] = 2
    type: Literal["DeadlineMissed"] = "DeadlineMissed"
    kind: EscalatedKind
    due_at: AwareDatetime
    escalated_to: EscalationRole = "case_officer"
    next_step: str | None = None  # None only on v1 misses


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
    # v2: the prior sanctions weighed (ACAS 19-22); v1 decisions weighed none (upcasters.py).
    schema_version: ClassVar[int] = 2
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
    # The respondent's prior sanctions, current (weighed) or expired (never counted), when
    # decided; None: decided without reading them (v1, or outside the workflow).
    prior_sanctions: PriorsWeighed | None = None
    aggravating_priors: list[str] = []  # case ids of weighed priors the decision relies on


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
    """v2 added ``current_until`` (v1 records read as current indefinitely)."""

    schema_version: ClassVar[int] = 2
    type: Literal["SanctionApplied"] = "SanctionApplied"
    sanction: Sanction
    status: str
    rights_removed: list[Right]
    ends_at: AwareDatetime | None = None  # only suspensions end
    current_until: AwareDatetime | None = None  # the rule's current_for (ACAS 19-20)


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


CaseEvent = Annotated[
    ReportFiled | ReportAcknowledged | CaseTriaged | CaseDismissed | InvestigatorAssigned
    | EvidenceAdded | InterimSuspensionImposed | InterimSuspensionRenewed
    | InterimSuspensionLifted | InterimSuspensionLapsed | NoticeIssued | EvidenceDisclosed
    | ResponseSubmitted | DeadlineMissed | PanelAppointed | HearingScheduled | HearingHeld
    | DecisionRecorded | AppealLodged | AppealWindowClosed | AppealPanelAppointed
    | AppealDecided | SanctionApplied | SanctionEnded | MemberReinstated | CaseClosed
    | InstructionRecorded | DataCollectionNoticeGiven | DataCollectionNoticeExempted
    | DataCollectionNoticeMissed | RecordCorrected | ReporterWarned | ReportHeld
    | HoldContested | HoldContestDecided | HoldReleased,
    Field(discriminator="type"),
]

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
        DataCollectionNoticeMissed, RecordCorrected, ReporterWarned, ReportHeld,
        HoldContested, HoldContestDecided, HoldReleased,
    )
}
