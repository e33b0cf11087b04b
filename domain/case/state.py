"""Case state and the one fold over case events.

``evolve`` is total and rule-free: it records facts whatever order they arrive in,
because audit and projections replay histories that rules may since have changed.
Every judgement belongs in decide().
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..base import Model
from ..policy import PolicyVersion, Right, Rule
from .collection import CollectionNotices, record_collection
from .events import (
    CASE_EVENT_ADAPTER,
    AppealDecided,
    AppealLodged,
    AppealPanelAppointed,
    AppealWindowClosed,
    CaseClosed,
    CaseDismissed,
    CaseEvent,
    CaseTriaged,
    DeadlineMissed,
    DecisionRecorded,
    EvidenceAdded,
    EvidenceDisclosed,
    HearingHeld,
    HearingScheduled,
    InstructionRecorded,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    InvestigatorAssigned,
    MemberReinstated,
    NoticeIssued,
    PanelAppointed,
    RecordCorrected,
    ReportAcknowledged,
    ReportFiled,
    ResponseSubmitted,
    SanctionApplied,
    SanctionEnded,
)
from .measures import MeasureHistory, interim_rights, record_measure
from .values import (
    Admissibility,
    AppealOutcome,
    Complainant,
    EvidenceItem,
    PanelMember,
    Redaction,
    Respondent,
    Sanction,
)

# The role name from case_roles (which imports this module, so it cannot be imported here).
_CASE_OFFICER = "case_officer"


class CaseStage(StrEnum):
    NEW = "new"
    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
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
    officers_ever: frozenset[str] = frozenset()  # case officers who have acted on the case
    instructions: tuple[InstructionRecorded, ...] = ()  # invariant 5: on the record
    corrections: tuple[RecordCorrected, ...] = ()  # what was put right, after the fact
    # Every measure over time, for standing's as-of/as-known-on views; its facts cite
    # events by ordinal: events_folded after that event.
    events_folded: int = 0
    measures: MeasureHistory = MeasureHistory()
    collection: CollectionNotices = CollectionNotices()  # GDPR Art 14 notices

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
        """The sanction standing after any appeal."""
        if self.decision is None:
            return None
        if self.appeal_decision is None or self.appeal_decision.outcome is AppealOutcome.DISMISSED:
            return self.decision.sanction
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
        if self.sanction is not None and self.sanction_in_effect:
            removed |= frozenset(self.sanction.rights_removed)
        return removed


def fold(events: Iterable[CaseEvent], state: CaseState) -> CaseState:
    for event in events:
        state = evolve(state, event)
    return state


def state_from_payloads(case_id: str, payloads: Iterable[Mapping[str, Any]]) -> CaseState:
    """The case as stored: event payloads (current shape, in stream order) folded."""
    return fold((CASE_EVENT_ADAPTER.validate_python(p) for p in payloads),
                CaseState.empty(case_id))


def evolve(state: CaseState, event: CaseEvent) -> CaseState:
    changed = state.model_copy(update=_changes(state, event))
    as_of = event.effective_at if state.as_of is None else max(state.as_of, event.effective_at)
    seq = state.events_folded + 1
    update: dict[str, Any] = {
        "as_of": as_of, "stage": _stage(changed), "events_folded": seq,
        "measures": record_measure(state.measures, event, seq, changed.procedure),
        "collection": record_collection(state.collection, event)}
    if event.actor.role == _CASE_OFFICER:
        update["officers_ever"] = state.officers_ever | {event.actor.id}
    return changed.model_copy(update=update)


def _changes(state: CaseState, event: CaseEvent) -> dict[str, Any]:
    match event:
        case ReportFiled():
            return {"report": event,
                    "evidence": {**state.evidence, **{e.evidence_id: e for e in event.evidence}},
                    "inadmissible": _inadmissible(state, event.admissibility)}
        case ReportAcknowledged():
            return {"acknowledged_at": state.acknowledged_at or event.effective_at}
        case CaseTriaged():
            return {"triage": event}
        case CaseDismissed():
            return {"dismissal": event}
        case InvestigatorAssigned():
            return {"investigator_id": event.investigator_id,
                    "investigators_ever": state.investigators_ever | {event.investigator_id}}
        case EvidenceAdded():
            return {"evidence": {**state.evidence, **{e.evidence_id: e for e in event.evidence}},
                    "inadmissible": _inadmissible(state, event.admissibility)}
        case InterimSuspensionImposed():
            return {"interim": _interim(event)}
        case InterimSuspensionRenewed():
            return _renewed(state, event)
        case InterimSuspensionLifted() | InterimSuspensionLapsed():
            return {"interim": None}
        case NoticeIssued():
            return {"notice": event}
        case EvidenceDisclosed():
            return _disclosed(state, event)
        case ResponseSubmitted():
            return {"response": event}
        case DeadlineMissed():
            return {"missed": state.missed | {event.kind}}
        case PanelAppointed():
            return {"panel": tuple(event.members),
                    "panel_ever": state.panel_ever | {m.member_id for m in event.members}}
        case HearingScheduled():
            return {"hearing": event}
        case HearingHeld():
            return {"hearing_held": event}
        case DecisionRecorded():
            return {"decision": event, "interim": None}
        case AppealLodged():
            return {"appeal": event}
        case AppealWindowClosed():
            return {"appeal_window_closed": True}
        case AppealPanelAppointed():
            return {"appeal_panel": tuple(event.members),
                    "appeal_panel_ever": state.appeal_panel_ever
                    | {m.member_id for m in event.members}}
        case AppealDecided():
            return {"appeal_decision": event}
        case SanctionApplied():
            return {"sanction": event, "sanction_ended": False}
        case SanctionEnded():
            return {"sanction_ended": True}
        case MemberReinstated():
            return {"reinstated": event, "interim": None}
        case CaseClosed():
            return {"closed": True}
        case InstructionRecorded():
            return {"instructions": (*state.instructions, event)}
        case RecordCorrected():
            return {"corrections": (*state.corrections, event)}
    return {}


def _inadmissible(state: CaseState, rulings: list[Admissibility]) -> dict[str, str]:
    merged = dict(state.inadmissible)
    for ruling in rulings:
        if ruling.admissible:
            merged.pop(ruling.evidence_id, None)
        else:
            merged[ruling.evidence_id] = ruling.reason or "inadmissible"
    return merged


def _interim(event: InterimSuspensionImposed) -> InterimSuspension:
    return InterimSuspension(imposed_at=event.effective_at, review_by=event.review_by,
                             reasons=event.reasons, rights_removed=frozenset(event.rights_removed))


def _renewed(state: CaseState, event: InterimSuspensionRenewed) -> dict[str, Any]:
    if state.interim is None:
        # A renewal without a recorded imposition is still a fact: keep the review date
        # with the rights the pinned policy removes, so the record shows a live measure.
        return {"interim": InterimSuspension(imposed_at=event.effective_at,
                                             review_by=event.review_by, reasons=event.reasons,
                                             rights_removed=interim_rights(state.procedure))}
    return {"interim": state.interim.model_copy(
        update={"review_by": event.review_by, "reasons": event.reasons})}


def _disclosed(state: CaseState, event: EvidenceDisclosed) -> dict[str, Any]:
    disclosed = dict(state.disclosed_at)
    for evidence_id in event.evidence_ids:
        disclosed.setdefault(evidence_id, event.effective_at)
    withheld = {k: v for k, v in state.withheld.items() if k not in disclosed}
    withheld.update({w.evidence_id: w.reason for w in event.withheld})
    return {"disclosed_at": disclosed, "withheld": withheld,
            "redactions": state.redactions + tuple(event.redactions),
            "last_disclosure_at": event.effective_at}


def _stage(state: CaseState) -> CaseStage:
    checks: list[tuple[bool, CaseStage]] = [
        (state.closed, CaseStage.CLOSED),
        (state.report is None, CaseStage.NEW),
        (state.dismissal is not None, CaseStage.DISMISSED),
        (state.reinstated is not None, CaseStage.REINSTATED),
        (state.sanction is not None and state.sanction_ended, CaseStage.SANCTION_ENDED),
        (state.sanction is not None, CaseStage.SANCTION_IN_EFFECT),
        (state.appeal_decision is not None, CaseStage.APPEAL_DECIDED),
        (state.appeal is not None, CaseStage.UNDER_APPEAL),
        (state.decision is not None, CaseStage.DECIDED),
        (state.hearing_held is not None, CaseStage.HEARING_HELD),
        (state.hearing is not None, CaseStage.HEARING_SCHEDULED),
        (state.notice is not None, CaseStage.NOTICE_ISSUED),
        (state.triage is not None, CaseStage.UNDER_INVESTIGATION),
        (state.acknowledged_at is not None, CaseStage.ACKNOWLEDGED),
    ]
    return next((stage for hit, stage in checks if hit), CaseStage.REPORTED)
