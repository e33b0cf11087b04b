"""Who may issue which case command, as data.

A role is claimed by the caller (``Actor.role``) and checked here against the case:
the respondent must be the respondent, a panel member must sit on the appointed panel.
Nobody may act as staff in a case where they are a party (nemo iudex in causa sua).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..base import Actor, ActorKind, NotPermitted
from .commands import CaseCommandBase, FileReport, TriageCase
from .state import CaseState
from .values import ComplainantKind

COMPLAINANT = "complainant"
INTAKE = "intake"  # the back-office intake service
DETECTOR = "detector"  # an automated detector filing its own flags
CASE_OFFICER = "case_officer"
INVESTIGATOR = "investigator"
PANEL_MEMBER = "panel_member"
APPEAL_PANEL_MEMBER = "appeal_panel_member"
RESPONDENT = "respondent"
SYSTEM = "system"  # durable timers

ROLES: frozenset[str] = frozenset({
    COMPLAINANT, INTAKE, DETECTOR, CASE_OFFICER, INVESTIGATOR, PANEL_MEMBER,
    APPEAL_PANEL_MEMBER, RESPONDENT, SYSTEM,
})

STAFF_ROLES: frozenset[str] = frozenset({
    INTAKE, CASE_OFFICER, INVESTIGATOR, PANEL_MEMBER, APPEAL_PANEL_MEMBER,
})


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType({
    "FileReport": _roles(COMPLAINANT, INTAKE, DETECTOR),
    "AcknowledgeReport": _roles(INTAKE, CASE_OFFICER),
    "TriageCase": _roles(CASE_OFFICER),
    "AssignInvestigator": _roles(CASE_OFFICER),
    "AddEvidence": _roles(CASE_OFFICER, INVESTIGATOR),
    "ImposeInterimSuspension": _roles(CASE_OFFICER),
    "RenewInterimSuspension": _roles(CASE_OFFICER),
    "LiftInterimSuspension": _roles(CASE_OFFICER),
    "IssueNotice": _roles(CASE_OFFICER, INVESTIGATOR),
    "DiscloseEvidence": _roles(CASE_OFFICER, INVESTIGATOR),
    "SubmitResponse": _roles(RESPONDENT),
    "AppointPanel": _roles(CASE_OFFICER),
    "ScheduleHearing": _roles(CASE_OFFICER),
    "RecordHearingHeld": _roles(CASE_OFFICER, PANEL_MEMBER),
    "RecordDecision": _roles(PANEL_MEMBER),
    "LodgeAppeal": _roles(RESPONDENT),
    "AppointAppealPanel": _roles(CASE_OFFICER),
    "DecideAppeal": _roles(APPEAL_PANEL_MEMBER),
    "CarryOutSanction": _roles(CASE_OFFICER),
    "Reinstate": _roles(CASE_OFFICER),
    "CloseCase": _roles(CASE_OFFICER),
    "RecordInstruction": _roles(CASE_OFFICER, INVESTIGATOR, PANEL_MEMBER, APPEAL_PANEL_MEMBER),
    "CorrectRecord": _roles(CASE_OFFICER),
    "EscalateMissedDeadline": _roles(SYSTEM),
    "LapseInterimSuspension": _roles(SYSTEM),
    "CloseAppealWindow": _roles(SYSTEM),
    "EndSanction": _roles(SYSTEM),
    "GiveDataCollectionNotice": _roles(CASE_OFFICER, INVESTIGATOR),
    "RecordNoticeExemption": _roles(CASE_OFFICER),
    "EscalateMissedCollectionNotice": _roles(SYSTEM),
    "WarnReporter": _roles(SYSTEM),
    "HoldReport": _roles(SYSTEM),
    "ReleaseHold": _roles(SYSTEM),
    "ContestHold": _roles(COMPLAINANT),
    "DecideHoldContest": _roles(CASE_OFFICER),
})

# Which kinds of actor may hold each role; everything not listed is a person's job.
ROLE_KINDS: Mapping[str, frozenset[ActorKind]] = MappingProxyType({
    SYSTEM: frozenset({ActorKind.SYSTEM}),
    DETECTOR: frozenset({ActorKind.AUTOMATED}),
    INTAKE: frozenset({ActorKind.PERSON, ActorKind.SYSTEM}),
})


def check_permission(state: CaseState, command: CaseCommandBase) -> None:
    """Raise NotPermitted unless the actor's role may issue this command in this case."""
    actor = command.actor
    if isinstance(command, TriageCase) and actor.kind is not ActorKind.PERSON:
        raise NotPermitted("triage must be done by a named person",
                           rule="human-triage-of-automated-reports", field="actor.kind")
    if actor.role not in PERMISSIONS.get(command.type, frozenset()):
        raise NotPermitted(f"role {actor.role!r} may not issue {command.type}",
                           rule="role-permission", field="actor.role")
    if actor.kind not in ROLE_KINDS.get(actor.role, frozenset({ActorKind.PERSON})):
        raise NotPermitted(f"a {actor.kind.value} actor may not act as {actor.role!r}",
                           rule="role-permission", field="actor.kind")
    problem = _binding_problem(state, command, actor)
    if problem is not None:
        raise NotPermitted(problem, rule="role-permission", field="actor.id")
    if actor.role in STAFF_ROLES and actor.id in _parties(state, command):
        raise NotPermitted(f"{actor.id!r} is a party to this case and may not act as staff",
                           rule="no-judge-in-own-cause", field="actor.id")


def _binding_problem(state: CaseState, command: CaseCommandBase, actor: Actor) -> str | None:
    role = actor.role
    if role in (COMPLAINANT, DETECTOR) and isinstance(command, FileReport):
        return _filer_problem(command, actor)
    if role == COMPLAINANT:
        complainant = state.complainant
        if complainant is None or complainant.person_id != actor.id:
            return "only the complainant may act as complainant"
    if role == RESPONDENT:
        respondent = state.respondent
        if respondent is None or respondent.person_id != actor.id:
            return "only the respondent may act as respondent"
    if role == INVESTIGATOR and state.investigator_id != actor.id:
        return "only the assigned investigator may act as investigator"
    if role == PANEL_MEMBER and actor.id not in state.panel_ids:
        return "only an appointed panel member may act as panel member"
    if role == APPEAL_PANEL_MEMBER and actor.id not in state.appeal_panel_ids:
        return "only an appointed appeal panel member may act as appeal panel member"
    return None


def _filer_problem(command: FileReport, actor: Actor) -> str | None:
    if command.complainant.person_id != actor.id:
        return "a complainant files in their own name"
    automated = command.complainant.kind is ComplainantKind.AUTOMATED_DETECTOR
    if (actor.role == DETECTOR) != automated:
        return "detectors file automated_detector reports, and only they do"
    return None


def _parties(state: CaseState, command: CaseCommandBase) -> frozenset[str]:
    if isinstance(command, FileReport):
        return frozenset({command.complainant.person_id, command.respondent.person_id})
    return state.party_ids
