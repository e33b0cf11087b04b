"""The case state the one fold (domain/case/state.py: ``evolve``) builds: its stages, the
live interim suspension, and the facts and derived views decide() and audit read."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ..base import Model
from ..policy import PolicyVersion, Right, Rule
from .collection import CollectionNotices
from .corrections import standing_sanction
from .events import (
    AppealDecided,
    AppealLodged,
    CaseDismissed,
    CaseTriaged,
    DecisionRecorded,
    HearingHeld,
    HearingScheduled,
    InstructionRecorded,
    MemberReinstated,
    NoticeIssued,
    RecordCorrected,
    ReportFiled,
    ResponseSubmitted,
    SanctionApplied,
)
from .measures import MeasureHistory
from .reporting import Reporting
from .values import (
    AppealOutcome,
    Complainant,
    CorrectedRecord,
    EvidenceItem,
    PanelMember,
    Redaction,
    Respondent,
    Sanction,
)


class CaseStage(StrEnum):
    NEW = "new"
    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
    HELD = "held"  # a repeat reporter's report, recorded but not processed (DSA Art 23)
    DISMISSED = "dismissed"
    UNDER_INVESTIGATION = "under_investigation"
    NOTICE_ISSUED = "notice_issued"
    HEARING_SCHEDULED = "hearing_scheduled"
    HEARING_HELD = "hearing_held"
    DECIDED = "decided"
    UNDER_APPEAL = "under_appeal"
    APPEAL_DECIDED = "appeal_decided"
    SANCTION_IN_EFFECT = "sanction_in_effect"
    SANCTION_ENDED = "sanction_ended"
    REINSTATED = "reinstated"
    CLOSED = "closed"


class InterimSuspension(Model):
    imposed_at: datetime
    review_by: datetime
    reasons: str
    rights_removed: frozenset[Right]


class CaseState(Model):
    case_id: str
    stage: CaseStage = CaseStage.NEW
    as_of: datetime | None = None  # latest effective_at folded: records go in order
    report: ReportFiled | None = None
    evidence: dict[str, EvidenceItem] = {}
    inadmissible: dict[str, str] = {}  # evidence_id -> reason; never relied on
    acknowledged_at: datetime | None = None
    triage: CaseTriaged | None = None
    dismissal: CaseDismissed | None = None
    investigator_id: str | None = None
    investigators_ever: frozenset[str] = frozenset()
    interim: InterimSuspension | None = None  # the active one
    notice: NoticeIssued | None = None
    disclosed_at: dict[str, datetime] = {}  # evidence_id -> first disclosed to respondent
    withheld: dict[str, str] = {}  # evidence_id -> recorded reason
    redactions: tuple[Redaction, ...] = ()
    last_disclosure_at: datetime | None = None
    response: ResponseSubmitted | None = None
    missed: frozenset[str] = frozenset()  # deadline kinds already escalated
    panel: tuple[PanelMember, ...] = ()
    panel_ever: frozenset[str] = frozenset()
    hearing: HearingScheduled | None = None
    hearing_held: HearingHeld | None = None
    decision: DecisionRecorded | None = None
    appeal_window_closed: bool = False
    appeal: AppealLodged | None = None
    appeal_panel: tuple[PanelMember, ...] = ()
    appeal_panel_ever: frozenset[str] = frozenset()
    appeal_decision: AppealDecided | None = None
    sanction: SanctionApplied | None = None
    sanction_ended: bool = False
    reinstated: MemberReinstated | None = None
    closed: bool = False
    closed_at: datetime | None = None  # retention periods run from here
    officers_ever: frozenset[str] = frozenset()  # case officers who have acted on the case
    instructions: tuple[InstructionRecorded, ...] = ()  # invariant 5: on the record
    corrections: tuple[RecordCorrected, ...] = ()  # what was put right, after the fact
    # The ordinal of the latest event of each kind a correction can name (corrections.py).
    on_record: dict[CorrectedRecord, int] = {}
    # Every measure over time, for standing's as-of/as-known-on views; its facts cite
    # events by ordinal: events_folded after that event.
    events_folded: int = 0
    measures: MeasureHistory = MeasureHistory()
    collection: CollectionNotices = CollectionNotices()  # GDPR Art 14 notices
    reporting: Reporting = Reporting()  # DSA Art 23: a warning given here, this report's hold

    @classmethod
    def empty(cls, case_id: str) -> CaseState:
        return cls(case_id=case_id)

    @property
    def complainant(self) -> Complainant | None:
        return self.report.complainant if self.report else None

    @property
    def respondent(self) -> Respondent | None:
        return self.report.respondent if self.report else None

    @property
    def automated_report(self) -> bool:
        return self.report is not None and self.report.automated

    @property
    def human_triaged(self) -> bool:
        return self.triage is not None or self.dismissal is not None

    @property
    def panel_ids(self) -> frozenset[str]:
        return frozenset(member.member_id for member in self.panel)

    @property
    def appeal_panel_ids(self) -> frozenset[str]:
        return frozenset(member.member_id for member in self.appeal_panel)

    @property
    def witness_ids(self) -> frozenset[str]:
        return frozenset(e.witness_id for e in self.evidence.values() if e.witness_id)

    @property
    def assigned_ids(self) -> frozenset[str]:
        """Staff with a part in the case now: investigator, panels, officers who acted.

        Case officers are not assigned per case, so acting on it is what makes one part
        of it. Anyone else instructing or commenting on the case is outside it.
        """
        investigator = frozenset({self.investigator_id}) if self.investigator_id else frozenset()
        return investigator | self.panel_ids | self.appeal_panel_ids | self.officers_ever

    @property
    def party_ids(self) -> frozenset[str]:
        if self.report is None:
            return frozenset()
        return frozenset({self.report.complainant.person_id, self.report.respondent.person_id})

    def pinned(self, version: str) -> PolicyVersion | None:
        if self.report is None:
            return None
        return next((v for v in self.report.pinned_versions if v.version == version), None)

    @property
    def procedure(self) -> PolicyVersion | None:
        return self.pinned(self.report.procedure_version) if self.report else None

    def rule_for(self, allegation_id: str) -> tuple[PolicyVersion, Rule] | None:
        """The rule an allegation cites, in the version in force on its conduct date."""
        if self.report is None:
            return None
        allegation = next(
            (a for a in self.report.allegations if a.allegation_id == allegation_id), None)
        version = self.pinned(self.report.rule_versions.get(allegation_id, ""))
        if allegation is None or version is None:
            return None
        rule = version.find_rule(allegation.rule_id)
        return (version, rule) if rule is not None else None

    @property
    def effective_sanction(self) -> Sanction | None:
        """The sanction standing after any appeal and any correction of the outcome."""
        if self.decision is None:
            return None
        return standing_sanction(self, self.decided_sanction)

    @property
    def decided_sanction(self) -> Sanction | None:
        if self.appeal_decision is None or self.appeal_decision.outcome is AppealOutcome.DISMISSED:
            return self.decision.sanction if self.decision else None
        if self.appeal_decision.outcome is AppealOutcome.SANCTION_VARIED:
            return self.appeal_decision.new_sanction
        return None

    @property
    def sanction_in_effect(self) -> bool:
        return self.sanction is not None and not self.sanction_ended and self.reinstated is None

    @property
    def rights_removed(self) -> frozenset[Right]:
        removed: frozenset[Right] = frozenset()
        if self.interim is not None:
            removed |= self.interim.rights_removed
        # A sanction corrected away removes nothing (one replaced: standing gives its rights).
        if self.sanction is not None and self.sanction_in_effect \
                and standing_sanction(self, self.sanction.sanction) is not None:
            removed |= frozenset(self.sanction.rights_removed)
        return removed
