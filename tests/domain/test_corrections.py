"""Corrections of the record (issue 15): an automated flag dismissed as an automation
error is corrected on the record, even after closure, with an apology to the person."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import CaseClosed as CaseClosedError
from dueprocess.domain.base import DomainError, InvalidCommand, NotPermitted
from dueprocess.domain.case import (
    AcknowledgeReport,
    CaseCommand,
    CaseEvent,
    CaseState,
    CloseCase,
    ComplainantKind,
    CorrectedRecord,
    CorrectRecord,
    DismissalReason,
    RecordCorrected,
    TriageCase,
    TriageOutcome,
    decide,
    evolve,
    notifications_for,
)
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.statistics import case_statistics
from fixtures import case_examples as ex

OFFICER = ex.actor("case_officer")
AT = ex.T0 + timedelta(days=10)


def automated_report() -> CaseCommand:
    return ex.file_report(by=ex.actor("detector"), report_complainant=ex.complainant(
        ComplainantKind.AUTOMATED_DETECTOR, person_id=ex.DETECTOR_ID))


def dismissed(report: CaseCommand | None = None, *, closed: bool = True
              ) -> tuple[CaseState, list[CaseEvent]]:
    """A report, acknowledged, dismissed by a named person and (by default) closed."""
    steps: list[tuple[CaseCommand, datetime]] = [
        (report or automated_report(), ex.T0),
        (AcknowledgeReport(actor=ex.actor("intake"), authority=ex.AUTHORITY),
         ex.T0 + timedelta(hours=1)),
        (TriageCase(actor=OFFICER, authority=ex.AUTHORITY, outcome=TriageOutcome.DISMISS,
                    dismissal_reason=DismissalReason.NO_CASE_TO_ANSWER,
                    reasons="The flag matched a quotation, not abuse."),
         ex.T0 + timedelta(days=1))]
    if closed:
        steps.append((CloseCase(actor=OFFICER, authority=ex.AUTHORITY), ex.T0 + timedelta(days=2)))
    state, events = CaseState.empty("case-1"), list[CaseEvent]()
    for command, now in steps:
        for event in decide(state, command, now):
            state, events = evolve(state, event), [*events, event]
    return state, events


def correction(**changes: object) -> CorrectRecord:
    fields: dict[str, object] = {
        "actor": OFFICER, "authority": ex.AUTHORITY, "corrects": CorrectedRecord.REPORT,
        "what_was_wrong": "The detector flagged a quotation as abuse.",
        "correction": "No abuse took place; the flag is withdrawn.",
        "automation_error": True, "apology": "We are sorry for the disruption."}
    return CorrectRecord.model_validate({**fields, **changes})


def refused(state: CaseState, command: CaseCommand) -> DomainError:
    with pytest.raises(DomainError) as caught:
        decide(state, command, AT)
    return caught.value


def recorded(events: Sequence[CaseEvent]) -> list[RecordedEvent]:
    return [RecordedEvent(
        event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
        actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
        effective_at=e.effective_at, stream_id="case-case-1", stream_version=n,
        position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)]


def test_an_automation_error_is_corrected_on_a_closed_case_naming_detector_and_finder() -> None:
    # Given an automated flag dismissed by a person, and the case closed
    state, _ = dismissed()
    # When a case officer records that it was an automation error
    [event] = decide(state, correction(), AT)
    # Then the correction is on the record, naming the detector and the human who found it
    assert isinstance(event, RecordCorrected)
    assert (event.corrects, event.detector_id, event.found_by) == (
        CorrectedRecord.REPORT, ex.DETECTOR_ID, ex.OFFICER_ID)
    after = evolve(state, event)
    assert after.corrections == (event,) and after.closed
    # And sending it again is a no-op
    assert decide(after, correction(), AT) == []


def test_the_respondent_is_told_of_the_correction_with_the_apology() -> None:
    state, _ = dismissed()
    [event] = decide(state, correction(), AT)
    [note] = notifications_for(evolve(state, event), event, "e-1")
    assert note.recipient_role == "respondent" and "record corrected" in note.subject
    assert "We are sorry for the disruption." in note.body and "automated system" in note.body


def test_only_a_case_officer_may_correct() -> None:
    state, _ = dismissed()
    error = refused(state, correction(actor=ex.actor("respondent")))
    assert isinstance(error, NotPermitted) and error.rule == "role-permission"


def test_an_automation_error_needs_an_automated_report() -> None:
    # Given a member's report, dismissed
    state, _ = dismissed(ex.file_report())
    # When it is "corrected" as an automation error, it is refused naming the field
    error = refused(state, correction())
    assert isinstance(error, InvalidCommand)
    assert (error.rule, error.field) == ("automation-error-names-detector", "automation_error")
    # But an ordinary correction of the dismissal is accepted
    assert decide(state, correction(corrects="dismissal", automation_error=False), AT)


def test_a_record_the_case_does_not_hold_is_not_corrected() -> None:
    state, _ = dismissed()
    error = refused(state, correction(corrects="decision"))
    assert isinstance(error, InvalidCommand)
    assert (error.rule, error.field) == ("nothing-to-correct", "corrects")


def test_a_closed_case_still_refuses_everything_else() -> None:
    state, _ = dismissed()
    error = refused(state, TriageCase(actor=OFFICER, authority=ex.AUTHORITY,
                                      outcome=TriageOutcome.INVESTIGATE, reasons="again"))
    assert isinstance(error, CaseClosedError) and error.rule == "case-closed"


def test_statistics_count_corrected_automation_errors() -> None:
    state, events = dismissed()
    events = [*events, *decide(state, correction(), AT)]
    stats = case_statistics({"case-case-1": recorded(events)})
    assert stats.automation.automated_errors_corrected == 1
    assert stats.automation.automated_error_rate == 1.0


def test_audit_links_the_correction_and_fails_a_forged_detector() -> None:
    state, events = dismissed()
    [event] = decide(state, correction(), AT)
    result = audit_case(recorded([*events, event]), now=AT)
    flags = {row.event_type: row.flags for row in result.timeline}
    assert "corrected by RecordCorrected (v5)" in flags["ReportFiled"]
    assert "corrects ReportFiled (v1)" in flags["RecordCorrected"]
    assert all(c.status is not CheckStatus.FAIL for c in result.checks), result.checks
    forged = event.model_copy(update={"detector_id": "someone-else"})
    failed = audit_case(recorded([*events, forged]), now=AT)
    check = next(c for c in failed.checks if c.check_id == "automation-error-names-detector")
    assert check.status is CheckStatus.FAIL
