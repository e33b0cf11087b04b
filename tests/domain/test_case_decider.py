"""Given events, when a command, then events or a rejection naming its rule.

Histories are built from the example happy path (``case_examples.happy_path``) by step
name, so each test states only what differs from an ordinary case.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias, TypeVar

import pytest
from dueprocess.domain.base import (
    SYSTEM_ACTOR,
    ActorKind,
    DomainError,
    DueProcessViolation,
    InvalidCommand,
    NotPermitted,
    PolicyViolation,
    personal,
)
from dueprocess.domain.case import (
    CASE_COMMAND_ADAPTER,
    CASE_EVENT_ADAPTER,
    AcknowledgeReport,
    AddEvidence,
    AppealOutcome,
    AppointAppealPanel,
    AppointPanel,
    AssignInvestigator,
    AutomatedDecision,
    CarryOutSanction,
    CaseClosedError,
    CaseCommand,
    CaseEvent,
    CaseEventBase,
    CaseStage,
    CaseState,
    CaseTriaged,
    CloseAppealWindow,
    CloseCase,
    ComplainantKind,
    Deadline,
    DeadlineKind,
    DeadlineMissed,
    DecideAppeal,
    DecisionRecorded,
    DiscloseEvidence,
    DismissalReason,
    EndSanction,
    EscalateMissedDeadline,
    EvidenceAdded,
    EvidenceDisclosed,
    FileReport,
    HearingHeld,
    ImposeInterimSuspension,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    InvestigatorAssigned,
    IssueNotice,
    LapseInterimSuspension,
    LiftInterimSuspension,
    LodgeAppeal,
    MemberReinstated,
    NoticeIssued,
    PanelMember,
    RecordDecision,
    RecordHearingHeld,
    Redaction,
    Reinstate,
    RenewInterimSuspension,
    ReportFiled,
    ResponseSubmitted,
    Sanction,
    SanctionApplied,
    ScheduleHearing,
    SubmitResponse,
    TriageCase,
    TriageOutcome,
    WithheldEvidence,
    decide,
    evolve,
    fold,
    notifications_for,
    pending_deadlines,
)
from dueprocess.domain.policy import Right, SanctionKind, SourceKind
from fixtures import case_examples as ex
from pydantic import ValidationError

CASE_ID = "case-1"
AUTH = ex.AUTHORITY
OFFICER = ex.actor("case_officer")
RESPONDENT = ex.actor("respondent")
PANEL = ex.actor("panel_member")
APPEAL = ex.actor("appeal_panel_member")
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
ORDER = [step.name for step in ex.happy_path()]
SUSPENSION_TERM = timedelta(days=30)
SUSPENSION = Sanction(kind=SanctionKind.SUSPENSION, term=SUSPENSION_TERM)

Result: TypeAlias = list[CaseEvent] | DomainError
E = TypeVar("E", bound=CaseEventBase)


# --- given / when / then -----------------------------------------------------------


def events_of(*names: str, sanction: Sanction | None = ex.WARNING,
              report: FileReport | None = None, **path: Any) -> tuple[list[CaseEvent], datetime]:
    """The events of the named happy-path steps (in order), and when the last was taken."""
    by_name = {step.name: step for step in ex.happy_path(sanction, **path)}
    state, now = CaseState.empty(CASE_ID), ex.T0
    events: list[CaseEvent] = []
    for name in names:
        step = by_name[name]
        command: CaseCommand = report if (name == "file" and report) else step.command
        new = decide(state, command, step.now)
        state, events, now = fold(new, state), events + new, step.now
    return events, now


def given(*names: str, **kwargs: Any) -> tuple[CaseState, datetime]:
    events, now = events_of(*names, **kwargs)
    return fold(events, CaseState.empty(CASE_ID)), now


def upto(name: str, **kwargs: Any) -> tuple[CaseState, datetime]:
    path = {k: v for k, v in kwargs.items() if k in ("sanction", "policy")}
    order = [step.name for step in ex.happy_path(**path)]
    return given(*order[: order.index(name) + 1], **kwargs)


def when(state: CaseState, command: CaseCommand, now: datetime) -> Result:
    try:
        return decide(state, command, now)
    except DomainError as error:
        return error


def then(result: Result, *types: str) -> list[CaseEvent]:
    assert isinstance(result, list), f"expected events, got {result}"
    assert [event.type for event in result] == list(types)
    return result


def then_one(result: Result, kind: type[E]) -> E:
    """The one event of type ``kind`` the command produced (typed, for its fields)."""
    (event,) = then(result, kind.__name__)
    assert isinstance(event, kind)
    return event


def rejected(result: Result, error: type[DomainError], rule: str,
             field: str | None = None) -> None:
    assert isinstance(result, error), f"expected {error.__name__}({rule}), got {result}"
    assert result.rule == rule, str(result)
    if field is not None:
        assert result.field == field, str(result)


def apply(state: CaseState, command: CaseCommand, now: datetime) -> CaseState:
    return fold(decide(state, command, now), state)


def then_steps(state: CaseState, *names: str) -> CaseState:
    """Carry on along the happy path from a state that differs from it."""
    by_name = {step.name: step for step in ex.happy_path()}
    for name in names:
        state = apply(state, by_name[name].command, by_name[name].now)
    return state


def automated_report() -> FileReport:
    return ex.file_report(
        by=ex.actor("detector"),
        report_complainant=ex.complainant(ComplainantKind.AUTOMATED_DETECTOR, ex.DETECTOR_ID))


def triage(outcome: TriageOutcome = TriageOutcome.INVESTIGATE,
           reason: DismissalReason | None = None) -> TriageCase:
    return TriageCase(actor=OFFICER, authority=AUTH, outcome=outcome, dismissal_reason=reason,
                      reasons="Reviewed by a person.")


def decision(*findings: Any, actor_id: str = ex.PANEL_IDS[0],
             automated: AutomatedDecision = AutomatedDecision.NOT_AUTOMATED) -> RecordDecision:
    return RecordDecision(actor=ex.actor("panel_member", actor_id), authority="code#panel",
                          findings=list(findings) or [ex.finding(sanction=ex.WARNING)],
                          automated_decision=automated, how_to_appeal="Write to appeals.")


def appoint_appeal(*ids: str) -> AppointAppealPanel:
    return AppointAppealPanel(actor=OFFICER, authority=AUTH,
                              members=ex.panel(*(ids or ex.APPEAL_PANEL_IDS)))


def lodge() -> LodgeAppeal:
    return LodgeAppeal(actor=RESPONDENT, authority="code#appeal",
                       grounds=personal(ex.RESPONDENT_ID, "The panel got the facts wrong."))


def appealed(sanction: Sanction | None = SUSPENSION) -> tuple[CaseState, datetime]:
    state, now = upto("decide", sanction=sanction)
    state = apply(state, lodge(), now + DAY)
    return apply(state, appoint_appeal(), now + 2 * DAY), now + 2 * DAY


def appeal_decision(outcome: AppealOutcome, new: Sanction | None = None) -> DecideAppeal:
    return DecideAppeal(actor=APPEAL, authority="code#appeals", outcome=outcome,
                        reasons="Considered the grounds.", new_sanction=new)


# --- FileReport ----------------------------------------------------------------------


class TestFileReport:
    def test_files_pinning_the_versions_and_ruling_on_admissibility(self) -> None:
        event = then_one(when(CaseState.empty(CASE_ID), ex.file_report(), ex.T0), ReportFiled)
        assert event.effective_at == ex.T0 and event.case_id == CASE_ID
        assert event.procedure_version == "2023.1" and event.rule_versions == {"A1": "2023.1"}
        assert [v.version for v in event.pinned_versions] == ["2023.1"]
        verdicts = {a.evidence_id: a.admissible for a in event.admissibility}
        assert verdicts == {"E1": True, "E2": False, "E3": True}
        assert not event.automated

    def test_old_conduct_is_charged_under_the_old_version(self) -> None:
        command = ex.file_report(allegations=[
            ex.allegation("A1", conduct_date=ex.OLD_CONDUCT_DATE), ex.allegation("A2")])
        event = then_one(when(CaseState.empty(CASE_ID), command, ex.T0), ReportFiled)
        assert event.rule_versions == {"A1": "2019.1", "A2": "2023.1"}
        assert sorted(v.version for v in event.pinned_versions) == ["2019.1", "2023.1"]

    def test_same_report_again_is_a_no_op(self) -> None:
        state, now = upto("file")
        assert then(when(state, ex.file_report(), now + MINUTE)) == []

    def test_a_different_report_on_the_same_case_is_refused(self) -> None:
        state, now = upto("file")
        other = ex.file_report(allegations=[ex.allegation("A9")])
        rejected(when(state, other, now), InvalidCommand, "case-already-reported")

    def test_needs_a_good_faith_declaration(self) -> None:
        result = when(CaseState.empty(CASE_ID), ex.file_report(good_faith=False), ex.T0)
        rejected(result, InvalidCommand, "good-faith-declaration", "good_faith_declaration")

    def test_rule_not_in_force_on_conduct_date_is_refused(self) -> None:
        command = ex.file_report(allegations=[
            ex.allegation(rule_id="R5", conduct_date=ex.OLD_CONDUCT_DATE)])
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), PolicyViolation,
                 "rule-in-force-on-conduct-date", "allegations.0.rule_id")

    def test_conduct_before_any_version_is_refused(self) -> None:
        command = ex.file_report(allegations=[
            ex.allegation(conduct_date=ex.OLD_CONDUCT_DATE.replace(year=2018))])
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), PolicyViolation,
                 "rule-in-force-on-conduct-date", "allegations.0.conduct_date")

    def test_conduct_in_the_future_is_refused(self) -> None:
        command = ex.file_report(allegations=[ex.allegation(conduct_date=ex.T0.date() + DAY)])
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), InvalidCommand,
                 "conduct-date-not-in-future", "allegations.0.conduct_date")

    def test_no_policy_in_force_when_filed_is_refused(self) -> None:
        command = ex.file_report(allegations=[
            ex.allegation(conduct_date=ex.OLD_CONDUCT_DATE.replace(year=2018))],
            evidence_items=[ex.evidence(captured_at=datetime(2018, 6, 1, tzinfo=UTC))])
        rejected(when(CaseState.empty(CASE_ID), command, datetime(2018, 7, 1, tzinfo=UTC)),
                 PolicyViolation, "policy-in-force-on-report-date", "policy")

    def test_outside_body_must_be_named(self) -> None:
        police = ex.complainant(ComplainantKind.OUTSIDE_BODY, "police-1")
        command = ex.file_report(by=ex.actor("intake"), report_complainant=police)
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), InvalidCommand,
                 "outside-body-named", "complainant.outside_body")
        named = ex.complainant(ComplainantKind.OUTSIDE_BODY, "police-1",
                               outside_body="Metropolitan Police Online Hate Crime Hub")
        command = ex.file_report(by=ex.actor("intake"), report_complainant=named)
        then(when(CaseState.empty(CASE_ID), command, ex.T0), "ReportFiled")

    def test_an_automated_detector_may_file(self) -> None:
        event = then_one(when(CaseState.empty(CASE_ID), automated_report(), ex.T0), ReportFiled)
        assert event.automated

    def test_a_detector_files_only_detector_reports(self) -> None:
        command = ex.file_report(by=ex.actor("detector", ex.COMPLAINANT_ID))
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), NotPermitted,
                 "role-permission", "actor.id")

    def test_a_complainant_files_in_their_own_name(self) -> None:
        command = ex.file_report(by=ex.actor("complainant", "m-999"))
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), NotPermitted,
                 "role-permission", "actor.id")

    def test_staff_roles_may_not_file(self) -> None:
        rejected(when(CaseState.empty(CASE_ID), ex.file_report(by=OFFICER), ex.T0),
                 NotPermitted, "role-permission", "actor.role")

    def test_an_automated_actor_cannot_be_intake(self) -> None:
        command = ex.file_report(by=ex.actor("intake", kind=ActorKind.AUTOMATED))
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), NotPermitted,
                 "role-permission", "actor.kind")

    def test_respondent_cannot_be_the_complainant(self) -> None:
        me = ex.complainant(person_id=ex.RESPONDENT_ID)
        command = ex.file_report(by=ex.actor("complainant", ex.RESPONDENT_ID),
                                 report_complainant=me)
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), InvalidCommand,
                 "respondent-not-complainant", "respondent.person_id")

    def test_personal_data_must_name_its_subject(self) -> None:
        wrong = ex.allegation().model_copy(
            update={"particulars": personal(ex.COMPLAINANT_ID, "about someone else")})
        command = ex.file_report(allegations=[wrong])
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), InvalidCommand,
                 "personal-data-subject", "allegations.0.particulars")

    def test_allegation_ids_are_unique(self) -> None:
        command = ex.file_report(allegations=[ex.allegation("A1"), ex.allegation("A1")])
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), InvalidCommand,
                 "unique-ids", "allegations.*.allegation_id.1")

    def test_evidence_cannot_postdate_the_report(self) -> None:
        command = ex.file_report(evidence_items=[ex.evidence(captured_at=ex.T0 + DAY)])
        rejected(when(CaseState.empty(CASE_ID), command, ex.T0), InvalidCommand,
                 "evidence-capture-time", "evidence.0.captured_at")

    def test_consent_or_an_allowed_lawful_basis_admits_private_evidence(self) -> None:
        items = [ex.evidence("E1", source_kind=SourceKind.PRIVATE_MESSAGE, consent=True),
                 ex.evidence("E2", source_kind=SourceKind.PRIVATE_MESSAGE,
                             lawful_basis="legitimate_interests_disciplinary"),
                 ex.evidence("E3", source_kind=SourceKind.PRIVATE_MESSAGE, lawful_basis="hunch")]
        event = then_one(when(CaseState.empty(CASE_ID), ex.file_report(evidence_items=items),
                              ex.T0), ReportFiled)
        assert [a.admissible for a in event.admissibility] == [True, True, False]

    def test_other_commands_need_a_report_first(self) -> None:
        result = when(CaseState.empty(CASE_ID), triage(), ex.T0)
        rejected(result, InvalidCommand, "case-not-reported")


# --- AcknowledgeReport, TriageCase, AssignInvestigator, AddEvidence -------------------


class TestIntake:
    def test_acknowledge(self) -> None:
        state, now = upto("file")
        command = AcknowledgeReport(actor=ex.actor("intake"), authority=AUTH)
        then(when(state, command, now + MINUTE), "ReportAcknowledged")

    def test_acknowledge_twice_is_a_no_op(self) -> None:
        state, now = upto("acknowledge")
        command = AcknowledgeReport(actor=OFFICER, authority=AUTH)
        assert then(when(state, command, now + MINUTE)) == []

    def test_respondent_may_not_acknowledge(self) -> None:
        state, now = upto("file")
        command = AcknowledgeReport(actor=RESPONDENT, authority=AUTH)
        rejected(when(state, command, now), NotPermitted, "role-permission", "actor.role")

    def test_triage_for_investigation_records_the_person(self) -> None:
        state, now = upto("acknowledge")
        event = then_one(when(state, triage(), now + MINUTE), CaseTriaged)
        assert isinstance(event, CaseTriaged) and event.reviewed_by == ex.OFFICER_ID

    def test_triage_may_dismiss_with_a_reason(self) -> None:
        state, now = upto("acknowledge")
        command = triage(TriageOutcome.DISMISS, DismissalReason.MANIFESTLY_UNFOUNDED)
        then(when(state, command, now + MINUTE), "CaseDismissed")

    def test_dismissal_needs_a_reason(self) -> None:
        state, now = upto("acknowledge")
        rejected(when(state, triage(TriageOutcome.DISMISS), now), InvalidCommand,
                 "dismissal-reason", "dismissal_reason")

    def test_investigation_has_no_dismissal_reason(self) -> None:
        state, now = upto("acknowledge")
        command = triage(TriageOutcome.INVESTIGATE, DismissalReason.NO_CASE_TO_ANSWER)
        rejected(when(state, command, now), InvalidCommand, "dismissal-reason")

    def test_triage_must_be_by_a_person(self) -> None:
        state, now = upto("file", report=automated_report())
        command = triage().model_copy(
            update={"actor": ex.actor("case_officer", kind=ActorKind.AUTOMATED)})
        rejected(when(state, command, now), NotPermitted, "human-triage-of-automated-reports",
                 "actor.kind")

    def test_triage_retried_is_a_no_op_but_a_change_is_refused(self) -> None:
        state, now = upto("triage")
        assert then(when(state, ex.happy_path()[2].command, now + MINUTE)) == []
        command = triage(TriageOutcome.DISMISS, DismissalReason.NO_CASE_TO_ANSWER)
        rejected(when(state, command, now), InvalidCommand, "already-triaged")

    def test_a_party_cannot_act_as_case_officer(self) -> None:
        state, now = upto("acknowledge")
        command = triage().model_copy(update={"actor": ex.actor("case_officer",
                                                                 ex.RESPONDENT_ID)})
        rejected(when(state, command, now), NotPermitted, "no-judge-in-own-cause", "actor.id")

    def test_assign_investigator(self) -> None:
        state, now = upto("triage")
        command = AssignInvestigator(actor=OFFICER, authority=AUTH, investigator_id="inv-2")
        then(when(state, command, now + MINUTE), "InvestigatorAssigned")

    def test_reassigning_records_who_is_replaced_and_same_again_is_a_no_op(self) -> None:
        state, now = upto("assign")
        same = AssignInvestigator(actor=OFFICER, authority=AUTH, investigator_id=ex.INVESTIGATOR_ID)
        assert then(when(state, same, now + MINUTE)) == []
        other = same.model_copy(update={"investigator_id": "inv-2"})
        event = then_one(when(state, other, now + MINUTE), InvestigatorAssigned)
        assert event.replaces == ex.INVESTIGATOR_ID

    def test_investigation_needs_triage(self) -> None:
        state, now = upto("acknowledge")
        command = AssignInvestigator(actor=OFFICER, authority=AUTH, investigator_id="inv-2")
        rejected(when(state, command, now), InvalidCommand, "triage-before-investigation")

    def test_nothing_is_investigated_after_dismissal(self) -> None:
        state, now = upto("acknowledge")
        state = apply(state, triage(TriageOutcome.DISMISS, DismissalReason.OUT_OF_JURISDICTION),
                      now)
        command = AssignInvestigator(actor=OFFICER, authority=AUTH, investigator_id="inv-2")
        rejected(when(state, command, now), InvalidCommand, "case-dismissed")

    @pytest.mark.parametrize("who", [ex.WITNESS_ID, ex.COMPLAINANT_ID, ex.PANEL_IDS[1]])
    def test_investigator_is_independent(self, who: str) -> None:
        state, now = upto("panel")
        command = AssignInvestigator(actor=OFFICER, authority=AUTH, investigator_id=who)
        rejected(when(state, command, now), DueProcessViolation, "panel-independence",
                 "investigator_id")

    def test_add_evidence_rules_on_admissibility(self) -> None:
        state, now = upto("assign")
        items = [ex.evidence("E4", source_kind=SourceKind.THIRD_PARTY_SCREENSHOT)]
        command = AddEvidence(actor=ex.actor("investigator"), authority=AUTH, evidence=items)
        event = then_one(when(state, command, now + MINUTE), EvidenceAdded)
        assert not event.admissibility[0].admissible
        state = fold([event], state)
        assert "E4" in state.inadmissible
        assert then(when(state, command, now + MINUTE)) == []

    def test_added_evidence_ids_are_unique(self) -> None:
        state, now = upto("assign")
        clash = ex.evidence("E1", source_kind=SourceKind.DOCUMENT)
        command = AddEvidence(actor=OFFICER, authority=AUTH, evidence=[clash])
        rejected(when(state, command, now), InvalidCommand, "unique-ids", "evidence.0.evidence_id")

    def test_a_panel_member_cannot_become_a_witness(self) -> None:
        state, now = upto("panel")
        item = ex.evidence("E4", source_kind=SourceKind.WITNESS_STATEMENT,
                           witness_id=ex.PANEL_IDS[0])
        command = AddEvidence(actor=OFFICER, authority=AUTH, evidence=[item])
        rejected(when(state, command, now), DueProcessViolation, "panel-independence",
                 "evidence.0.witness_id")

    def test_an_unassigned_investigator_may_not_act(self) -> None:
        state, now = upto("assign")
        command = AddEvidence(actor=ex.actor("investigator", "someone-else"), authority=AUTH,
                              evidence=[ex.evidence("E4")])
        rejected(when(state, command, now), NotPermitted, "role-permission", "actor.id")


# --- Interim suspension ----------------------------------------------------------------


def impose(review_by: datetime | None = None) -> ImposeInterimSuspension:
    return ImposeInterimSuspension(actor=OFFICER, authority=AUTH, reasons="Risk to members.",
                                   review_by=review_by)


class TestInterimSuspension:
    def test_impose_removes_the_policy_rights_with_a_default_review(self) -> None:
        state, now = upto("triage")
        event = then_one(when(state, impose(), now), InterimSuspensionImposed)
        assert event.review_by == now + ex.DEADLINES.interim_suspension_review
        assert fold([event], state).rights_removed == frozenset(Right)

    def test_review_may_not_exceed_the_policy_period(self) -> None:
        state, now = upto("triage")
        late = now + ex.DEADLINES.interim_suspension_review + MINUTE
        rejected(when(state, impose(late), now), DueProcessViolation,
                 "interim-suspension-review", "review_by")

    def test_review_must_be_in_the_future(self) -> None:
        state, now = upto("triage")
        rejected(when(state, impose(now), now), InvalidCommand, "interim-suspension-review",
                 "review_by")

    def test_automated_report_needs_human_triage_first(self) -> None:
        state, now = upto("acknowledge", report=automated_report())
        rejected(when(state, impose(), now), DueProcessViolation,
                 "human-triage-of-automated-reports")

    def test_a_human_report_needs_triage_too(self) -> None:
        state, now = upto("acknowledge")
        rejected(when(state, impose(), now), InvalidCommand, "triage-before-investigation")

    def test_imposing_again_is_a_no_op_and_a_different_one_is_refused(self) -> None:
        state, now = upto("triage")
        state = apply(state, impose(), now)
        assert then(when(state, impose(), now + MINUTE)) == []
        other = impose(now + DAY).model_copy(update={"reasons": "Other"})
        rejected(when(state, other, now + MINUTE), InvalidCommand, "interim-suspension-active")

    def test_renew_moves_the_review_date(self) -> None:
        state, now = upto("triage")
        state = apply(state, impose(), now)
        later = now + 10 * DAY
        command = RenewInterimSuspension(actor=OFFICER, authority=AUTH, reasons="Still a risk.")
        event = then_one(when(state, command, later), InterimSuspensionRenewed)
        state = fold([event], state)
        assert state.interim is not None
        assert state.interim.review_by == later + ex.DEADLINES.interim_suspension_review
        explicit = command.model_copy(update={"review_by": state.interim.review_by})
        assert then(when(state, explicit, later)) == []

    def test_renew_needs_a_suspension(self) -> None:
        state, now = upto("triage")
        command = RenewInterimSuspension(actor=OFFICER, authority=AUTH, reasons="x")
        rejected(when(state, command, now), InvalidCommand, "no-interim-suspension")

    def test_lift_restores_rights_and_lifting_nothing_is_a_no_op(self) -> None:
        state, now = upto("triage")
        state = apply(state, impose(), now)
        command = LiftInterimSuspension(actor=OFFICER, authority=AUTH, reasons="Risk passed.")
        event = then_one(when(state, command, now + DAY), InterimSuspensionLifted)
        state = fold([event], state)
        assert state.rights_removed == frozenset()
        assert then(when(state, command, now + DAY)) == []

    def test_a_decision_ends_the_interim_suspension(self) -> None:
        state, now = upto("hold")
        state = apply(state, impose(), now)
        event = then_one(when(state, decision(), now + MINUTE), DecisionRecorded)
        assert event.interim_suspension_ended
        assert fold([event], state).interim is None

    def test_interim_suspension_is_not_a_sanction(self) -> None:
        with pytest.raises(ValidationError):
            Sanction.model_validate({"kind": "interim_suspension"})

    def test_no_interim_suspension_after_decision(self) -> None:
        state, now = upto("decide")
        rejected(when(state, impose(), now), InvalidCommand, "case-decided")


# --- Notice, disclosure, response --------------------------------------------------------


class TestNoticeAndDisclosure:
    def test_notice_cites_rules_consequences_and_response_date(self) -> None:
        state, now = upto("assign")
        command = IssueNotice(actor=ex.actor("investigator"), authority=AUTH)
        event = then_one(when(state, command, now), NoticeIssued)
        notice = event.allegations[0]
        assert (notice.rule_id, notice.policy_version, notice.rule_title) == (
            "R1", "2023.1", "Abuse and harassment")
        assert event.possible_consequences == [
            SanctionKind.WARNING, SanctionKind.SUSPENSION, SanctionKind.EXPULSION]
        assert event.response_due == now + ex.DEADLINES.respond
        assert event.complainant_identified

    def test_notice_for_an_automated_report_needs_human_triage(self) -> None:
        state, now = upto("acknowledge", report=automated_report())
        command = IssueNotice(actor=OFFICER, authority=AUTH)
        rejected(when(state, command, now), DueProcessViolation,
                 "human-triage-of-automated-reports")

    def test_same_notice_again_is_a_no_op_but_a_different_one_is_refused(self) -> None:
        state, now = upto("notice")
        same = IssueNotice(actor=OFFICER, authority=AUTH, allegation_ids=["A1"])
        assert then(when(state, same, now + MINUTE)) == []
        state, now = given("file", "triage", report=ex.file_report(
            allegations=[ex.allegation("A1"), ex.allegation("A2")]))
        state = apply(state, same, now)
        both = IssueNotice(actor=OFFICER, authority=AUTH)
        rejected(when(state, both, now), InvalidCommand, "notice-already-issued")

    def test_notice_lists_known_allegations(self) -> None:
        state, now = upto("assign")
        command = IssueNotice(actor=OFFICER, authority=AUTH, allegation_ids=["A9"])
        rejected(when(state, command, now), InvalidCommand, "unknown-allegation",
                 "allegation_ids.0")

    def test_withholding_the_complainant_needs_a_reason(self) -> None:
        state, now = upto("assign")
        command = IssueNotice(actor=OFFICER, authority=AUTH, complainant_withheld_reason=" ")
        rejected(when(state, command, now), InvalidCommand, "complainant-withheld-reason")
        command = command.model_copy(update={"complainant_withheld_reason": "Risk of reprisal."})
        event = then_one(when(state, command, now), NoticeIssued)
        assert not event.complainant_identified

    def test_disclose_records_withheld_and_redacted_items(self) -> None:
        state, now = upto("notice")
        command = DiscloseEvidence(
            actor=OFFICER, authority=AUTH, evidence_ids=["E1"],
            withheld=[WithheldEvidence(evidence_id="E3", reason="Witness safety.")],
            redactions=[Redaction(evidence_id="E1", description="third party's name",
                                  reason="Not relevant; protects a third party.")])
        event = then_one(when(state, command, now), EvidenceDisclosed)
        state = fold([event], state)
        assert set(state.disclosed_at) == {"E1"} and state.withheld == {"E3": "Witness safety."}
        assert then(when(state, command, now + MINUTE)) == []

    def test_disclosing_more_later_records_only_what_is_new(self) -> None:
        state, now = upto("notice")
        state = apply(state, DiscloseEvidence(actor=OFFICER, authority=AUTH,
                                              evidence_ids=["E1"]), now)
        command = DiscloseEvidence(actor=OFFICER, authority=AUTH, evidence_ids=["E1", "E3"])
        event = then_one(when(state, command, now + DAY), EvidenceDisclosed)
        assert event.evidence_ids == ["E3"]

    @pytest.mark.parametrize(("command", "rule", "field"), [
        (DiscloseEvidence(actor=OFFICER, authority=AUTH), "unknown-evidence", "evidence_ids"),
        (DiscloseEvidence(actor=OFFICER, authority=AUTH, evidence_ids=["E9"]),
         "unknown-evidence", "evidence_ids.0"),
        (DiscloseEvidence(actor=OFFICER, authority=AUTH, evidence_ids=["E1"],
                          withheld=[WithheldEvidence(evidence_id="E1", reason="r")]),
         "withheld-or-disclosed", "withheld.0.evidence_id"),
        (DiscloseEvidence(actor=OFFICER, authority=AUTH, redactions=[
            Redaction(evidence_id="E1", description="d", reason="r")]),
         "withheld-or-disclosed", "redactions.0.evidence_id"),
    ])
    def test_disclosure_must_make_sense(self, command: DiscloseEvidence, rule: str,
                                        field: str) -> None:
        state, now = upto("notice")
        rejected(when(state, command, now), InvalidCommand, rule, field)

    def test_disclosed_evidence_cannot_be_withheld_later(self) -> None:
        state, now = upto("disclose")
        command = DiscloseEvidence(actor=OFFICER, authority=AUTH,
                                   withheld=[WithheldEvidence(evidence_id="E1", reason="oops")])
        rejected(when(state, command, now), InvalidCommand, "withheld-or-disclosed")

    def test_respondent_responds(self) -> None:
        state, now = upto("disclose")
        command = ex.happy_path()[ORDER.index("respond")].command
        event = then_one(when(state, command, now + DAY), ResponseSubmitted)
        assert not event.late
        assert then(when(fold([event], state), command, now + 2 * DAY)) == []

    def test_a_late_response_is_heard_but_marked_late(self) -> None:
        state, now = upto("disclose")
        command = ex.happy_path()[ORDER.index("respond")].command
        event = then_one(when(state, command, now + 30 * DAY), ResponseSubmitted)
        assert event.late

    def test_only_the_respondent_responds(self) -> None:
        state, now = upto("disclose")
        command = SubmitResponse(actor=ex.actor("respondent", ex.COMPLAINANT_ID),
                                 authority=AUTH, statement=personal(ex.COMPLAINANT_ID, "x"))
        rejected(when(state, command, now), NotPermitted, "role-permission", "actor.id")

    def test_response_needs_a_notice(self) -> None:
        state, now = upto("assign")
        command = ex.happy_path()[ORDER.index("respond")].command
        rejected(when(state, command, now), InvalidCommand, "notice-before-response")


# --- Panel and hearing ---------------------------------------------------------------


class TestPanelAndHearing:
    def test_appoint_panel(self) -> None:
        state, now = upto("respond")
        command = AppointPanel(actor=OFFICER, authority=AUTH, members=ex.panel(*ex.PANEL_IDS))
        then(when(state, command, now), "PanelAppointed")

    def test_same_panel_again_is_a_no_op(self) -> None:
        state, now = upto("panel")
        command = AppointPanel(actor=OFFICER, authority=AUTH, members=ex.panel(*ex.PANEL_IDS))
        assert then(when(state, command, now)) == []

    def test_every_member_declares_interests(self) -> None:
        state, now = upto("respond")
        members = [PanelMember(member_id="p1", declared=True),
                   PanelMember(member_id="p2", declared=False)]
        command = AppointPanel(actor=OFFICER, authority=AUTH, members=members)
        rejected(when(state, command, now), DueProcessViolation, "conflict-declaration",
                 "members.1.declared")

    @pytest.mark.parametrize("who", [ex.COMPLAINANT_ID, ex.RESPONDENT_ID, ex.WITNESS_ID,
                                     ex.INVESTIGATOR_ID])
    def test_panel_is_independent(self, who: str) -> None:
        state, now = upto("respond")
        command = AppointPanel(actor=OFFICER, authority=AUTH, members=ex.panel("p1", who))
        rejected(when(state, command, now), DueProcessViolation, "panel-independence",
                 "members.1.member_id")

    def test_panel_members_are_unique(self) -> None:
        state, now = upto("respond")
        command = AppointPanel(actor=OFFICER, authority=AUTH, members=ex.panel("p1", "p1"))
        rejected(when(state, command, now), InvalidCommand, "unique-ids")

    def test_panel_is_fixed_once_the_hearing_is_held(self) -> None:
        state, now = upto("hold")
        command = AppointPanel(actor=OFFICER, authority=AUTH, members=ex.panel("p9"))
        rejected(when(state, command, now), InvalidCommand, "hearing-already-held")

    def schedule(self, at: datetime) -> ScheduleHearing:
        return ScheduleHearing(actor=OFFICER, authority=AUTH, at=at, location="Room 2")

    def test_schedule_hearing(self) -> None:
        state, now = upto("panel")
        then(when(state, self.schedule(now + 20 * DAY), now), "HearingScheduled")

    def test_rescheduling_to_the_same_time_is_a_no_op(self) -> None:
        state, now = upto("schedule")
        command = ex.happy_path()[ORDER.index("schedule")].command
        assert then(when(state, command, now + DAY)) == []

    def test_no_hearing_before_notice(self) -> None:
        state, now = given("file", "triage", "panel")
        rejected(when(state, self.schedule(now + 20 * DAY), now), DueProcessViolation,
                 "notice-before-hearing")

    def test_no_hearing_before_disclosure(self) -> None:
        state, now = given("file", "triage", "notice", "panel")
        rejected(when(state, self.schedule(now + 20 * DAY), now), DueProcessViolation,
                 "disclosure-before-hearing")

    def test_no_hearing_without_a_panel(self) -> None:
        state, now = upto("respond")
        rejected(when(state, self.schedule(now + 20 * DAY), now), InvalidCommand,
                 "panel-before-hearing")

    def test_minimum_notice_of_the_hearing(self) -> None:
        state, now = upto("panel")
        too_soon = now + ex.DEADLINES.minimum_hearing_notice - MINUTE
        rejected(when(state, self.schedule(too_soon), now), DueProcessViolation,
                 "minimum-hearing-notice", "at")

    def test_disclosure_lead_time_before_the_hearing(self) -> None:
        short_notice = ex.DEADLINES.model_copy(update={"minimum_hearing_notice": 3 * DAY})
        state, now = upto("panel", policy=ex.example_policy(short_notice))
        state = apply(state, AddEvidence(actor=OFFICER, authority=AUTH,
                                         evidence=[ex.evidence("E4", captured_at=now)]), now)
        state = apply(state, DiscloseEvidence(actor=OFFICER, authority=AUTH,
                                              evidence_ids=["E4"]), now)
        rejected(when(state, self.schedule(now + 4 * DAY), now), DueProcessViolation,
                 "disclosure-lead-time", "at")

    def test_hearing_held(self) -> None:
        state, _ = upto("schedule")
        command = ex.happy_path()[ORDER.index("hold")].command
        then(when(state, command, ex.HEARING_AT), "HearingHeld")

    def test_hearing_held_twice_is_a_no_op(self) -> None:
        state, now = upto("hold")
        command = ex.happy_path()[ORDER.index("hold")].command
        assert then(when(state, command, now + MINUTE)) == []

    def test_hearing_cannot_be_held_before_its_time(self) -> None:
        state, _ = upto("schedule")
        command = ex.happy_path()[ORDER.index("hold")].command
        rejected(when(state, command, ex.HEARING_AT - MINUTE), InvalidCommand,
                 "hearing-not-yet-due")

    def test_hearing_needs_scheduling(self) -> None:
        state, now = upto("panel")
        command = ex.happy_path()[ORDER.index("hold")].command
        rejected(when(state, command, now), InvalidCommand, "hearing-not-scheduled")

    def test_a_panel_member_must_attend(self) -> None:
        state, _ = upto("schedule")
        command = RecordHearingHeld(actor=OFFICER, authority=AUTH, attendees=[ex.RESPONDENT_ID],
                                    respondent_attended=True)
        rejected(when(state, command, ex.HEARING_AT), InvalidCommand, "panel-heard-the-case",
                 "attendees")


# --- Decision --------------------------------------------------------------------------


class TestDecision:
    def test_decision_records_appeal_route_and_statement_of_reasons(self) -> None:
        state, now = upto("hold")
        event = then_one(when(state, decision(ex.finding(sanction=SUSPENSION)), now),
                         DecisionRecorded)
        assert event.appeal_deadline == now + ex.DEADLINES.appeal_window
        assert event.sanction == SUSPENSION
        reasons = event.statement_of_reasons
        assert reasons is not None
        assert reasons.decision_account == "account_suspended"
        assert reasons.end_date == now + SUSPENSION_TERM
        assert "R1" in reasons.incompatible_content_ground
        assert not reasons.automated_detection

    def test_the_most_severe_sanction_governs(self) -> None:
        report = ex.file_report(allegations=[ex.allegation("A1"), ex.allegation("A2", "R2")])
        state, now = given(*ORDER[:ORDER.index("hold") + 1], report=report)
        command = decision(ex.finding("A1", sanction=SUSPENSION),
                           ex.finding("A2", sanction=ex.WARNING))
        event = then_one(when(state, command, now), DecisionRecorded)
        assert event.sanction == SUSPENSION

    def test_only_panel_members_decide(self) -> None:
        state, now = upto("hold")
        command = decision(actor_id="staff-outsider")
        rejected(when(state, command, now), NotPermitted, "role-permission", "actor.id")

    def test_only_a_member_who_heard_the_case_decides(self) -> None:
        state, _ = upto("schedule")
        state = apply(state, RecordHearingHeld(actor=OFFICER, authority=AUTH,
                                               attendees=[ex.PANEL_IDS[0]],
                                               respondent_attended=False), ex.HEARING_AT)
        rejected(when(state, decision(actor_id=ex.PANEL_IDS[1]), ex.HEARING_AT),
                 NotPermitted, "panel-heard-the-case", "actor.id")

    def test_no_decision_before_notice(self) -> None:
        state, now = given("file", "triage", "panel")
        rejected(when(state, decision(), now), DueProcessViolation, "notice-before-hearing")

    def test_no_decision_before_disclosure(self) -> None:
        state, now = given("file", "triage", "notice", "panel")
        rejected(when(state, decision(), now), DueProcessViolation, "disclosure-before-hearing")

    def test_no_decision_before_a_hearing(self) -> None:
        state, now = upto("schedule")
        rejected(when(state, decision(), now), DueProcessViolation, "hearing-before-decision")

    def test_relies_only_on_disclosed_evidence(self) -> None:
        state, now = given("file", "triage", "notice")
        state = apply(state, DiscloseEvidence(actor=OFFICER, authority=AUTH,
                                              evidence_ids=["E3"]), now)
        state = then_steps(state, "panel", "schedule", "hold")
        rejected(when(state, decision(), ex.HEARING_AT), DueProcessViolation,
                 "disclosure-before-reliance", "findings.0.relied_on_evidence.0")

    def test_never_relies_on_inadmissible_evidence(self) -> None:
        state, now = upto("hold")
        command = decision(ex.finding(sanction=ex.WARNING, relied_on=["E2"]))
        rejected(when(state, command, now), DueProcessViolation, "evidence-admissibility",
                 "findings.0.relied_on_evidence.0")

    def test_never_relies_on_evidence_disclosed_too_late(self) -> None:
        state, _ = upto("schedule")
        late = ex.HEARING_AT - ex.DEADLINES.disclosure_lead_time + MINUTE
        state = apply(state, AddEvidence(actor=OFFICER, authority=AUTH,
                                         evidence=[ex.evidence("E4", captured_at=late)]), late)
        state = apply(state, DiscloseEvidence(actor=OFFICER, authority=AUTH,
                                              evidence_ids=["E4"]), late)
        state = apply(state, ex.happy_path()[ORDER.index("hold")].command, ex.HEARING_AT)
        command = decision(ex.finding(sanction=ex.WARNING, relied_on=["E1", "E4"]))
        rejected(when(state, command, ex.HEARING_AT), DueProcessViolation,
                 "disclosure-lead-time", "findings.0.relied_on_evidence.1")

    def test_unknown_evidence_is_refused(self) -> None:
        state, now = upto("hold")
        command = decision(ex.finding(relied_on=["E9"]))
        rejected(when(state, command, now), InvalidCommand, "unknown-evidence")

    @pytest.mark.parametrize(("sanction", "error", "rule", "field"), [
        (Sanction(kind=SanctionKind.SUSPENSION), InvalidCommand, "sanction-term",
         "findings.0.sanction.term"),
        (Sanction(kind=SanctionKind.WARNING, term=DAY), InvalidCommand, "sanction-term",
         "findings.0.sanction.term"),
        (Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=366)), PolicyViolation,
         "sanction-allowed-by-rule", "findings.0.sanction"),
    ])
    def test_sanction_shape_and_cap(self, sanction: Sanction, error: type[DomainError],
                                    rule: str, field: str) -> None:
        state, now = upto("hold")
        rejected(when(state, decision(ex.finding(sanction=sanction)), now), error, rule, field)

    def test_sanction_must_be_allowed_by_the_rule(self) -> None:
        report = ex.file_report(allegations=[ex.allegation("A1", "R2")])
        state, now = given(*ORDER[:ORDER.index("hold") + 1], report=report)
        rejected(when(state, decision(ex.finding(sanction=SUSPENSION)), now), PolicyViolation,
                 "sanction-allowed-by-rule", "findings.0.sanction")

    def test_sanction_is_judged_by_the_version_in_force_on_the_conduct_date(self) -> None:
        # R1 allows expulsion since 2023, but not in 2019.1, which governs 2021 conduct.
        report = ex.file_report(allegations=[ex.allegation(conduct_date=ex.OLD_CONDUCT_DATE)])
        state, now = given(*ORDER[:ORDER.index("hold") + 1], report=report)
        expel = Sanction(kind=SanctionKind.EXPULSION)
        rejected(when(state, decision(ex.finding(sanction=expel)), now), PolicyViolation,
                 "sanction-allowed-by-rule", "findings.0.sanction")
        state2, now2 = upto("hold")
        then(when(state2, decision(ex.finding(sanction=expel)), now2), "DecisionRecorded")

    def test_a_sanction_needs_an_upheld_finding(self) -> None:
        state, now = upto("hold")
        command = decision(ex.finding(upheld=False, sanction=ex.WARNING))
        rejected(when(state, command, now), InvalidCommand, "sanction-requires-upheld-finding")

    def test_every_noticed_allegation_gets_a_finding(self) -> None:
        report = ex.file_report(allegations=[ex.allegation("A1"), ex.allegation("A2")])
        state, now = given(*ORDER[:ORDER.index("hold") + 1], report=report)
        rejected(when(state, decision(ex.finding("A1")), now), InvalidCommand,
                 "decision-covers-every-allegation", "findings")

    def test_no_finding_on_an_allegation_never_put(self) -> None:
        report = ex.file_report(allegations=[ex.allegation("A1"), ex.allegation("A2")])
        state, now = given(*ORDER[:ORDER.index("triage") + 1], report=report)
        state = apply(state, IssueNotice(actor=OFFICER, authority=AUTH, allegation_ids=["A1"]),
                      now)
        state = then_steps(state, "disclose", "panel", "schedule", "hold")
        command = decision(ex.finding("A1"), ex.finding("A2"))
        rejected(when(state, command, ex.HEARING_AT), DueProcessViolation,
                 "notice-before-hearing", "findings.1.allegation_id")

    def test_no_solely_automated_sanction(self) -> None:
        state, now = upto("hold")
        rejected(when(state, decision(automated=AutomatedDecision.FULLY), now),
                 DueProcessViolation, "no-solely-automated-decision", "automated_decision")

    def test_automated_report_records_automated_detection(self) -> None:
        state, now = upto("hold", report=automated_report())
        event = then_one(when(state, decision(), now), DecisionRecorded)
        assert event.automated_detection
        assert event.statement_of_reasons is not None
        assert event.statement_of_reasons.source_type == "automated_detection"

    def test_automated_report_without_human_triage_gets_no_sanction(self) -> None:
        events, now = events_of(*ORDER[:ORDER.index("hold") + 1], report=automated_report())
        state = fold([e for e in events if e.type != "CaseTriaged"], CaseState.empty(CASE_ID))
        rejected(when(state, decision(), now), DueProcessViolation,
                 "human-triage-of-automated-reports")

    def test_decision_retried_is_a_no_op_and_a_new_one_is_refused(self) -> None:
        state, now = upto("decide")
        assert then(when(state, ex.happy_path()[ORDER.index("decide")].command, now)) == []
        other = decision(ex.finding(upheld=False))
        rejected(when(state, other, now), InvalidCommand, "decision-already-recorded")


# --- Appeal ----------------------------------------------------------------------------


class TestAppeal:
    def test_lodge_within_the_window(self) -> None:
        state, now = upto("decide")
        then(when(state, lodge(), now + DAY), "AppealLodged")

    def test_lodge_twice_is_a_no_op(self) -> None:
        state, now = upto("decide")
        state = apply(state, lodge(), now + DAY)
        assert then(when(state, lodge(), now + DAY)) == []
        other = LodgeAppeal(actor=RESPONDENT, authority=AUTH,
                            grounds=personal(ex.RESPONDENT_ID, "different"))
        rejected(when(state, other, now + DAY), InvalidCommand, "appeal-already-lodged")

    def test_lodge_after_the_window_is_refused(self) -> None:
        state, now = upto("decide")
        late = now + ex.DEADLINES.appeal_window + MINUTE
        rejected(when(state, lodge(), late), DueProcessViolation, "appeal-window")
        state, now = upto("close_window")
        rejected(when(state, lodge(), now), DueProcessViolation, "appeal-window")

    def test_only_the_respondent_appeals(self) -> None:
        state, now = upto("decide")
        command = lodge().model_copy(update={"actor": ex.actor("complainant")})
        rejected(when(state, command, now), NotPermitted, "role-permission")

    def test_nothing_to_appeal_when_nothing_was_upheld(self) -> None:
        state, now = upto("hold")
        state = apply(state, decision(ex.finding(upheld=False)), now)
        rejected(when(state, lodge(), now), InvalidCommand, "nothing-to-appeal")

    def test_appeal_needs_a_decision(self) -> None:
        state, now = upto("hold")
        rejected(when(state, lodge(), now), InvalidCommand, "decision-before-appeal")

    def test_appoint_appeal_panel(self) -> None:
        state, now = upto("decide")
        state = apply(state, lodge(), now + DAY)
        then(when(state, appoint_appeal(), now + DAY), "AppealPanelAppointed")

    def test_same_appeal_panel_is_a_no_op(self) -> None:
        state, now = appealed()
        assert then(when(state, appoint_appeal(), now)) == []

    @pytest.mark.parametrize("who", [ex.PANEL_IDS[1], ex.INVESTIGATOR_ID, ex.WITNESS_ID,
                                     ex.COMPLAINANT_ID])
    def test_appeal_panel_was_not_previously_involved(self, who: str) -> None:
        state, now = upto("decide")
        state = apply(state, lodge(), now + DAY)
        rejected(when(state, appoint_appeal("a1", who), now + DAY), DueProcessViolation,
                 "panel-independence", "members.1.member_id")

    def test_appeal_panel_declares_interests(self) -> None:
        state, now = upto("decide")
        state = apply(state, lodge(), now + DAY)
        command = AppointAppealPanel(actor=OFFICER, authority=AUTH,
                                     members=[PanelMember(member_id="a1", declared=False)])
        rejected(when(state, command, now), DueProcessViolation, "conflict-declaration")

    def test_appeal_panel_needs_an_appeal(self) -> None:
        state, now = upto("decide")
        rejected(when(state, appoint_appeal(), now), InvalidCommand, "appeal-lodged")

    @pytest.mark.parametrize("outcome", [AppealOutcome.DISMISSED, AppealOutcome.ALLOWED])
    def test_decide_appeal(self, outcome: AppealOutcome) -> None:
        state, now = appealed()
        then(when(state, appeal_decision(outcome), now + DAY), "AppealDecided")

    def test_vary_the_sanction_within_the_rule(self) -> None:
        state, now = appealed()
        command = appeal_decision(AppealOutcome.SANCTION_VARIED, ex.WARNING)
        state = fold(then(when(state, command, now + DAY), "AppealDecided"), state)
        assert state.effective_sanction == ex.WARNING

    def test_varied_sanction_must_be_allowed_by_the_rule(self) -> None:
        state, now = appealed()
        command = appeal_decision(AppealOutcome.SANCTION_VARIED,
                                  Sanction(kind=SanctionKind.SUSPENSION, term=400 * DAY))
        rejected(when(state, command, now), PolicyViolation, "sanction-allowed-by-rule",
                 "new_sanction")

    def test_new_sanction_only_when_varied(self) -> None:
        state, now = appealed()
        rejected(when(state, appeal_decision(AppealOutcome.SANCTION_VARIED), now),
                 InvalidCommand, "sanction-varied", "new_sanction")
        rejected(when(state, appeal_decision(AppealOutcome.DISMISSED, ex.WARNING), now),
                 InvalidCommand, "sanction-varied", "new_sanction")

    def test_only_the_appeal_panel_decides(self) -> None:
        state, now = appealed()
        command = appeal_decision(AppealOutcome.ALLOWED).model_copy(
            update={"actor": ex.actor("appeal_panel_member", ex.PANEL_IDS[0])})
        rejected(when(state, command, now), NotPermitted, "role-permission", "actor.id")

    def test_appeal_decision_retried_is_a_no_op(self) -> None:
        state, now = appealed()
        state = apply(state, appeal_decision(AppealOutcome.DISMISSED), now)
        assert then(when(state, appeal_decision(AppealOutcome.DISMISSED), now)) == []
        rejected(when(state, appeal_decision(AppealOutcome.ALLOWED), now), InvalidCommand,
                 "appeal-decided")


# --- Sanction, reinstatement, closure -----------------------------------------------------


CARRY_OUT = CarryOutSanction(actor=OFFICER, authority=AUTH)
REINSTATE = Reinstate(actor=OFFICER, authority=AUTH, apology="We are sorry.")
CLOSE = CloseCase(actor=OFFICER, authority=AUTH)


class TestSanctionAndClosure:
    def test_suspension_is_carried_out_after_the_window_with_an_end(self) -> None:
        state, now = upto("close_window", sanction=SUSPENSION)
        event = then_one(when(state, CARRY_OUT, now + DAY), SanctionApplied)
        assert event.ends_at == now + DAY + SUSPENSION_TERM
        assert event.status == "suspended"
        state = fold([event], state)
        assert state.rights_removed == frozenset(Right)
        assert then(when(state, CARRY_OUT, now + DAY)) == []

    def test_not_while_the_window_is_open(self) -> None:
        state, now = upto("decide")
        rejected(when(state, CARRY_OUT, now), DueProcessViolation, "appeal-window")

    def test_not_while_an_appeal_is_pending(self) -> None:
        state, now = appealed()
        rejected(when(state, CARRY_OUT, now), DueProcessViolation, "appeal-pending")

    def test_after_a_dismissed_appeal_even_before_the_window_closes(self) -> None:
        state, now = appealed()
        state = apply(state, appeal_decision(AppealOutcome.DISMISSED), now)
        then(when(state, CARRY_OUT, now), "SanctionApplied")

    def test_a_varied_sanction_is_what_is_carried_out(self) -> None:
        state, now = appealed()
        state = apply(state, appeal_decision(AppealOutcome.SANCTION_VARIED, ex.WARNING), now)
        event = then_one(when(state, CARRY_OUT, now), SanctionApplied)
        assert event.sanction == ex.WARNING

    def test_nothing_to_carry_out_after_an_allowed_appeal(self) -> None:
        state, now = appealed()
        state = apply(state, appeal_decision(AppealOutcome.ALLOWED), now)
        rejected(when(state, CARRY_OUT, now), InvalidCommand, "no-sanction")

    def test_reinstate_after_an_allowed_appeal_corrects_the_record(self) -> None:
        state, now = appealed()
        state = apply(state, appeal_decision(AppealOutcome.ALLOWED), now)
        rejected(when(state, CLOSE, now), InvalidCommand, "nothing-pending")
        event = then_one(when(state, REINSTATE, now), MemberReinstated)
        assert event.record_corrected and event.continuity_preserved
        state = fold([event], state)
        assert state.stage is CaseStage.REINSTATED
        assert then(when(state, REINSTATE, now)) == []
        then(when(state, CLOSE, now), "CaseClosed")

    def test_nothing_to_reinstate(self) -> None:
        state, now = upto("decide")
        rejected(when(state, REINSTATE, now), InvalidCommand, "nothing-to-reinstate")

    def test_close_a_dismissed_case(self) -> None:
        state, now = upto("acknowledge")
        state = apply(state, triage(TriageOutcome.DISMISS, DismissalReason.NO_CASE_TO_ANSWER),
                      now)
        then(when(state, CLOSE, now), "CaseClosed")

    @pytest.mark.parametrize("step", ["triage", "decide", "close_window"])
    def test_close_refused_while_something_is_pending(self, step: str) -> None:
        state, now = upto(step)
        rejected(when(state, CLOSE, now), InvalidCommand, "nothing-pending")

    def test_close_without_a_sanction_once_the_window_closes(self) -> None:
        state, _ = upto("close", sanction=None)
        assert state.stage is CaseStage.CLOSED

    def test_closed_case_refuses_commands_but_not_retries_or_stale_timers(self) -> None:
        state, now = upto("close")
        rejected(when(state, REINSTATE, now), CaseClosedError, "case-closed")
        assert then(when(state, CLOSE, now)) == []
        stale = EscalateMissedDeadline(actor=SYSTEM_ACTOR, authority="t", kind="respond",
                                       due_at=now)
        assert then(when(state, stale, now)) == []


# --- Deadlines and timers ----------------------------------------------------------------


def deadline(state: CaseState, kind: DeadlineKind) -> tuple[CaseCommand, datetime]:
    found = [d for d in pending_deadlines(state) if d.kind is kind]
    assert len(found) == 1, pending_deadlines(state)
    return found[0].command, found[0].due_at


class TestDeadlines:
    def test_acknowledgement_deadline_escalates(self) -> None:
        state, _ = upto("file")
        command, due = deadline(state, DeadlineKind.ACKNOWLEDGE)
        assert due == ex.T0 + ex.DEADLINES.acknowledge
        assert command.actor == SYSTEM_ACTOR
        assert command.authority == "policy:2023.1#deadlines.acknowledge"
        rejected(when(state, command, due - MINUTE), InvalidCommand, "deadline-not-reached")
        event = then_one(when(state, command, due), DeadlineMissed)
        state = fold([event], state)
        assert not [d for d in pending_deadlines(state) if d.kind is DeadlineKind.ACKNOWLEDGE]
        assert then(when(state, command, due)) == []

    def test_acknowledgement_in_time_makes_the_timer_a_no_op(self) -> None:
        before, _ = upto("file")
        command, due = deadline(before, DeadlineKind.ACKNOWLEDGE)
        state, _ = upto("acknowledge")
        assert then(when(state, command, due)) == []

    def test_response_deadline_escalates_and_the_case_proceeds(self) -> None:
        state, _ = upto("disclose")
        command, due = deadline(state, DeadlineKind.RESPOND)
        assert command.authority == "policy:2023.1#deadlines.respond"
        event = then_one(when(state, command, due), DeadlineMissed)
        assert event.kind == "respond"
        state = fold([event], state)
        state = apply(state, ex.happy_path()[ORDER.index("panel")].command, due)
        schedule = ScheduleHearing(actor=OFFICER, authority=AUTH, at=due + 20 * DAY,
                                   location="Room 3")
        then(when(state, schedule, due), "HearingScheduled")

    def test_a_response_in_time_makes_the_timer_a_no_op(self) -> None:
        before, _ = upto("disclose")
        command, due = deadline(before, DeadlineKind.RESPOND)
        state, _ = upto("respond")
        assert then(when(state, command, due)) == []

    def test_interim_suspension_lapses_at_review_unless_renewed(self) -> None:
        state, now = upto("triage")
        state = apply(state, impose(), now)
        command, due = deadline(state, DeadlineKind.INTERIM_SUSPENSION_REVIEW)
        event = then_one(when(state, command, due), InterimSuspensionLapsed)
        assert fold([event], state).rights_removed == frozenset()
        renewed = apply(state, RenewInterimSuspension(actor=OFFICER, authority=AUTH,
                                                      reasons="Still needed."), now + DAY)
        assert then(when(renewed, command, due)) == []
        new_command, new_due = deadline(renewed, DeadlineKind.INTERIM_SUSPENSION_REVIEW)
        assert new_due > due and isinstance(new_command, LapseInterimSuspension)

    def test_appeal_window_closes(self) -> None:
        state, now = upto("decide")
        command, due = deadline(state, DeadlineKind.APPEAL_WINDOW)
        assert isinstance(command, CloseAppealWindow)
        assert due == now + ex.DEADLINES.appeal_window
        state = fold(then(when(state, command, due), "AppealWindowClosed"), state)
        assert then(when(state, command, due)) == []

    def test_suspension_ends_and_the_member_is_reinstated(self) -> None:
        state, _ = upto("carry_out", sanction=SUSPENSION)
        command, due = deadline(state, DeadlineKind.SANCTION_END)
        assert isinstance(command, EndSanction)
        rejected(when(state, command, due - MINUTE), InvalidCommand, "deadline-not-reached")
        events = then(when(state, command, due), "SanctionEnded", "MemberReinstated")
        state = fold(events, state)
        assert state.rights_removed == frozenset() and state.stage is CaseStage.REINSTATED
        reinstated = events[1]
        assert isinstance(reinstated, MemberReinstated)
        assert reinstated.rights_restored == sorted(Right)
        assert then(when(state, command, due)) == []
        then(when(state, CLOSE, due), "CaseClosed")
        assert pending_deadlines(fold([], apply(state, CLOSE, due))) == []

    def test_only_the_system_fires_timers(self) -> None:
        state, _ = upto("file")
        command, due = deadline(state, DeadlineKind.ACKNOWLEDGE)
        forged = command.model_copy(update={"actor": OFFICER})
        rejected(when(state, forged, due), NotPermitted, "role-permission")


# --- Time and ordering -------------------------------------------------------------------


class TestTime:
    def test_effective_at_records_an_earlier_act(self) -> None:
        state, _ = upto("schedule")
        command = ex.happy_path()[ORDER.index("hold")].command.model_copy(
            update={"effective_at": ex.HEARING_AT})
        event = then_one(when(state, command, ex.HEARING_AT + DAY), HearingHeld)
        assert event.effective_at == ex.HEARING_AT

    def test_cannot_record_the_future(self) -> None:
        state, now = upto("file")
        command = AcknowledgeReport(actor=OFFICER, authority=AUTH, effective_at=now + DAY)
        rejected(when(state, command, now), InvalidCommand, "effective-at-not-in-future",
                 "effective_at")

    def test_records_go_in_order(self) -> None:
        state, now = given("file", "triage")
        command = AcknowledgeReport(actor=OFFICER, authority=AUTH, effective_at=now - MINUTE)
        rejected(when(state, command, now), InvalidCommand, "effective-at-order", "effective_at")

    def test_now_must_be_aware(self) -> None:
        state, now = upto("file")
        with pytest.raises(ValueError, match="timezone-aware"):
            decide(state, AcknowledgeReport(actor=OFFICER, authority=AUTH),
                   now.replace(tzinfo=None))


# --- Notifications --------------------------------------------------------------------------


def notes(names: tuple[str, ...], *, report: FileReport | None = None,
          sanction: Sanction | None = ex.WARNING) -> dict[str, list[tuple[str, str]]]:
    """Each event type in the path -> [(recipient_role, notification_id)]."""
    events, _ = events_of(*names, report=report, sanction=sanction)
    state = CaseState.empty(CASE_ID)
    sent: dict[str, list[tuple[str, str]]] = {}
    for index, event in enumerate(events):
        state = evolve(state, event)
        sent[event.type] = [(n.recipient_role, n.notification_id)
                            for n in notifications_for(state, event, f"ev-{index}")]
    return sent


class TestNotifications:
    def test_who_is_told_what(self) -> None:
        sent = notes(tuple(ORDER))
        assert sent["ReportFiled"] == []
        assert sent["ReportAcknowledged"] == [("complainant", "ev-1:complainant")]
        assert [r for r, _ in sent["NoticeIssued"]] == ["respondent"]
        assert [r for r, _ in sent["EvidenceDisclosed"]] == ["respondent"]
        assert [r for r, _ in sent["HearingScheduled"]] == ["respondent"]
        assert [r for r, _ in sent["DecisionRecorded"]] == ["respondent", "complainant"]
        assert [r for r, _ in sent["SanctionApplied"]] == ["respondent"]

    def test_notice_carries_particulars_as_personal_details_not_in_the_body(self) -> None:
        events, _ = events_of("file", "triage", "notice")
        state = fold(events, CaseState.empty(CASE_ID))
        (note,) = notifications_for(state, events[-1], "ev-9")
        assert note.recipient is not None and note.recipient.value == "Bob Respondent"
        assert note.address is not None and note.address.value == "bob@example.org"
        assert "R1" in note.body and "what happened" not in note.body
        assert [d.value for d in note.details] == ["A1: what happened", "Ada Member"]

    def test_decision_tells_how_to_appeal(self) -> None:
        events, _ = events_of(*ORDER[:ORDER.index("decide") + 1])
        state = fold(events, CaseState.empty(CASE_ID))
        respondent, complainant = notifications_for(state, events[-1], "ev")
        assert "Write to the appeals committee." in respondent.body
        assert "upheld" in complainant.body

    def test_an_automated_detector_is_told_nothing(self) -> None:
        sent = notes(("file", "acknowledge", "triage"), report=automated_report())
        assert sent["ReportAcknowledged"] == [] and sent["CaseTriaged"] == []

    def test_reinstatement_and_appeal_outcome(self) -> None:
        state, now = appealed()
        events = decide(state, appeal_decision(AppealOutcome.ALLOWED), now)
        state = fold(events, state)
        roles = [n.recipient_role for n in notifications_for(state, events[0], "a")]
        assert roles == ["respondent", "complainant"]
        events = decide(state, REINSTATE, now)
        state = fold(events, state)
        (note,) = notifications_for(state, events[0], "r")
        assert "record has been corrected" in note.body and "We are sorry." in note.body

    def test_no_notifications_for_an_empty_case(self) -> None:
        events, _ = events_of("file", "acknowledge")
        assert notifications_for(CaseState.empty(CASE_ID), events[-1], "x") == []


# --- Wire format ----------------------------------------------------------------------------


class TestWireFormat:
    def test_commands_events_deadlines_and_state_round_trip_through_json(self) -> None:
        state = CaseState.empty(CASE_ID)
        for step in ex.happy_path(SUSPENSION):
            command = CASE_COMMAND_ADAPTER.validate_json(
                CASE_COMMAND_ADAPTER.dump_json(step.command))
            assert command == step.command
            events = decide(state, command, step.now)
            for event in events:
                assert CASE_EVENT_ADAPTER.validate_json(
                    CASE_EVENT_ADAPTER.dump_json(event)) == event
            state = fold(events, state)
            for pending in pending_deadlines(state):
                assert Deadline.model_validate_json(pending.model_dump_json()) == pending
        assert CaseState.model_validate_json(state.model_dump_json()) == state

    def test_durations_are_written_in_days(self) -> None:
        long = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=365))
        assert long.model_dump(mode="json")["term"] == "P365D"

    def test_the_type_field_picks_the_class(self) -> None:
        raw = {"type": "CloseCase", "actor": OFFICER.model_dump(), "authority": AUTH}
        assert isinstance(CASE_COMMAND_ADAPTER.validate_python(raw), CloseCase)
