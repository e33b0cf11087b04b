"""Deciders for notice, disclosure, response, panel, hearing and decision."""

from __future__ import annotations

from datetime import datetime

from ...base import DueProcessViolation, InvalidCommand, NotPermitted
from ...policy import SANCTION_SEVERITY, SanctionKind
from ...rules.checks import (
    check_panel,
    check_sanction,
    conflicted_for,
    meta,
    procedure,
    require_investigation,
    require_subject,
    require_text,
    require_undecided,
    require_unique,
)
from ..commands import (
    AppointPanel,
    DiscloseEvidence,
    IssueNotice,
    RecordDecision,
    RecordHearingHeld,
    ScheduleHearing,
    SubmitResponse,
)
from ..events import (
    CaseEvent,
    DecisionRecorded,
    EvidenceDisclosed,
    HearingHeld,
    HearingScheduled,
    NoticeIssued,
    PanelAppointed,
    ResponseSubmitted,
)
from ..state import CaseState
from ..values import (
    AutomatedDecision,
    ComplainantKind,
    Finding,
    NoticedAllegation,
    Sanction,
    StatementOfReasons,
    most_severe,
)


def issue_notice(state: CaseState, cmd: IssueNotice, at: datetime) -> list[CaseEvent]:
    require_investigation(state, adverse=True)
    require_undecided(state)
    ids = _noticed_ids(state, cmd)
    if state.notice is not None:
        if {a.allegation_id for a in state.notice.allegations} == set(ids):
            return []
        raise InvalidCommand("notice has already been issued", rule="notice-already-issued")
    require_text(cmd.complainant_withheld_reason, field="complainant_withheld_reason",
                 rule="complainant-withheld-reason")
    noticed = [_noticed(state, aid, index) for index, aid in enumerate(ids)]
    consequences = {kind for a in noticed for kind in _allowed(state, a.allegation_id)}
    return [NoticeIssued(
        **meta(cmd, at), allegations=noticed,
        possible_consequences=sorted(consequences, key=SANCTION_SEVERITY.__getitem__),
        consequences_note=cmd.consequences_note,
        complainant_identified=cmd.complainant_withheld_reason is None,
        complainant_withheld_reason=cmd.complainant_withheld_reason,
        response_due=at + procedure(state).deadlines.respond)]


def _noticed_ids(state: CaseState, cmd: IssueNotice) -> list[str]:
    assert state.report is not None
    known = [a.allegation_id for a in state.report.allegations]
    ids = known if cmd.allegation_ids is None else cmd.allegation_ids
    if not ids:
        raise InvalidCommand("a notice must list the allegations", rule="unknown-allegation",
                             field="allegation_ids")
    require_unique(ids, field="allegation_ids")
    for index, allegation_id in enumerate(ids):
        if allegation_id not in known:
            raise InvalidCommand(f"no allegation {allegation_id!r} in this case",
                                 rule="unknown-allegation", field=f"allegation_ids.{index}")
    return ids


def _noticed(state: CaseState, allegation_id: str, index: int) -> NoticedAllegation:
    assert state.report is not None
    allegation = next(a for a in state.report.allegations if a.allegation_id == allegation_id)
    cited = state.rule_for(allegation_id)
    if cited is None:
        raise InvalidCommand("the cited rule is not pinned in this case",
                             rule="rule-in-force-on-conduct-date", field=f"allegation_ids.{index}")
    version, rule = cited
    return NoticedAllegation(
        allegation_id=allegation_id, rule_id=rule.rule_id, rule_title=rule.title,
        policy_version=version.version, conduct_date=allegation.conduct_date,
        particulars=allegation.particulars)


def _allowed(state: CaseState, allegation_id: str) -> list[SanctionKind]:
    cited = state.rule_for(allegation_id)
    return cited[1].allowed_sanctions if cited else []


