"""Deciders for notice, disclosure, response, panel, hearing and decision."""

from __future__ import annotations

from datetime import datetime

from ...base import personal
from ...policy import SANCTION_SEVERITY, SanctionKind
from ...rules.catalogue import first_violation
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
from ..priors import weigh
from ..state import CaseState
from ..values import (
    ComplainantKind,
    NoticedAllegation,
    Sanction,
    StatementOfReasons,
    most_severe,
)
from .common import meta, procedure


def issue_notice(state: CaseState, cmd: IssueNotice, at: datetime) -> list[CaseEvent]:
    assert state.report is not None
    known = [a.allegation_id for a in state.report.allegations]
    ids = known if cmd.allegation_ids is None else cmd.allegation_ids
    if state.notice is not None \
            and {a.allegation_id for a in state.notice.allegations} == set(ids):
        return []
    noticed = [_noticed(state, aid) for aid in ids]
    consequences = {kind for a in noticed for kind in _allowed(state, a.allegation_id)}
    return [NoticeIssued(
        **meta(cmd, at), allegations=noticed,
        possible_consequences=sorted(consequences, key=SANCTION_SEVERITY.__getitem__),
        consequences_note=cmd.consequences_note,
        complainant_identified=cmd.complainant_withheld_reason is None,
        complainant_withheld_reason=cmd.complainant_withheld_reason,
        response_due=at + procedure(state).deadlines.respond)]


def _noticed(state: CaseState, allegation_id: str) -> NoticedAllegation:
    """The allegation as charged; one the report lacks is put as named, for the rules."""
    assert state.report is not None and state.respondent is not None
    allegation = next((a for a in state.report.allegations if a.allegation_id == allegation_id),
                      None)
    cited = state.rule_for(allegation_id)
    if allegation is None:
        return NoticedAllegation(
            allegation_id=allegation_id, rule_id="", rule_title="", policy_version="",
            conduct_date=state.report.effective_at.date(),
            particulars=personal(state.respondent.person_id, ""))
    version, rule = cited if cited else (None, None)
    return NoticedAllegation(
        allegation_id=allegation_id, rule_id=allegation.rule_id,
        rule_title=rule.title if rule else "", policy_version=version.version if version else "",
        conduct_date=allegation.conduct_date, particulars=allegation.particulars)


def _allowed(state: CaseState, allegation_id: str) -> list[SanctionKind]:
    cited = state.rule_for(allegation_id)
    return cited[1].allowed_sanctions if cited else []


def disclose_evidence(state: CaseState, cmd: DiscloseEvidence, at: datetime) -> list[CaseEvent]:
    asked = EvidenceDisclosed(**meta(cmd, at), evidence_ids=cmd.evidence_ids,
                              withheld=cmd.withheld, redactions=cmd.redactions)
    # The rules judge the whole request (it may not withhold what was disclosed before);
    # the event then records only what is new, or nothing if all of it is on record.
    found = first_violation(state, asked, at)
    if found is not None:
        raise found.exception()
    new_ids = [eid for eid in cmd.evidence_ids if eid not in state.disclosed_at]
    new_withheld = [w for w in cmd.withheld if state.withheld.get(w.evidence_id) != w.reason]
    new_redactions = [r for r in cmd.redactions if r not in state.redactions]
    if not (new_ids or new_withheld or new_redactions):
        return []
    return [asked.model_copy(update={"evidence_ids": new_ids, "withheld": new_withheld,
                                     "redactions": new_redactions})]


def submit_response(state: CaseState, cmd: SubmitResponse, at: datetime) -> list[CaseEvent]:
    if state.response is not None and state.response.statement == cmd.statement:
        return []
    # A late response is still heard: the deadline exists to move the case on, not to gag.
    late = state.notice is not None and at > state.notice.response_due
    return [ResponseSubmitted(**meta(cmd, at), statement=cmd.statement, late=late)]


def appoint_panel(state: CaseState, cmd: AppointPanel, at: datetime) -> list[CaseEvent]:
    if list(state.panel) == cmd.members and state.hearing_held is None:
        return []
    return [PanelAppointed(**meta(cmd, at), members=cmd.members)]


def schedule_hearing(state: CaseState, cmd: ScheduleHearing, at: datetime) -> list[CaseEvent]:
    hearing = state.hearing
    if hearing is not None and state.hearing_held is None \
            and (hearing.at, hearing.location) == (cmd.at, cmd.location):
        return []
    return [HearingScheduled(**meta(cmd, at), at=cmd.at, location=cmd.location)]


def record_hearing_held(state: CaseState, cmd: RecordHearingHeld,
                        at: datetime) -> list[CaseEvent]:
    if state.hearing is not None and state.hearing_held is not None:
        return []
    return [HearingHeld(**meta(cmd, at), attendees=cmd.attendees, companion=cmd.companion,
                        respondent_attended=cmd.respondent_attended)]


def record_decision(state: CaseState, cmd: RecordDecision, at: datetime) -> list[CaseEvent]:
    decision = state.decision
    if decision is not None and (decision.findings, decision.automated_decision,
                                 decision.how_to_appeal, decision.aggravating_priors) == (
            cmd.findings, cmd.automated_decision, cmd.how_to_appeal, cmd.aggravating_priors):
        return []
    sanctions = [f.sanction for f in cmd.findings if f.sanction is not None]
    return [_decision_event(state, cmd, at, most_severe(sanctions))]


def _decision_event(state: CaseState, cmd: RecordDecision, at: datetime,
                    sanction: Sanction | None) -> DecisionRecorded:
    automated_detection = cmd.automated_detection or state.automated_report
    return DecisionRecorded(
        **meta(cmd, at), findings=cmd.findings, upheld=any(f.upheld for f in cmd.findings),
        sanction=sanction, automated_detection=automated_detection,
        automated_decision=cmd.automated_decision, how_to_appeal=cmd.how_to_appeal,
        appeal_deadline=at + procedure(state).deadlines.appeal_window,
        interim_suspension_ended=state.interim is not None,
        statement_of_reasons=_statement(state, cmd, at, sanction, automated_detection),
        prior_sanctions=weigh(cmd.respondent_record, state.case_id, at)
        if cmd.respondent_record is not None else None,
        aggravating_priors=list(cmd.aggravating_priors))


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
        source_type=report_source_type(state), automated_detection=automated_detection,
        automated_decision=cmd.automated_decision, application_date=at,
        end_date=at + sanction.term if sanction.term is not None else None)


def report_source_type(state: CaseState) -> str:
    """Where the report came from, in the DSA's terms (Art 17(3)(b)): an outside body
    (police unit, party office) is another notification, not an Art 22 trusted flagger,
    a status only a Digital Services Coordinator awards and no rulebook records."""
    assert state.report is not None
    if state.report.automated:
        return "automated_detection"
    if state.report.complainant.kind is ComplainantKind.OUTSIDE_BODY:
        return "other_notification"
    return "notice"
