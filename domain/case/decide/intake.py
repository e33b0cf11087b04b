"""Deciders for intake, triage, investigation and interim measures."""

from __future__ import annotations

from datetime import date, datetime

from ...base import ActorKind, DueProcessViolation, InvalidCommand, PolicyViolation
from ...policy import INTERIM_STATUS, PolicyDocument, PolicyVersion
from ...rules.checks import (
    admissibility,
    check_evidence_items,
    conflicted_for,
    meta,
    procedure,
    require_investigation,
    require_subject,
    require_undecided,
    require_unique,
)
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
from ..values import Allegation, ComplainantKind, TriageOutcome


def file_report(state: CaseState, cmd: FileReport, at: datetime) -> list[CaseEvent]:
    if state.report is not None:
        if _same_report(state.report, cmd):
            return []
        raise InvalidCommand("this case already has a report", rule="case-already-reported")
    _check_report(cmd, at)
    policy = cmd.policy
    if policy is None:  # the workflow supplies the published rulebook (domain/rulebook.py)
        raise PolicyViolation("no published rulebook to judge the report under",
                              rule="published-rulebook-only", field="policy")
    in_force = _procedure_version(policy, at.date())
    charged = {a.allegation_id: _charge_version(policy, a, i, at.date())
               for i, a in enumerate(cmd.allegations)}
    pinned = {in_force.version: in_force} | {v.version: v for v in charged.values()}
    automated = (cmd.complainant.kind is ComplainantKind.AUTOMATED_DETECTOR
                 or cmd.actor.kind is ActorKind.AUTOMATED)
    return [ReportFiled(
        **meta(cmd, at), case_id=state.case_id, complainant=cmd.complainant,
        respondent=cmd.respondent, allegations=cmd.allegations, evidence=cmd.evidence,
        admissibility=admissibility(in_force, cmd.evidence),
        good_faith_declaration=cmd.good_faith_declaration, automated=automated,
        policy_id=policy.policy_id, procedure_version=in_force.version,
        rule_versions={aid: v.version for aid, v in charged.items()},
        pinned_versions=list(pinned.values()))]


def _same_report(report: ReportFiled, cmd: FileReport) -> bool:
    return (report.complainant, report.respondent, report.allegations, report.evidence) == (
        cmd.complainant, cmd.respondent, cmd.allegations, cmd.evidence)


def _check_report(cmd: FileReport, at: datetime) -> None:
    if not cmd.good_faith_declaration:
        raise InvalidCommand("the complainant must declare the report is made in good faith",
                             rule="good-faith-declaration", field="good_faith_declaration")
    complainant, respondent = cmd.complainant, cmd.respondent
    outside = complainant.kind is ComplainantKind.OUTSIDE_BODY
    if outside and not (complainant.outside_body or "").strip():
        raise InvalidCommand("say which outside body made the report (DSA 17(3)(b))",
                             rule="outside-body-named", field="complainant.outside_body")
    if respondent.person_id == complainant.person_id:
        raise InvalidCommand("a member cannot report themselves",
                             rule="respondent-not-complainant", field="respondent.person_id")
    require_subject(complainant.name, complainant.person_id, field="complainant.name")
    require_subject(complainant.contact, complainant.person_id, field="complainant.contact")
    require_subject(respondent.name, respondent.person_id, field="respondent.name")
    require_subject(respondent.contact, respondent.person_id, field="respondent.contact")
    require_unique((a.allegation_id for a in cmd.allegations), field="allegations.*.allegation_id")
    for index, allegation in enumerate(cmd.allegations):
        require_subject(allegation.particulars, respondent.person_id,
                        field=f"allegations.{index}.particulars")
    check_evidence_items(cmd.evidence, at, field="evidence")


def _procedure_version(policy: PolicyDocument, day: date) -> PolicyVersion:
    try:
        return policy.version_on(day)
    except PolicyViolation as exc:
        raise PolicyViolation(exc.message, rule="policy-in-force-on-report-date",
                              field="policy") from exc


def _charge_version(policy: PolicyDocument, allegation: Allegation, index: int,
                    today: date) -> PolicyVersion:
    """The version in force on the conduct date, which must contain the cited rule."""
    field = f"allegations.{index}"
    if allegation.conduct_date > today:
        raise InvalidCommand("conduct cannot be dated in the future",
                             rule="conduct-date-not-in-future", field=f"{field}.conduct_date")
    try:
        version = policy.version_on(allegation.conduct_date)
    except PolicyViolation as exc:
        raise PolicyViolation(exc.message, rule="rule-in-force-on-conduct-date",
                              field=f"{field}.conduct_date") from exc
    if version.find_rule(allegation.rule_id) is None:
        raise PolicyViolation(
            f"rule {allegation.rule_id!r} was not in force on {allegation.conduct_date} "
            f"(policy version {version.version})",
            rule="rule-in-force-on-conduct-date", field=f"{field}.rule_id")
    return version


def acknowledge_report(state: CaseState, cmd: AcknowledgeReport, at: datetime) -> list[CaseEvent]:
    if state.acknowledged_at is not None:
        return []
    return [ReportAcknowledged(**meta(cmd, at))]