def disclose_evidence(state: CaseState, cmd: DiscloseEvidence, at: datetime) -> list[CaseEvent]:
    require_investigation(state, adverse=False)
    if not (cmd.evidence_ids or cmd.withheld or cmd.redactions):
        raise InvalidCommand("nothing to disclose, withhold or redact",
                             rule="unknown-evidence", field="evidence_ids")
    _check_disclosure(state, cmd)
    new_ids = [eid for eid in cmd.evidence_ids if eid not in state.disclosed_at]
    new_withheld = [w for w in cmd.withheld if state.withheld.get(w.evidence_id) != w.reason]
    new_redactions = [r for r in cmd.redactions if r not in state.redactions]
    if not (new_ids or new_withheld or new_redactions):
        return []
    return [EvidenceDisclosed(**meta(cmd, at), evidence_ids=new_ids, withheld=new_withheld,
                              redactions=new_redactions)]


def _check_disclosure(state: CaseState, cmd: DiscloseEvidence) -> None:
    require_unique(cmd.evidence_ids, field="evidence_ids")
    require_unique((w.evidence_id for w in cmd.withheld), field="withheld.*.evidence_id")
    for index, evidence_id in enumerate(cmd.evidence_ids):
        _require_known(state, evidence_id, field=f"evidence_ids.{index}")
    for index, item in enumerate(cmd.withheld):
        field = f"withheld.{index}.evidence_id"
        _require_known(state, item.evidence_id, field=field)
        if item.evidence_id in cmd.evidence_ids or item.evidence_id in state.disclosed_at:
            raise InvalidCommand("disclosed evidence cannot also be withheld",
                                 rule="withheld-or-disclosed", field=field)
    for index, redaction in enumerate(cmd.redactions):
        field = f"redactions.{index}.evidence_id"
        _require_known(state, redaction.evidence_id, field=field)
        if redaction.evidence_id not in cmd.evidence_ids \
                and redaction.evidence_id not in state.disclosed_at:
            raise InvalidCommand("only disclosed evidence is redacted",
                                 rule="withheld-or-disclosed", field=field)


def _require_known(state: CaseState, evidence_id: str, *, field: str) -> None:
    if evidence_id not in state.evidence:
        raise InvalidCommand(f"no evidence {evidence_id!r} in this case",
                             rule="unknown-evidence", field=field)


def submit_response(state: CaseState, cmd: SubmitResponse, at: datetime) -> list[CaseEvent]:
    if state.notice is None:
        raise InvalidCommand("there is no notice to respond to", rule="notice-before-response")
    require_undecided(state)
    if state.response is not None and state.response.statement == cmd.statement:
        return []
    assert state.respondent is not None
    require_subject(cmd.statement, state.respondent.person_id, field="statement")
    # A late response is still heard: the deadline exists to move the case on, not to gag.
    return [ResponseSubmitted(**meta(cmd, at), statement=cmd.statement,
                              late=at > state.notice.response_due)]


def appoint_panel(state: CaseState, cmd: AppointPanel, at: datetime) -> list[CaseEvent]:
    require_investigation(state, adverse=False)
    require_undecided(state)
    if state.hearing_held is not None:
        raise InvalidCommand("the panel that heard the case decides it",
                             rule="hearing-already-held")
    if list(state.panel) == cmd.members:
        return []
    check_panel(cmd.members, conflicted_for(state, state.investigators_ever,
                                            state.appeal_panel_ever))
    return [PanelAppointed(**meta(cmd, at), members=cmd.members)]


