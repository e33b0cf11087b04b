"""DSA Art 23: a reporter whose reports are dismissed as manifestly unfounded ``threshold``
times within the window is warned; their later reports are held (recorded, not
processed) until the hold ends or a contest decided by someone uninvolved lifts it.

Given a case and the reporter's record as the workflow reads it, when the system or a
person decides a command, then the events, or a rejection naming the rule and field.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeAlias

from dueprocess.domain.base import SYSTEM_ACTOR, DomainError, InvalidCommand, NotPermitted
from dueprocess.domain.base import personal as personal_value
from dueprocess.domain.case import (
    AcknowledgeReport,
    CaseEvent,
    CaseStage,
    CaseState,
    ContestHold,
    DeadlineKind,
    DecideHoldContest,
    HoldContestDecided,
    HoldContested,
    HoldReleased,
    HoldReport,
    ReleaseHold,
    ReporterRecord,
    ReporterWarned,
    ReporterWarning,
    ReportHeld,
    TriageCase,
    TriageOutcome,
    UnfoundedDismissal,
    WarnReporter,
    decide,
    fold,
    notifications_for,
    pending_deadlines,
)
from dueprocess.domain.case.reporter import reporter_record
from dueprocess.domain.case.values import DismissalReason
from dueprocess.domain.policy import PolicyDocument, RepeatReporting
from dueprocess.domain.rules.catalogue import first_violation
from fixtures import case_examples as ex

DAY = timedelta(days=1)
T0 = ex.T0
OFFICER = ex.actor("case_officer")
OTHER_OFFICER = ex.actor("case_officer", "staff-officer-2")
REPORTER = ex.COMPLAINANT_ID
CONFIG = RepeatReporting(threshold=3, window=timedelta(days=180),
                         hold_period=timedelta(days=90),
                         warning="Several of your reports were manifestly unfounded.")

Result: TypeAlias = list[CaseEvent] | DomainError


def policy(config: RepeatReporting | None = CONFIG) -> PolicyDocument:
    base = ex.example_policy()
    versions = [v.model_copy(update={"repeat_reporting": config}) for v in base.versions]
    return base.model_copy(update={"versions": versions})


def when(state: CaseState, command: object, now: datetime) -> Result:
    try:
        return decide(state, command, now)  # type: ignore[arg-type]
    except DomainError as error:
        return error


def rejected(result: Result, error: type[DomainError], rule: str,
             field: str | None = None) -> None:
    assert isinstance(result, error), f"expected {error.__name__}({rule}), got {result}"
    assert (result.rule, result.field) == (rule, field), str(result)


def step(state: CaseState, command: object, now: datetime) -> CaseState:
    result = when(state, command, now)
    assert not isinstance(result, DomainError), result
    return fold(result, state)


def filed(config: RepeatReporting | None = CONFIG, case_id: str = "case-1") -> CaseState:
    return step(CaseState.empty(case_id), ex.file_report(policy=policy(config)), T0)


def dismissed(config: RepeatReporting | None = CONFIG, by: str = ex.OFFICER_ID) -> CaseState:
    triage = TriageCase(actor=ex.actor("case_officer", by), authority=ex.AUTHORITY,
                        outcome=TriageOutcome.DISMISS, reasons="Nothing in it.",
                        dismissal_reason=DismissalReason.MANIFESTLY_UNFOUNDED)
    return step(filed(config), triage, T0 + DAY)


def prior(*days_before: int, by: str = "staff-officer-9") -> list[UnfoundedDismissal]:
    return [UnfoundedDismissal(case_id=f"case-p{d}", dismissed_at=T0 - d * DAY, dismissed_by=by)
            for d in days_before]


def warn(record: ReporterRecord) -> WarnReporter:
    return WarnReporter(actor=SYSTEM_ACTOR, authority="policy:2023.1#repeat_reporting",
                        record=record)


WARNED_AT = T0 - 10 * DAY
WARNING = ReporterWarning(case_id="case-w", warned_at=WARNED_AT,
                          hold_until=WARNED_AT + CONFIG.hold_period,
                          involved=["staff-officer-9"])
WARNED = ReporterRecord(reporter_id=REPORTER, warnings=[WARNING])


def hold(record: ReporterRecord = WARNED) -> HoldReport:
    return HoldReport(actor=SYSTEM_ACTOR, authority="policy:2023.1#repeat_reporting",
                      record=record)


def held() -> CaseState:
    return step(filed(), hold(), T0)


def contest(by: str = REPORTER, subject: str = REPORTER) -> ContestHold:
    return ContestHold(actor=ex.actor("complainant", by), authority="dsa#23",
                       reasons=personal_value(subject, "My reports were made in good faith."))


def ruling(lift: bool, officer: str = "staff-officer-2") -> DecideHoldContest:
    return DecideHoldContest(actor=ex.actor("case_officer", officer), authority=ex.AUTHORITY,
                             lift=lift, reasons="Reviewed the dismissals counted.")


# -- the warning -----------------------------------------------------------------------------


def test_the_third_unfounded_dismissal_in_the_window_brings_a_reasoned_warning() -> None:
    # given two earlier manifestly unfounded dismissals and this case's
    state = dismissed()
    record = ReporterRecord(reporter_id=REPORTER, dismissals=prior(30, 60))
    # when the workflow asks for a warning
    result = when(state, warn(record), T0 + DAY)
    # then the reporter is warned with the rulebook's reasons, counting all three
    assert isinstance(result, list) and len(result) == 1
    warned = result[0]
    assert isinstance(warned, ReporterWarned)
    assert [d.case_id for d in warned.counted] == ["case-p60", "case-p30", "case-1"]
    assert (warned.reporter_id, warned.threshold, warned.reasons) == (
        REPORTER, 3, CONFIG.warning)
    assert warned.hold_until == T0 + DAY + CONFIG.hold_period
    # and a notice tells the reporter why, and until when their reports are held
    after = fold(result, state)
    [note] = notifications_for(after, warned, "ev-1")
    assert note.recipient_role == "complainant" and "manifestly unfounded" in note.body
    assert warned.hold_until.isoformat() in note.body
    assert first_violation(state, warned, T0 + DAY) is None


def test_below_the_threshold_or_outside_the_window_nobody_is_warned() -> None:
    state = dismissed()
    one_before = ReporterRecord(reporter_id=REPORTER, dismissals=prior(30))
    stale = ReporterRecord(reporter_id=REPORTER, dismissals=prior(200, 300))
    twice_same_case = ReporterRecord(reporter_id=REPORTER, dismissals=prior(30, 30))
    for record in (one_before, stale, twice_same_case):
        assert when(state, warn(record), T0 + DAY) == []


def test_no_warning_while_an_earlier_warnings_hold_runs_or_without_repeat_rules() -> None:
    record = ReporterRecord(reporter_id=REPORTER, dismissals=prior(30, 60), warnings=[WARNING])
    assert when(dismissed(), warn(record), T0 + DAY) == []
    no_rules = ReporterRecord(reporter_id=REPORTER, dismissals=prior(30, 60))
    assert when(dismissed(config=None), warn(no_rules), T0 + DAY) == []


def test_a_warning_for_someone_other_than_the_reporter_is_refused() -> None:
    record = ReporterRecord(reporter_id=ex.WITNESS_ID, dismissals=prior(30, 60))
    rejected(when(dismissed(), warn(record), T0 + DAY), InvalidCommand,
             "repeat-reporter-warning", "reporter_id")


def test_a_forged_warning_with_too_few_dismissals_breaks_the_rule() -> None:
    state = dismissed()
    forged = ReporterWarned(actor=SYSTEM_ACTOR, authority="x", effective_at=T0 + DAY,
                            reporter_id=REPORTER, counted=[*prior(30), UnfoundedDismissal(
                                case_id="case-1", dismissed_at=T0 + DAY,
                                dismissed_by=ex.OFFICER_ID)],
                            threshold=3, window=CONFIG.window,
                            hold_until=T0 + DAY + CONFIG.hold_period, reasons=CONFIG.warning)
    found = first_violation(state, forged, T0 + DAY)
    assert found is not None and (found.rule, found.field) == (
        "repeat-reporter-warning", "counted")


def test_only_the_system_warns() -> None:
    rejected(when(dismissed(), WarnReporter(actor=OFFICER, authority=ex.AUTHORITY,
                                            record=WARNED), T0 + DAY),
             NotPermitted, "role-permission", "actor.role")


# -- the hold --------------------------------------------------------------------------------


def test_a_report_filed_while_its_reporter_is_warned_is_held_not_dropped() -> None:
    # given a report by a reporter warned ten days earlier
    state = filed()
    # when the workflow asks for a hold
    result = when(state, hold(), T0)
    # then the report is recorded and held until the warning's hold ends, with reasons
    assert isinstance(result, list) and [type(e) for e in result] == [ReportHeld]
    after = fold(result, state)
    assert after.stage is CaseStage.HELD and after.report is not None
    assert after.reporting.held_until == WARNING.hold_until
    [note] = notifications_for(after, result[0], "ev-2")
    assert "contest" in note.body and WARNING.hold_until.isoformat() in note.body
    # and a durable timer ends the hold
    [due] = [d for d in pending_deadlines(after) if d.kind is DeadlineKind.HOLD_END]
    assert due.due_at == WARNING.hold_until and isinstance(due.command, ReleaseHold)


def test_no_hold_without_a_warning_covering_the_filing() -> None:
    state = filed()
    assert when(state, hold(ReporterRecord(reporter_id=REPORTER)), T0) == []
    expired = WARNING.model_copy(update={"hold_until": T0 - DAY})
    assert when(state, hold(ReporterRecord(reporter_id=REPORTER, warnings=[expired])),
                T0) == []
    assert when(filed(config=None), hold(), T0) == []


def test_reports_against_a_warned_reporter_are_unaffected() -> None:
    # given the warned member is the respondent: the hold looks only at the complainant
    state = filed()
    their_record = ReporterRecord(reporter_id=ex.COMPLAINANT_ID)
    warned_respondent = ReporterRecord(reporter_id=ex.RESPONDENT_ID, warnings=[WARNING])
    assert when(state, hold(their_record), T0) == []
    rejected(when(state, hold(warned_respondent), T0), InvalidCommand, "repeat-reporter-hold",
             "reporter_id")


def test_a_held_report_is_acknowledged_but_not_triaged() -> None:
    state = held()
    state = step(state, AcknowledgeReport(actor=ex.actor("intake"), authority=ex.AUTHORITY),
                 T0 + DAY)
    assert state.stage is CaseStage.HELD
    triage = TriageCase(actor=OFFICER, authority=ex.AUTHORITY,
                        outcome=TriageOutcome.INVESTIGATE, reasons="Prima facie case.")
    rejected(when(state, triage, T0 + 2 * DAY), InvalidCommand, "report-held")


def test_the_timer_ends_the_hold_and_the_report_is_processed() -> None:
    state = held()
    release = ReleaseHold(actor=SYSTEM_ACTOR, authority="x", held_until=WARNING.hold_until)
    rejected(when(state, release, WARNING.hold_until - DAY), InvalidCommand,
             "hold-ends-when-due", "effective_at")
    stale = release.model_copy(update={"held_until": WARNING.hold_until - DAY})
    assert when(state, stale, WARNING.hold_until) == []
    state = step(state, release, WARNING.hold_until)
    assert not state.reporting.held and state.stage is CaseStage.REPORTED
    assert not [d for d in pending_deadlines(state) if d.kind is DeadlineKind.HOLD_END]
    triage = TriageCase(actor=OFFICER, authority=ex.AUTHORITY,
                        outcome=TriageOutcome.INVESTIGATE, reasons="Prima facie case.")
    assert step(state, triage, WARNING.hold_until + DAY).stage is CaseStage.UNDER_INVESTIGATION


# -- contesting the hold ---------------------------------------------------------------------


def test_the_reporter_contests_and_an_uninvolved_officer_lifts_the_hold() -> None:
    state = step(held(), contest(), T0 + DAY)
    assert isinstance(state.reporting.contest, HoldContested)
    result = when(state, ruling(lift=True), T0 + 2 * DAY)
    assert isinstance(result, list)
    assert [type(e) for e in result] == [HoldContestDecided, HoldReleased]
    after = fold(result, state)
    assert not after.reporting.held and after.stage is CaseStage.REPORTED
    [note] = notifications_for(after, result[0], "ev-3")
    assert "lifted" in note.body


def test_an_upheld_hold_stands_to_its_end() -> None:
    state = step(step(held(), contest(), T0 + DAY), ruling(lift=False), T0 + 2 * DAY)
    assert state.reporting.held and state.reporting.contest_decision is not None


def test_a_hold_contest_is_decided_by_someone_else() -> None:
    state = step(held(), contest(), T0 + DAY)
    rejected(when(state, ruling(lift=True, officer="staff-officer-9"), T0 + 2 * DAY),
             NotPermitted, "hold-contest-independent", "decided_by")


def test_contests_in_order_only() -> None:
    rejected(when(filed(), contest(), T0 + DAY), InvalidCommand, "hold-contest-in-order")
    rejected(when(held(), ruling(lift=True), T0 + DAY), InvalidCommand,
             "hold-contest-in-order")
    contested = step(held(), contest(), T0 + DAY)
    again = contest().model_copy(update={"reasons": personal_value(REPORTER, "Again.")})
    rejected(when(contested, again, T0 + DAY), InvalidCommand, "hold-contest-in-order")
    decided = step(contested, ruling(lift=False), T0 + 2 * DAY)
    rejected(when(decided, ruling(lift=True), T0 + 3 * DAY), InvalidCommand,
             "hold-contest-in-order")


def test_only_the_reporter_contests_with_their_own_reasons() -> None:
    rejected(when(held(), contest(by=ex.WITNESS_ID, subject=ex.WITNESS_ID), T0 + DAY),
             NotPermitted, "role-permission", "actor.id")
    rejected(when(held(), contest(subject=ex.WITNESS_ID), T0 + DAY), InvalidCommand,
             "personal-data-subject", "reasons")


# -- the reporter's record, read from recorded cases ------------------------------------------


def test_the_record_counts_unfounded_dismissals_and_warnings_across_cases() -> None:
    # given a dismissed case that warned the reporter, and a held case whose hold was lifted
    dismissed_case = dismissed()
    warned = when(dismissed_case, warn(ReporterRecord(reporter_id=REPORTER,
                                                       dismissals=prior(30, 60))), T0 + DAY)
    assert isinstance(warned, list)
    warned_case = fold(warned, dismissed_case)
    record = reporter_record(REPORTER, [warned_case])
    [warning] = record.warnings
    assert [d.case_id for d in record.dismissals] == ["case-1"]
    assert warning.involved == [ex.OFFICER_ID, "staff-officer-9"]
    later = step(CaseState.empty("case-2"), ex.file_report(policy=policy()), T0 + 2 * DAY)
    later = step(later, hold(record), T0 + 2 * DAY)
    later = step(step(later, contest(), T0 + 3 * DAY), ruling(lift=True, officer="staff-x"),
                 T0 + 4 * DAY)
    # when the record is read again
    again = reporter_record(REPORTER, [warned_case, later])
    # then the lifted hold ends the warning's suspension for later reports
    assert again.warnings[0].hold_until == T0 + 4 * DAY
    assert again.hold_on(T0 + 5 * DAY) is None
    # and nobody else's record is built from these cases
    assert reporter_record(ex.RESPONDENT_ID, [warned_case, later]) == ReporterRecord(
        reporter_id=ex.RESPONDENT_ID)
