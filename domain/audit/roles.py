"""Who acted: whether each act came from someone assigned to the case in that role."""

from __future__ import annotations

from typing import Any

from ..base import ActorKind
from ..case.events import InstructionRecorded, ReportFiled
from ..case.roles import (
    APPEAL_PANEL_MEMBER,
    COMPLAINANT,
    DETECTOR,
    INVESTIGATOR,
    PANEL_MEMBER,
    PERMISSIONS,
    RESPONDENT,
    ROLE_KINDS,
    ROLES,
    STAFF_ROLES,
)
from .context import Entry
from .results import iso

# The commands whose permissions govern who may record each event.
_COMMANDS_FOR: dict[str, tuple[str, ...]] = {
    "ReportFiled": ("FileReport",), "ReportAcknowledged": ("AcknowledgeReport",),
    "CaseTriaged": ("TriageCase",), "CaseDismissed": ("TriageCase",),
    "InvestigatorAssigned": ("AssignInvestigator",), "EvidenceAdded": ("AddEvidence",),
    "InterimSuspensionImposed": ("ImposeInterimSuspension",),
    "InterimSuspensionRenewed": ("RenewInterimSuspension",),
    "InterimSuspensionLifted": ("LiftInterimSuspension",),
    "InterimSuspensionLapsed": ("LapseInterimSuspension",), "NoticeIssued": ("IssueNotice",),
    "EvidenceDisclosed": ("DiscloseEvidence",), "ResponseSubmitted": ("SubmitResponse",),
    "DeadlineMissed": ("EscalateMissedDeadline",), "PanelAppointed": ("AppointPanel",),
    "HearingScheduled": ("ScheduleHearing",), "HearingHeld": ("RecordHearingHeld",),
    "DecisionRecorded": ("RecordDecision",), "AppealLodged": ("LodgeAppeal",),
    "AppealWindowClosed": ("CloseAppealWindow",), "AppealPanelAppointed": ("AppointAppealPanel",),
    "AppealDecided": ("DecideAppeal",), "SanctionApplied": ("CarryOutSanction",),
    "SanctionEnded": ("EndSanction",), "MemberReinstated": ("Reinstate", "EndSanction"),
    "CaseClosed": ("CloseCase",), "InstructionRecorded": ("RecordInstruction",),
    "DataCollectionNoticeGiven": ("GiveDataCollectionNotice",),
    "DataCollectionNoticeExempted": ("RecordNoticeExemption",),
    "DataCollectionNoticeMissed": ("EscalateMissedCollectionNotice",),
    "RecordCorrected": ("CorrectRecord",), "ReporterWarned": ("WarnReporter",),
    "ReportHeld": ("HoldReport",), "HoldContested": ("ContestHold",),
    "HoldContestDecided": ("DecideHoldContest",),
    "HoldReleased": ("ReleaseHold", "DecideHoldContest"),
}


def _allowed_roles(event_type: str) -> frozenset[str]:
    roles: frozenset[str] = frozenset()
    for command in _COMMANDS_FOR.get(event_type, ()):
        roles |= PERMISSIONS.get(command, frozenset())
    return roles


def outside_case(entry: Entry[Any]) -> str | None:
    """Why this act came from someone not assigned to the case in that role, or None.

    Case officers are not assigned per case (any case officer may act), so for them only
    the role, kind and party rules apply; investigators and panels are bound to the case.
    """
    actor, state, event = entry.record.actor, entry.before, entry.event
    if actor.role not in ROLES:
        return f"{actor.id!r} acted as {actor.role!r}, a role with no part in case procedure"
    if actor.role not in _allowed_roles(entry.record.event_type):
        return f"{actor.id!r} recorded {entry.record.event_type} as {actor.role}, which that " \
               "role may not do"
    if actor.kind not in ROLE_KINDS.get(actor.role, frozenset({ActorKind.PERSON})):
        return f"a {actor.kind.value} actor {actor.id!r} acted as {actor.role}"
    parties = {event.complainant.person_id, event.respondent.person_id} \
        if isinstance(event, ReportFiled) else state.party_ids
    if actor.role in STAFF_ROLES and actor.id in parties:
        return f"{actor.id!r} is a party to the case but acted as {actor.role}"
    return _binding_problem(entry)


def _binding_problem(entry: Entry[Any]) -> str | None:
    actor, state, event = entry.record.actor, entry.before, entry.event
    bound: dict[str, frozenset[str]] = {
        INVESTIGATOR: frozenset({state.investigator_id}) if state.investigator_id else frozenset(),
        PANEL_MEMBER: state.panel_ids,
        APPEAL_PANEL_MEMBER: state.appeal_panel_ids,
        RESPONDENT: frozenset({state.respondent.person_id}) if state.respondent else frozenset(),
    }
    if isinstance(event, ReportFiled):
        bound[COMPLAINANT] = bound[DETECTOR] = frozenset({event.complainant.person_id})
    elif state.complainant is not None:  # contesting a hold of their report
        bound[COMPLAINANT] = frozenset({state.complainant.person_id})
    assigned = bound.get(actor.role)
    if assigned is not None and actor.id not in assigned:
        return f"{actor.id!r} acted as {actor.role} but is not the {actor.role} assigned to " \
               "this case"
    return None


def sender_outside(entry: Entry[InstructionRecorded]) -> bool:
    """Whether an instruction came from someone not assigned to the case (invariant 5).

    Judged from the case as it stood when it was recorded, not only from the event's own
    ``sender_assigned``: a record may not vouch for itself.
    """
    event = entry.event
    return not (event.sender_assigned and event.from_person_id in entry.before.assigned_ids)


def instruction_text(event: InstructionRecorded) -> str:
    return (f"{event.from_person_id!r} ({event.from_role}) by {event.channel}, received "
            f"{iso(event.received_at)}")