def schedule_hearing(state: CaseState, cmd: ScheduleHearing, at: datetime) -> list[CaseEvent]:
    require_investigation(state, adverse=True)
    require_undecided(state)
    _require_notice_and_disclosure(state)
    if not state.panel:
        raise InvalidCommand("appoint the panel before scheduling", rule="panel-before-hearing")
    if state.hearing_held is not None:
        raise InvalidCommand("the hearing has been held", rule="hearing-already-held")
    if state.hearing is not None and (state.hearing.at, state.hearing.location) == (
            cmd.at, cmd.location):
        return []
    deadlines = procedure(state).deadlines
    if cmd.at - at < deadlines.minimum_hearing_notice:
        raise DueProcessViolation(
            f"the respondent must have at least {deadlines.minimum_hearing_notice} notice",
            rule="minimum-hearing-notice", field="at")
    assert state.last_disclosure_at is not None
    if cmd.at - state.last_disclosure_at < deadlines.disclosure_lead_time:
        raise DueProcessViolation(
            f"evidence must be disclosed {deadlines.disclosure_lead_time} before the hearing",
            rule="disclosure-lead-time", field="at")
    return [HearingScheduled(**meta(cmd, at), at=cmd.at, location=cmd.location)]


def _require_notice_and_disclosure(state: CaseState) -> None:
    if state.notice is None:
        raise DueProcessViolation("the respondent has not been given notice in writing",
                                  rule="notice-before-hearing")
    if state.last_disclosure_at is None:
        raise DueProcessViolation("no evidence has been disclosed to the respondent",
                                  rule="disclosure-before-hearing")


def record_hearing_held(state: CaseState, cmd: RecordHearingHeld,
                        at: datetime) -> list[CaseEvent]:
    if state.hearing is None:
        raise InvalidCommand("no hearing has been scheduled", rule="hearing-not-scheduled")
    if state.hearing_held is not None:
        return []
    if at < state.hearing.at:
        raise InvalidCommand("the hearing is not due yet", rule="hearing-not-yet-due",
                             field="effective_at")
    require_unique(cmd.attendees, field="attendees")
    if not state.panel_ids & set(cmd.attendees):
        raise InvalidCommand("no panel member attended", rule="panel-heard-the-case",
                             field="attendees")
    return [HearingHeld(**meta(cmd, at), attendees=cmd.attendees, companion=cmd.companion,
                        respondent_attended=cmd.respondent_attended)]


def record_decision(state: CaseState, cmd: RecordDecision, at: datetime) -> list[CaseEvent]:
    if state.decision is not None:
        if _same_decision(state, cmd):
            return []
        raise InvalidCommand("the decision has been recorded", rule="decision-already-recorded")
    require_investigation(state, adverse=any(f.sanction for f in cmd.findings))
    _require_notice_and_disclosure(state)
    if state.hearing_held is None:
        raise DueProcessViolation("the respondent has not had a hearing",
                                  rule="hearing-before-decision")
    if cmd.actor.id not in state.hearing_held.attendees:
        raise NotPermitted("only a panel member who heard the case may decide it",
                           rule="panel-heard-the-case", field="actor.id")
    _check_findings(state, cmd.findings)
    sanctions = [f.sanction for f in cmd.findings if f.sanction is not None]
    if cmd.automated_decision is AutomatedDecision.FULLY and sanctions:
        raise DueProcessViolation("a sanction may not be decided solely by automated means",
                                  rule="no-solely-automated-decision", field="automated_decision")
    return [_decision_event(state, cmd, at, most_severe(sanctions))]


def _same_decision(state: CaseState, cmd: RecordDecision) -> bool:
    decision = state.decision
    assert decision is not None
    return (decision.findings, decision.automated_decision, decision.how_to_appeal) == (
        cmd.findings, cmd.automated_decision, cmd.how_to_appeal)


