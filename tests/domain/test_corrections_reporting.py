"""Corrections of repeat-reporter handling (issue 15, G3; DSA Art 23): a corrected
manifestly-unfounded dismissal or warning no longer counts in the reporter's record, a
corrected hold releases the report, the reporter is the one apologised to, and the audit
passes and links corrections of the newer kinds of record."""

from __future__ import annotations

from datetime import timedelta

from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import SYSTEM_ACTOR
from dueprocess.domain.case import (
    CaseEvent,
    CaseStage,
    CaseState,
    CorrectedRecord,
    HoldReport,
    ImposeInterimSuspension,
    ReporterRecord,
    TriageCase,
    TriageOutcome,
    UnfoundedDismissal,
    WarnReporter,
    decide,
    evolve,
    notifications_for,
)
from dueprocess.domain.case.reporter import reporter_record
from dueprocess.domain.case.values import DismissalReason
from dueprocess.domain.policy import PolicyDocument, RepeatReporting
from fixtures import case_examples as ex
from fixtures.corrections import DAY, OFFICER, case_to, correct, later, recorded, run

REPORTER = ex.COMPLAINANT_ID
REPEAT = RepeatReporting(threshold=3, window=timedelta(days=180), hold_period=timedelta(days=90),
                         warning="Several of your reports were manifestly unfounded.")


def repeat_policy() -> PolicyDocument:
    base = ex.example_policy()
    return base.model_copy(update={"versions": [
        v.model_copy(update={"repeat_reporting": REPEAT}) for v in base.versions]})


def unfounded(case_id: str = "case-1") -> tuple[CaseState, list[CaseEvent]]:
    state, events = CaseState.empty(case_id), list[CaseEvent]()
    state = run(state, ex.file_report(policy=repeat_policy()), ex.T0, events)
    state = run(state, TriageCase(
        actor=OFFICER, authority=ex.AUTHORITY, outcome=TriageOutcome.DISMISS,
        reasons="Nothing in it.", dismissal_reason=DismissalReason.MANIFESTLY_UNFOUNDED),
        ex.T0 + DAY, events)
    return state, events


def test_a_corrected_dismissal_does_not_count_towards_a_warning() -> None:
    # Given a reporter's report dismissed as manifestly unfounded
    state, _ = unfounded()
    assert [d.case_id for d in reporter_record(REPORTER, [state]).dismissals] == ["case-1"]
    # When the dismissal is corrected
    corrected = run(state, correct(CorrectedRecord.DISMISSAL), ex.T0 + 2 * DAY, [])
    # Then it no longer counts towards the repeat-reporting threshold
    assert reporter_record(REPORTER, [corrected]).dismissals == []


def warned() -> tuple[CaseState, list[CaseEvent]]:
    state, events = unfounded()
    prior = [UnfoundedDismissal(case_id=f"case-p{d}", dismissed_at=ex.T0 - d * DAY,
                                dismissed_by="staff-officer-9") for d in (30, 60)]
    warn = WarnReporter(actor=SYSTEM_ACTOR, authority="policy:2023.1#repeat_reporting",
                        record=ReporterRecord(reporter_id=REPORTER, dismissals=prior))
    state = run(state, warn, ex.T0 + DAY, events)
    assert state.reporting.warning is not None
    return state, events


def test_a_corrected_warning_holds_no_later_report() -> None:
    # Given a reporter warned
    state, _ = warned()
    assert len(reporter_record(REPORTER, [state]).warnings) == 1
    # When the warning is corrected
    [event] = decide(state, correct(CorrectedRecord.REPORTER_WARNING), ex.T0 + 2 * DAY)
    after = evolve(state, event)
    # Then the reporter's record holds no warning, and the reporter is told and apologised to
    record = reporter_record(REPORTER, [after])
    assert record.warnings == [] and record.hold_on(ex.T0 + 3 * DAY) is None
    [note] = notifications_for(after, event, "e-1")
    assert note.recipient_role == "complainant"


def test_a_corrected_hold_releases_the_report_and_ends_the_warnings_hold() -> None:
    # Given a warning, and a later report held under it
    warned_case, _ = warned()
    record = reporter_record(REPORTER, [warned_case])
    events: list[CaseEvent] = []
    held = run(CaseState.empty("case-2"), ex.file_report(policy=repeat_policy()),
               ex.T0 + 2 * DAY, events)
    held = run(held, HoldReport(actor=SYSTEM_ACTOR, authority="policy:2023.1",
                                   record=record), ex.T0 + 2 * DAY, events)
    assert held.stage is CaseStage.HELD
    # When the hold is corrected
    [event] = decide(held, correct(CorrectedRecord.HOLD), ex.T0 + 3 * DAY)
    after = evolve(held, event)
    # Then the report is no longer held, and later reports are not held under the warning
    assert not after.reporting.held and after.stage is not CaseStage.HELD
    again = reporter_record(REPORTER, [warned_case, after])
    assert again.warnings[0].hold_until == ex.T0 + 3 * DAY
    assert again.hold_on(ex.T0 + 4 * DAY) is None
    [note] = notifications_for(after, event, "e-2")
    assert note.recipient_role == "complainant"


def test_the_audit_passes_corrections_of_an_interim_suspension_and_a_warning() -> None:
    # Given an interim suspension, and a reporter's warning, each corrected by the engine
    state, events = case_to("triage")
    state = run(state, ImposeInterimSuspension(actor=OFFICER, authority=ex.AUTHORITY,
                                               reasons="Risk to members."),
                later(events), events)
    run(state, correct(CorrectedRecord.INTERIM_SUSPENSION), later(events, 2), events)
    warned_case, warning_events = warned()
    run(warned_case, correct(CorrectedRecord.REPORTER_WARNING), ex.T0 + 2 * DAY,
        warning_events)
    # When the audit judges them
    for history, now in ((events, later(events, 3)), (warning_events, ex.T0 + 3 * DAY)):
        result = audit_case(recorded(history), now=now)
        # Then every correction named a record the case held, and each is linked to it
        check = next(c for c in result.checks if c.check_id == "nothing-to-correct")
        assert check.status is CheckStatus.PASS, check
        last = result.timeline[-1]
        assert any(f.startswith("corrects ") for f in last.flags), last.flags
