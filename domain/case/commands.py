"""Case commands: imperative requests, each the ``type`` of its own class.

Shape is checked here (types, blanks); whether a command fits the case is decide()'s
job, so cross-field checks live there and name the field at fault.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from ..base import Personal
from ..ids import PersonId
from ..policy import PolicyDocument
from ..text import (
    FreeText,
    IdText,
    LineText,
    OptionalId,
    OptionalLine,
    OptionalText,
)
from .command_base import CaseCommandBase
from .priors import MAX_PRIOR_SANCTIONS, RespondentRecord
from .reporter_commands import (
    ContestHold,
    DecideHoldContest,
    HoldReport,
    ReleaseHold,
    WarnReporter,
)
from .timer_commands import (
    TIMER_COMMANDS,
    CloseAppealWindow,
    EndSanction,
    EscalateMissedCollectionNotice,
    EscalateMissedDeadline,
    LapseInterimSuspension,
    TimerCommand,
)
from .values import (
    Allegation,
    AppealOutcome,
    AutomatedDecision,
    Complainant,
    ContactDirection,
    ContactKind,
    CorrectedRecord,
    DismissalReason,
    EvidenceItem,
    Finding,
    NoticeExemption,
    PanelMember,
    Redaction,
    Respondent,
    Sanction,
    TriageOutcome,
    WithheldEvidence,
)

# Re-exported: one place to import every command from.
__all__ = [
    "TIMER_COMMANDS", "CaseCommandBase", "CloseAppealWindow", "ContestHold",
    "DecideHoldContest", "EndSanction", "EscalateMissedCollectionNotice",
    "EscalateMissedDeadline", "HoldReport", "LapseInterimSuspension", "ReleaseHold",
    "TimerCommand", "WarnReporter",
]

class FileReport(CaseCommandBase):
    type: Literal["FileReport"] = "FileReport"
    complainant: Complainant
    respondent: Respondent
    allegations: list[Allegation] = Field(min_length=1)
    evidence: list[EvidenceItem] = []
    good_faith_declaration: bool
    # Filled in by the case workflow from the published rulebook (domain/rulebook.py);
    # a caller's own rulebook is refused there. Optional so callers can leave it out.
    policy: PolicyDocument | None = None


class AcknowledgeReport(CaseCommandBase):
    type: Literal["AcknowledgeReport"] = "AcknowledgeReport"


class TriageCase(CaseCommandBase):
    type: Literal["TriageCase"] = "TriageCase"
    outcome: TriageOutcome
    dismissal_reason: DismissalReason | None = None
    reasons: FreeText


class AssignInvestigator(CaseCommandBase):
    type: Literal["AssignInvestigator"] = "AssignInvestigator"
    investigator_id: PersonId


class AddEvidence(CaseCommandBase):
    type: Literal["AddEvidence"] = "AddEvidence"
    evidence: list[EvidenceItem] = Field(min_length=1)


class ImposeInterimSuspension(CaseCommandBase):
    type: Literal["ImposeInterimSuspension"] = "ImposeInterimSuspension"
    reasons: FreeText
    review_by: AwareDatetime | None = None  # default: now + policy review period


class RenewInterimSuspension(CaseCommandBase):
    type: Literal["RenewInterimSuspension"] = "RenewInterimSuspension"
    reasons: FreeText
    review_by: AwareDatetime | None = None


class LiftInterimSuspension(CaseCommandBase):
    type: Literal["LiftInterimSuspension"] = "LiftInterimSuspension"
    reasons: FreeText


class IssueNotice(CaseCommandBase):
    type: Literal["IssueNotice"] = "IssueNotice"
    allegation_ids: list[OptionalId] | None = None  # None: every allegation in the report
    consequences_note: OptionalText | None = None
    complainant_withheld_reason: OptionalText | None = None  # None: the complainant is named


class DiscloseEvidence(CaseCommandBase):
    type: Literal["DiscloseEvidence"] = "DiscloseEvidence"
    evidence_ids: list[OptionalId] = []
    withheld: list[WithheldEvidence] = []
    redactions: list[Redaction] = []


class SubmitResponse(CaseCommandBase):
    type: Literal["SubmitResponse"] = "SubmitResponse"
    statement: Personal


class AppointPanel(CaseCommandBase):
    type: Literal["AppointPanel"] = "AppointPanel"
    members: list[PanelMember] = Field(min_length=1)


class ScheduleHearing(CaseCommandBase):
    type: Literal["ScheduleHearing"] = "ScheduleHearing"
    at: AwareDatetime
    location: LineText


class RecordHearingHeld(CaseCommandBase):
    type: Literal["RecordHearingHeld"] = "RecordHearingHeld"
    attendees: list[PersonId]
    companion: Personal | None = None
    respondent_attended: bool


class RecordDecision(CaseCommandBase):
    type: Literal["RecordDecision"] = "RecordDecision"
    findings: list[Finding] = Field(min_length=1)
    automated_detection: bool = False
    automated_decision: AutomatedDecision = AutomatedDecision.NOT_AUTOMATED
    how_to_appeal: FreeText
    # Case ids of the respondent's prior sanctions the decision relies on as aggravating
    # (each must be current: ACAS 19-21).
    aggravating_priors: list[IdText] = Field(default=[], max_length=MAX_PRIOR_SANCTIONS)
    # Read by the engine (the case workflow) from the respondent's recorded cases, never
    # sent by a caller (refuse_caller_priors); None: not read, nothing weighed.
    respondent_record: RespondentRecord | None = None


class LodgeAppeal(CaseCommandBase):
    type: Literal["LodgeAppeal"] = "LodgeAppeal"
    grounds: Personal


class AppointAppealPanel(CaseCommandBase):
    type: Literal["AppointAppealPanel"] = "AppointAppealPanel"
    members: list[PanelMember] = Field(min_length=1)


class DecideAppeal(CaseCommandBase):
    type: Literal["DecideAppeal"] = "DecideAppeal"
    outcome: AppealOutcome
    reasons: FreeText
    new_sanction: Sanction | None = None  # required for, and only for, sanction_varied


class CarryOutSanction(CaseCommandBase):
    type: Literal["CarryOutSanction"] = "CarryOutSanction"


class Reinstate(CaseCommandBase):
    type: Literal["Reinstate"] = "Reinstate"
    apology: OptionalText | None = None


class CloseCase(CaseCommandBase):
    type: Literal["CloseCase"] = "CloseCase"


class RecordInstruction(CaseCommandBase):
    """Put on the record a contact about the case, either way (invariant 5).

    Received: an instruction, comment or referral that reached the case (a general
    secretary's email, a police unit's referral); ``from_*`` is the sender. Sent: a
    referral or disclosure from the case (to the police, a regulator, a party office);
    ``from_*`` is the staff member who sent it and ``to_*``/``outside_body`` the recipient.
    The decider notes whether the sender is assigned to the case, so the audit surfaces
    every contact from outside it (EHRC 2020: political interference).
    """

    type: Literal["RecordInstruction"] = "RecordInstruction"
    from_person_id: PersonId
    from_role: IdText  # e.g. "general_secretary"
    channel: LineText  # email, phone, meeting...
    content: Personal  # subject_id = from_person_id
    received_at: AwareDatetime  # when it was received, or sent
    direction: ContactDirection = ContactDirection.RECEIVED
    kind: ContactKind = ContactKind.INSTRUCTION
    outside_body: OptionalLine | None = None  # e.g. "Metropolitan Police Online Hate Crime Hub"
    to_person_id: PersonId | None = None
    to_role: OptionalId | None = None
    shared: OptionalText | None = None  # what was shared, described without personal data
    shared_evidence_ids: list[OptionalId] = []  # items of the case file passed on


class GiveDataCollectionNotice(CaseCommandBase):
    """Tell a person that data about them came from another source (GDPR Art 14)."""

    type: Literal["GiveDataCollectionNotice"] = "GiveDataCollectionNotice"
    subject_id: PersonId
    evidence_ids: list[OptionalId] = Field(min_length=1)
    channel: LineText = "notification"  # how it reached them when they are not a party


class RecordNoticeExemption(CaseCommandBase):
    """Record why no Art 14 notice is given (Art 14(5), or a restriction under Art 23)."""

    type: Literal["RecordNoticeExemption"] = "RecordNoticeExemption"
    subject_id: PersonId
    evidence_ids: list[OptionalId] = Field(min_length=1)
    exemption: NoticeExemption
    legal_basis: LineText  # the provision relied on, e.g. "UK DPA 2018 Sch 2 para 2"
    reasons: FreeText


class CorrectRecord(CaseCommandBase):
    """Put right what the record got wrong, with an optional apology to the person wronged
    (the reporter for a dismissal of their report, a warning or a hold; else the
    respondent).

    The log is immutable: the corrected event stays and the correction follows it, naming
    it. A corrected outcome no longer stands anywhere (prior sanctions, standing, the
    reporter's record, statements of reasons); for a decision, appeal decision or sanction
    ``replaced_by`` is the sanction that stands instead (None: none). Also accepted on a
    closed case, where corrections are most often needed (issue 15: an account disabled,
    later called an automation error, never corrected).
    """

    type: Literal["CorrectRecord"] = "CorrectRecord"
    corrects: CorrectedRecord
    what_was_wrong: FreeText
    correction: FreeText
    automation_error: bool = False  # the automated detector that filed the report erred
    apology: OptionalText | None = None
    replaced_by: Sanction | None = None  # refused unless the record has a sanction


CaseCommand = Annotated[
    FileReport | AcknowledgeReport | TriageCase | AssignInvestigator | AddEvidence
    | ImposeInterimSuspension | RenewInterimSuspension | LiftInterimSuspension
    | IssueNotice | DiscloseEvidence | SubmitResponse | AppointPanel | ScheduleHearing
    | RecordHearingHeld | RecordDecision | LodgeAppeal | AppointAppealPanel | DecideAppeal
    | CarryOutSanction | Reinstate | CloseCase | RecordInstruction | CorrectRecord
    | EscalateMissedDeadline | LapseInterimSuspension | CloseAppealWindow | EndSanction
    | GiveDataCollectionNotice | RecordNoticeExemption | EscalateMissedCollectionNotice
    | WarnReporter | HoldReport | ContestHold | DecideHoldContest | ReleaseHold,
    Field(discriminator="type"),
]

CASE_COMMAND_ADAPTER: TypeAdapter[CaseCommand] = TypeAdapter(CaseCommand)

_ALL_COMMANDS: tuple[type[CaseCommandBase], ...] = (
    FileReport, AcknowledgeReport, TriageCase, AssignInvestigator, AddEvidence,
    ImposeInterimSuspension, RenewInterimSuspension, LiftInterimSuspension,
    IssueNotice, DiscloseEvidence, SubmitResponse, AppointPanel, ScheduleHearing,
    RecordHearingHeld, RecordDecision, LodgeAppeal, AppointAppealPanel, DecideAppeal,
    CarryOutSanction, Reinstate, CloseCase, RecordInstruction, CorrectRecord, *TIMER_COMMANDS,
    GiveDataCollectionNotice, RecordNoticeExemption, WarnReporter, HoldReport, ContestHold,
    DecideHoldContest, ReleaseHold,
)
COMMAND_TYPES: dict[str, type[CaseCommandBase]] = {cls.__name__: cls for cls in _ALL_COMMANDS}