def triage_case(state: CaseState, cmd: TriageCase, at: datetime) -> list[CaseEvent]:
    if state.triage is not None or state.dismissal is not None:
        if _same_triage(state, cmd):
            return []
        raise InvalidCommand("the case has already been triaged", rule="already-triaged")
    if cmd.outcome is TriageOutcome.DISMISS:
        if cmd.dismissal_reason is None:
            raise InvalidCommand("a dismissal needs a reason", rule="dismissal-reason",
                                 field="dismissal_reason")
        return [CaseDismissed(**meta(cmd, at), dismissal_reason=cmd.dismissal_reason,
                              reasons=cmd.reasons, reviewed_by=cmd.actor.id)]
    if cmd.dismissal_reason is not None:
        raise InvalidCommand("only a dismissal has a dismissal reason", rule="dismissal-reason",
                             field="dismissal_reason")
    return [CaseTriaged(**meta(cmd, at), reasons=cmd.reasons, reviewed_by=cmd.actor.id)]


def _same_triage(state: CaseState, cmd: TriageCase) -> bool:
    if state.triage is not None:
        return cmd.outcome is TriageOutcome.INVESTIGATE and cmd.reasons == state.triage.reasons
    assert state.dismissal is not None
    return (cmd.outcome is TriageOutcome.DISMISS and cmd.reasons == state.dismissal.reasons
            and cmd.dismissal_reason == state.dismissal.dismissal_reason)


def assign_investigator(state: CaseState, cmd: AssignInvestigator,
                        at: datetime) -> list[CaseEvent]:
    require_investigation(state, adverse=False)
    require_undecided(state)
    if state.investigator_id == cmd.investigator_id:
        return []
    if cmd.investigator_id in conflicted_for(state, state.panel_ever, state.appeal_panel_ever):
        raise DueProcessViolation(
            f"{cmd.investigator_id!r} is a party, witness or sits on a panel",
            rule="panel-independence", field="investigator_id")
    return [InvestigatorAssigned(**meta(cmd, at), investigator_id=cmd.investigator_id,
                                 replaces=state.investigator_id)]


def add_evidence(state: CaseState, cmd: AddEvidence, at: datetime) -> list[CaseEvent]:
    require_investigation(state, adverse=False)
    if all(state.evidence.get(e.evidence_id) == e for e in cmd.evidence):
        return []
    staff = state.investigators_ever | state.panel_ever | state.appeal_panel_ever
    check_evidence_items(cmd.evidence, at, field="evidence", staff=staff)
    for index, item in enumerate(cmd.evidence):
        if item.evidence_id in state.evidence:
            raise InvalidCommand(f"evidence {item.evidence_id!r} is already on file",
                                 rule="unique-ids", field=f"evidence.{index}.evidence_id")
    return [EvidenceAdded(**meta(cmd, at), evidence=cmd.evidence,
                          admissibility=admissibility(procedure(state), cmd.evidence))]


def impose_interim_suspension(state: CaseState, cmd: ImposeInterimSuspension,
                              at: datetime) -> list[CaseEvent]:
    require_investigation(state, adverse=True)
    require_undecided(state)
    if state.interim is not None:
        same_review = cmd.review_by in (None, state.interim.review_by)
        if same_review and cmd.reasons == state.interim.reasons:
            return []
        raise InvalidCommand("an interim suspension is already in place: renew or lift it",
                             rule="interim-suspension-active")
    review_by = _review_by(state, cmd.review_by, at)
    rights = sorted(procedure(state).rights_removed(INTERIM_STATUS))
    return [InterimSuspensionImposed(**meta(cmd, at), reasons=cmd.reasons, review_by=review_by,
                                     rights_removed=rights)]


def renew_interim_suspension(state: CaseState, cmd: RenewInterimSuspension,
                             at: datetime) -> list[CaseEvent]:
    require_investigation(state, adverse=True)
    require_undecided(state)
    if state.interim is None:
        raise InvalidCommand("there is no interim suspension to renew",
                             rule="no-interim-suspension")
    review_by = _review_by(state, cmd.review_by, at)
    if state.interim.review_by == review_by and state.interim.reasons == cmd.reasons:
        return []
    return [InterimSuspensionRenewed(**meta(cmd, at), reasons=cmd.reasons, review_by=review_by)]


def _review_by(state: CaseState, asked: datetime | None, at: datetime) -> datetime:
    """Interim measures are kept as brief as possible and under review (ACAS 8)."""
    longest = at + procedure(state).deadlines.interim_suspension_review
    review_by = longest if asked is None else asked
    if review_by <= at:
        raise InvalidCommand("the review date must be in the future",
                             rule="interim-suspension-review", field="review_by")
    if review_by > longest:
        raise DueProcessViolation(
            f"review must be no later than {longest.isoformat()} under the policy",
            rule="interim-suspension-review", field="review_by")
    return review_by


def lift_interim_suspension(state: CaseState, cmd: LiftInterimSuspension,
                            at: datetime) -> list[CaseEvent]:
    if state.interim is None:
        return []
    return [InterimSuspensionLifted(**meta(cmd, at), reasons=cmd.reasons,
                                    rights_restored=sorted(state.interim.rights_removed))]
