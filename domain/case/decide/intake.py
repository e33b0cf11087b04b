"""Deciders for intake, triage, investigation and interim measures."""

from __future__ import annotations

from datetime import date, datetime

from ...base import ActorKind, PolicyViolation
from ...policy import INTERIM_STATUS, PolicyDocument, PolicyVersion
from ...rules.evidence import admissibility
from ...rules.intake import DISMISSAL_REASON
from ..commands import (
    AcknowledgeReport,
    AddEvidence,
    AssignInvestigator,
    FileReport,
    ImposeInterimSuspension,
    LiftInterimSuspension,
    RenewInterimSuspension,
    TriageCase,
)
from ..events import (
    CaseDismissed,
    CaseEvent,
    CaseTriaged,
    EvidenceAdded,
    InterimSuspensionImposed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    InvestigatorAssigned,
    ReportAcknowledged,
    ReportFiled,
)
from ..state import CaseState
from ..values import ComplainantKind, TriageOutcome
from .common import meta, procedure


def file_report(state: CaseState, cmd: FileReport, at: datetime) -> list[CaseEvent]:
    if state.report is not None and _same_report(state.report, cmd):
        return []
    policy = cmd.policy
    if policy is None and state.report is not None:
        # A second, different report: built under the rulebook the case pinned, so the
        # rules judge (and refuse) it as they would a recorded one (case-already-reported).
        policy = PolicyDocument(policy_id=state.report.policy_id,
                                versions=state.report.pinned_versions)
    if policy is None:  # the workflow supplies the published rulebook (domain/rulebook.py)
        raise PolicyViolation("no published rulebook to judge the report under",
                              rule="published-rulebook-only", field="policy")
    in_force = _version_on(policy, at.date())
    charged = {a.allegation_id: _version_on(policy, a.conduct_date)
               for a in cmd.allegations}
    # Versions are pinned as found; the rules judge whether they are in force and hold the
    # rule charged, so a forged report is judged the same way.
    pinned = {v.version: v for v in [in_force, *charged.values()] if v is not None}
    automated = (cmd.complainant.kind is ComplainantKind.AUTOMATED_DETECTOR
                 or cmd.actor.kind is ActorKind.AUTOMATED)
    return [ReportFiled(
        **meta(cmd, at), case_id=state.case_id, complainant=cmd.complainant,
        respondent=cmd.respondent, allegations=cmd.allegations, evidence=cmd.evidence,
        admissibility=admissibility(in_force, cmd.evidence),
        good_faith_declaration=cmd.good_faith_declaration, automated=automated,
        policy_id=policy.policy_id,
        procedure_version=in_force.version if in_force else "",
        rule_versions={aid: v.version for aid, v in charged.items() if v is not None},
        pinned_versions=list(pinned.values()))]


def _same_report(report: ReportFiled, cmd: FileReport) -> bool:
    return (report.complainant, report.respondent, report.allegations, report.evidence) == (
        cmd.complainant, cmd.respondent, cmd.allegations, cmd.evidence)


def _version_on(policy: PolicyDocument, day: date) -> PolicyVersion | None:
    try:
        return policy.version_on(day)
    except PolicyViolation:
        return None


def acknowledge_report(state: CaseState, cmd: AcknowledgeReport, at: datetime) -> list[CaseEvent]:
    if state.acknowledged_at is not None:
        return []
    return [ReportAcknowledged(**meta(cmd, at))]


def triage_case(state: CaseState, cmd: TriageCase, at: datetime) -> list[CaseEvent]:
    if state.human_triaged and _same_triage(state, cmd):
        return []
    if (cmd.outcome is TriageOutcome.DISMISS) != (cmd.dismissal_reason is not None):
        message = "a dismissal needs a reason" if cmd.dismissal_reason is None \
            else "only a dismissal has a dismissal reason"
        raise DISMISSAL_REASON.refuse(message, "dismissal_reason")
    if cmd.dismissal_reason is not None:
        return [CaseDismissed(**meta(cmd, at), dismissal_reason=cmd.dismissal_reason,
                              reasons=cmd.reasons, reviewed_by=cmd.actor.id)]
    return [CaseTriaged(**meta(cmd, at), reasons=cmd.reasons, reviewed_by=cmd.actor.id)]


def _same_triage(state: CaseState, cmd: TriageCase) -> bool:
    if state.triage is not None:
        return cmd.outcome is TriageOutcome.INVESTIGATE and cmd.reasons == state.triage.reasons
    assert state.dismissal is not None
    return (cmd.outcome is TriageOutcome.DISMISS and cmd.reasons == state.dismissal.reasons
            and cmd.dismissal_reason == state.dismissal.dismissal_reason)


def assign_investigator(state: CaseState, cmd: AssignInvestigator,
                        at: datetime) -> list[CaseEvent]:
    if state.investigator_id == cmd.investigator_id:
        return []
    return [InvestigatorAssigned(**meta(cmd, at), investigator_id=cmd.investigator_id,
                                 replaces=state.investigator_id)]


def add_evidence(state: CaseState, cmd: AddEvidence, at: datetime) -> list[CaseEvent]:
    if all(state.evidence.get(e.evidence_id) == e for e in cmd.evidence):
        return []
    return [EvidenceAdded(**meta(cmd, at), evidence=cmd.evidence,
                          admissibility=admissibility(state.procedure, cmd.evidence))]


def impose_interim_suspension(state: CaseState, cmd: ImposeInterimSuspension,
                              at: datetime) -> list[CaseEvent]:
    interim = state.interim
    if interim is not None and cmd.review_by in (None, interim.review_by) \
            and cmd.reasons == interim.reasons:
        return []
    rights = sorted(procedure(state).rights_removed(INTERIM_STATUS))
    return [InterimSuspensionImposed(**meta(cmd, at), reasons=cmd.reasons,
                                     review_by=_review_by(state, cmd.review_by, at),
                                     rights_removed=rights)]


def renew_interim_suspension(state: CaseState, cmd: RenewInterimSuspension,
                             at: datetime) -> list[CaseEvent]:
    review_by = _review_by(state, cmd.review_by, at)
    interim = state.interim
    if interim is not None and (interim.review_by, interim.reasons) == (review_by, cmd.reasons):
        return []
    return [InterimSuspensionRenewed(**meta(cmd, at), reasons=cmd.reasons, review_by=review_by)]


def _review_by(state: CaseState, asked: datetime | None, at: datetime) -> datetime:
    """The longest review period the policy allows, unless a date is asked for."""
    return at + procedure(state).deadlines.interim_suspension_review if asked is None else asked


def lift_interim_suspension(state: CaseState, cmd: LiftInterimSuspension,
                            at: datetime) -> list[CaseEvent]:
    if state.interim is None:
        return []
    return [InterimSuspensionLifted(**meta(cmd, at), reasons=cmd.reasons,
                                    rights_restored=sorted(state.interim.rights_removed))]
