"""Case state and the one fold over case events.

``evolve`` is total and rule-free: it records facts whatever order they arrive in,
because audit and projections replay histories that rules may since have changed.
Every judgement belongs in decide().
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .collection import record_collection
from .corrections import note_position, resolved
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
from .measures import interim_rights, record_measure
from .reporting import record_reporting
from .state_model import CaseStage, CaseState, InterimSuspension
from .values import Admissibility, CorrectedRecord

__all__ = ["CaseStage", "CaseState", "InterimSuspension", "evolve", "fold", "state_from_payloads"]

# The role name from case_roles (which imports this module, so it cannot be imported here).
_CASE_OFFICER = "case_officer"


def fold(events: Iterable[CaseEvent], state: CaseState) -> CaseState:
    for event in events:
        state = evolve(state, event)
    return state


def state_from_payloads(case_id: str, payloads: Iterable[Mapping[str, Any]]) -> CaseState:
    """The case as stored: event payloads (current shape, in stream order) folded."""
    return fold((CASE_EVENT_ADAPTER.validate_python(p) for p in payloads),
                CaseState.empty(case_id))


def evolve(state: CaseState, event: CaseEvent) -> CaseState:
    if isinstance(event, RecordCorrected):  # a v1 correction: the event it meant, named
        event = resolved(state.on_record, event)
    # The report's hold sets the stage, so it is folded before the stage is derived.
    changed = state.model_copy(update={
        **_changes(state, event), "reporting": record_reporting(state.reporting, event)})
    as_of = event.effective_at if state.as_of is None else max(state.as_of, event.effective_at)
    seq = state.events_folded + 1
    update: dict[str, Any] = {
        "as_of": as_of, "stage": _stage(changed), "events_folded": seq,
        "measures": record_measure(state.measures, event, seq, changed.procedure),
        "collection": record_collection(state.collection, event),
        "on_record": note_position(state.on_record, event, seq)}
    if event.actor.role == _CASE_OFFICER:
        update["officers_ever"] = state.officers_ever | {event.actor.id}
    return changed.model_copy(update=update)


def slim_report(event: ReportFiled) -> ReportFiled:
    """The report as a case holds it: each pinned version keeps the procedure (deadlines,
    statuses, evidence policy) whole but only the rules its allegations cite (a version
    must hold one, so a version citing none keeps its first). A published version may hold
    hundreds of rules; a case needs its own few, and every cached case workflow held them
    all (issue 14). The stored event keeps every pinned version whole (audit reads it)."""
    cited = {a.rule_id for a in event.allegations}
    versions = []
    for version in event.pinned_versions:
        rules = [r for r in version.rules if r.rule_id in cited] or version.rules[:1]
        versions.append(version if len(rules) == len(version.rules)
                        else version.model_copy(update={"rules": rules}))
    return event.model_copy(update={"pinned_versions": versions})


def _changes(state: CaseState, event: CaseEvent) -> dict[str, Any]:
    match event:
        case ReportFiled():
            return {"report": slim_report(event),
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
            return {"closed": True, "closed_at": state.closed_at or event.effective_at}
        case InstructionRecorded():
            return {"instructions": (*state.instructions, event)}
        case RecordCorrected():
            return _corrected(state, event)
    return {}


def _corrected(state: CaseState, event: RecordCorrected) -> dict[str, Any]:
    changes: dict[str, Any] = {"corrections": (*state.corrections, event)}
    # A live interim suspension found wrong no longer holds (its measure is voided too).
    if event.corrects is CorrectedRecord.INTERIM_SUSPENSION and state.interim is not None \
            and event.corrects_version == state.on_record.get(event.corrects):
        changes["interim"] = None
    return changes


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
        (state.reporting.held, CaseStage.HELD),
        (state.acknowledged_at is not None, CaseStage.ACKNOWLEDGED),
    ]
    return next((stage for hit, stage in checks if hit), CaseStage.REPORTED)
