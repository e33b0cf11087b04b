"""DSA Art 23 in the audit and the statistics: a warning and a hold recorded through
decide() pass every check, read in the timeline, and count in the statistics."""

from __future__ import annotations

import uuid
from datetime import datetime

from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import SYSTEM_ACTOR, personal
from dueprocess.domain.case import (
    CaseCommand,
    CaseState,
    ContestHold,
    DecideHoldContest,
    ReleaseHold,
    ReporterRecord,
    TriageCase,
    TriageOutcome,
    UnfoundedDismissal,
    WarnReporter,
    decide,
    evolve,
)
from dueprocess.domain.case.values import DismissalReason
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.statistics import case_statistics
from fixtures import case_examples as ex
from fixtures import reporter_examples as rx

DAY = rx.DAY


def history(case_id: str, steps: list[tuple[CaseCommand, datetime]]) -> list[RecordedEvent]:
    state, records = CaseState.empty(case_id), list[RecordedEvent]()
    for command, at in steps:
        for event in decide(state, command, at):
            records.append(RecordedEvent(
                event_id=uuid.uuid4(), event_type=event.type,
                payload=event.model_dump(mode="json"), actor=event.actor,
                authority=event.authority, recorded_at=at, effective_at=event.effective_at,
                stream_id=f"case-{case_id}", stream_version=len(records) + 1,
                position=Position(tx_id=1, global_position=len(records) + 1), hash="0" * 64))
            state = evolve(state, event)
    return records


def warned_case() -> list[RecordedEvent]:
    dismiss = TriageCase(actor=ex.actor("case_officer"), authority=ex.AUTHORITY,
                         outcome=TriageOutcome.DISMISS, reasons="Nothing in it.",
                         dismissal_reason=DismissalReason.MANIFESTLY_UNFOUNDED)
    record = ReporterRecord(reporter_id=rx.REPORTER, dismissals=[
        UnfoundedDismissal(case_id=f"case-p{n}", dismissed_at=ex.T0 - n * DAY,
                           dismissed_by=rx.INVOLVED) for n in (10, 20)])
    return history("w", [(rx.filing(), ex.T0), (dismiss, ex.T0 + DAY),
                         (WarnReporter(actor=SYSTEM_ACTOR, authority=rx.AUTHORITY,
                                       record=record), ex.T0 + DAY)])


def held_case(lifted: bool) -> list[RecordedEvent]:
    steps: list[tuple[CaseCommand, datetime]] = [(rx.filing(), ex.T0), (rx.hold(), ex.T0)]
    if lifted:
        steps += [(ContestHold(actor=ex.actor("complainant"), authority="dsa#20",
                               reasons=personal(rx.REPORTER, "In good faith.")), ex.T0 + DAY),
                  (DecideHoldContest(actor=ex.actor("case_officer", "staff-officer-2"),
                                     authority=ex.AUTHORITY, lift=True, reasons="Borderline."),
                   ex.T0 + 2 * DAY)]
    else:
        until = rx.WARNING.hold_until
        steps.append((ReleaseHold(actor=SYSTEM_ACTOR, authority=rx.AUTHORITY,
                                  held_until=until), until))
    return history("h-lifted" if lifted else "h-ended", steps)


def test_a_recorded_warning_and_holds_pass_the_audit_and_read_in_the_timeline() -> None:
    for records in (warned_case(), held_case(lifted=True), held_case(lifted=False)):
        audit = audit_case(records, now=records[-1].recorded_at)
        ours = {c.check_id: c.status for c in audit.checks
                if c.check_id in {"repeat-reporter-warning", "repeat-reporter-hold",
                                  "hold-contest-in-order", "hold-contest-independent",
                                  "hold-ends-when-due", "report-held"}}
        assert CheckStatus.FAIL not in ours.values(), ours
        assert set(ours.values()) == {CheckStatus.PASS, CheckStatus.NOT_APPLICABLE} or \
            set(ours.values()) == {CheckStatus.PASS}, ours
        # and every step was taken by a role that may take it, in this case
        assert not [row.flags for row in audit.timeline if row.flags], audit.timeline
        summaries = " | ".join(row.summary for row in audit.timeline)
        assert "warned" in summaries or "held" in summaries
    assert "3 manifestly unfounded" in " ".join(
        r.summary for r in audit_case(warned_case()).timeline)


def test_holds_show_in_the_statistics() -> None:
    stats = case_statistics({"case-w": warned_case(), "case-h-lifted": held_case(True),
                             "case-h-ended": held_case(False)}).repeat_reporters
    assert (stats.warnings, stats.reports_held, stats.held_now, stats.holds_contested,
            stats.holds_lifted_on_contest) == (1, 2, 0, 1, 1)
    still = case_statistics({"case-h": history("h", [(rx.filing(), ex.T0),
                                                     (rx.hold(), ex.T0)])})
    assert still.repeat_reporters.held_now == 1 and still.by_stage["held"] == 1