def _check_findings(state: CaseState, findings: list[Finding]) -> None:
    assert state.notice is not None and state.respondent is not None
    noticed = {a.allegation_id for a in state.notice.allegations}
    require_unique((f.allegation_id for f in findings), field="findings.*.allegation_id")
    for index, finding in enumerate(findings):
        field = f"findings.{index}"
        if finding.allegation_id not in noticed:
            raise DueProcessViolation(f"{finding.allegation_id!r} was not put to the respondent",
                                      rule="notice-before-hearing", field=f"{field}.allegation_id")
        require_subject(finding.findings, state.respondent.person_id, field=f"{field}.findings")
        _check_reliance(state, finding.relied_on_evidence, field=f"{field}.relied_on_evidence")
        if finding.sanction is not None:
            if not finding.upheld:
                raise InvalidCommand("a sanction needs an upheld finding",
                                     rule="sanction-requires-upheld-finding",
                                     field=f"{field}.sanction")
            cited = state.rule_for(finding.allegation_id)
            check_sanction(finding.sanction, [cited] if cited else [], field=f"{field}.sanction")
    missing = sorted(noticed - {f.allegation_id for f in findings})
    if missing:
        raise InvalidCommand(f"no finding on {missing}", rule="decision-covers-every-allegation",
                             field="findings")


def _check_reliance(state: CaseState, evidence_ids: list[str], *, field: str) -> None:
    """Only evidence the respondent saw in time, and that was lawfully obtained, counts."""
    assert state.hearing is not None
    latest = state.hearing.at - procedure(state).deadlines.disclosure_lead_time
    for index, evidence_id in enumerate(evidence_ids):
        at_fault = f"{field}.{index}"
        _require_known(state, evidence_id, field=at_fault)
        disclosed_at = state.disclosed_at.get(evidence_id)
        if disclosed_at is None:
            raise DueProcessViolation(f"{evidence_id!r} was not disclosed to the respondent",
                                      rule="disclosure-before-reliance", field=at_fault)
        if evidence_id in state.inadmissible:
            raise DueProcessViolation(
                f"{evidence_id!r} is inadmissible: {state.inadmissible[evidence_id]}",
                rule="evidence-admissibility", field=at_fault)
        if disclosed_at > latest:
            raise DueProcessViolation(f"{evidence_id!r} was disclosed too close to the hearing",
                                      rule="disclosure-lead-time", field=at_fault)


def _decision_event(state: CaseState, cmd: RecordDecision, at: datetime,
                    sanction: Sanction | None) -> DecisionRecorded:
    automated_detection = cmd.automated_detection or state.automated_report
    return DecisionRecorded(
        **meta(cmd, at), findings=cmd.findings, upheld=any(f.upheld for f in cmd.findings),
        sanction=sanction, automated_detection=automated_detection,
        automated_decision=cmd.automated_decision, how_to_appeal=cmd.how_to_appeal,
        appeal_deadline=at + procedure(state).deadlines.appeal_window,
        interim_suspension_ended=state.interim is not None,
        statement_of_reasons=_statement(state, cmd, at, sanction, automated_detection))


_ACCOUNT = {SanctionKind.WARNING: "warning", SanctionKind.SUSPENSION: "account_suspended",
            SanctionKind.EXPULSION: "account_terminated"}


def _statement(state: CaseState, cmd: RecordDecision, at: datetime, sanction: Sanction | None,
               automated_detection: bool) -> StatementOfReasons | None:
    if sanction is None or state.report is None:
        return None
    grounds = []
    for finding in cmd.findings:
        cited = state.rule_for(finding.allegation_id)
        if finding.upheld and cited is not None:
            grounds.append(f"{state.report.policy_id} {cited[0].version} {cited[1].rule_id} "
                           f"({cited[1].title})")
    return StatementOfReasons(
        decision_account=_ACCOUNT[sanction.kind], decision_ground="incompatible_content",
        incompatible_content_ground="; ".join(grounds),
        decision_facts=[f.findings for f in cmd.findings if f.upheld],
        source_type=_source_type(state), automated_detection=automated_detection,
        automated_decision=cmd.automated_decision, application_date=at,
        end_date=at + sanction.term if sanction.term is not None else None)


def _source_type(state: CaseState) -> str:
    assert state.report is not None
    if state.report.automated:
        return "automated_detection"
    if state.report.complainant.kind is ComplainantKind.OUTSIDE_BODY:
        return "trusted_flagger"
    return "notice"
