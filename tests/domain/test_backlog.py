"""Backlogs: a hearing is scheduled within the rulebook's period after notice, or the miss
is escalated on the record (issue 15); the audit judges the same deadline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import SYSTEM_ACTOR, DomainError, InvalidCommand
from dueprocess.domain.case import (
    CaseEvent,
    CaseState,
    DeadlineKind,
    DeadlineMissed,
    EscalateMissedDeadline,
    decide,
    evolve,
    pending_deadlines,
)
from dueprocess.domain.envelope import Position, RecordedEvent
from fixtures import case_examples as ex

STEPS = {step.name: step for step in ex.happy_path()}
NOTICE_AT = STEPS["notice"].now
DUE = NOTICE_AT + ex.DEADLINES.schedule_hearing


def given(*names: str) -> tuple[CaseState, list[CaseEvent]]:
    state, events = CaseState.empty("case-1"), []
    for name in names:
        new = decide(state, STEPS[name].command, STEPS[name].now)
        for event in new:
            state = evolve(state, event)
        events += new
    return state, events


NOTICED = ("file", "acknowledge", "triage", "assign", "notice", "disclose", "respond", "panel")


def escalation(state: CaseState) -> EscalateMissedDeadline:
    [found] = [d for d in pending_deadlines(state) if d.kind is DeadlineKind.SCHEDULE_HEARING]
    assert isinstance(found.command, EscalateMissedDeadline)
    return found.command


def recorded(events: Sequence[CaseEvent]) -> list[RecordedEvent]:
    return [RecordedEvent(
        event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
        actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
        effective_at=e.effective_at, stream_id="case-case-1", stream_version=n,
        position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)]


def deadlines_check(events: Sequence[CaseEvent], now: datetime) -> tuple[CheckStatus, str]:
    result = audit_case(recorded(events), now=now)
    found = next(c for c in result.checks if c.check_id == "deadlines-met-or-escalated")
    return found.status, found.explanation


def test_the_default_period_is_28_days_and_bounded_like_the_others() -> None:
    assert ex.DEADLINES.schedule_hearing == timedelta(days=28)


def test_notice_without_a_hearing_sets_a_scheduling_deadline_from_the_rulebook() -> None:
    # Given notice issued and no hearing scheduled
    state, _ = given(*NOTICED)
    # Then a deadline to schedule the hearing is pending, due the rulebook's period later
    command = escalation(state)
    assert command.due_at == DUE and command.kind == "schedule_hearing"
    assert command.authority == "policy:2023.1#deadlines.schedule_hearing"


def test_a_scheduled_hearing_meets_the_deadline() -> None:
    # Given notice, then the hearing scheduled in time
    state, _ = given(*NOTICED, "schedule")
    # Then nothing is pending for scheduling, and a stale timer is a no-op
    assert DeadlineKind.SCHEDULE_HEARING not in {d.kind for d in pending_deadlines(state)}
    stale = EscalateMissedDeadline(actor=SYSTEM_ACTOR, authority="t", kind="schedule_hearing",
                                   due_at=DUE)
    assert decide(state, stale, DUE) == []


def test_a_missed_scheduling_deadline_is_escalated_once() -> None:
    # Given notice and no hearing by the due date
    state, _ = given(*NOTICED)
    # When the timer fires
    [event] = decide(state, escalation(state), DUE)
    # Then the miss is on the record, escalated, and not escalated twice
    assert isinstance(event, DeadlineMissed)
    assert (event.kind, event.due_at, event.escalated_to) == ("schedule_hearing", DUE,
                                                              "case_officer")
    after = evolve(state, event)
    assert DeadlineKind.SCHEDULE_HEARING not in {d.kind for d in pending_deadlines(after)}
    assert decide(after, escalation(state), DUE) == []


def test_escalating_before_the_due_date_is_refused() -> None:
    # Given notice and a timer command for the scheduling deadline
    state, _ = given(*NOTICED)
    # When it is sent a minute early
    try:
        decide(state, escalation(state), DUE - timedelta(minutes=1))
    except DomainError as error:
        # Then the rule it breaks is named
        assert isinstance(error, InvalidCommand)
        assert (error.rule, error.field) == ("deadline-not-reached", "effective_at")
    else:
        raise AssertionError("an early escalation was accepted")


def test_audit_fails_a_missed_scheduling_deadline_left_unescalated() -> None:
    # Given notice, no hearing and no escalation, audited after the due date
    _, events = given(*NOTICED)
    status, explanation = deadlines_check(events, DUE + timedelta(days=1))
    # Then the deadline check fails, naming the scheduling deadline
    assert status is CheckStatus.FAIL
    assert "schedule_hearing deadline" in explanation


def test_audit_passes_an_escalated_or_met_scheduling_deadline() -> None:
    # Given the miss escalated on the record
    state, events = given(*NOTICED)
    escalated = [*events, *decide(state, escalation(state), DUE)]
    assert deadlines_check(escalated, DUE + timedelta(days=1))[0] is CheckStatus.PASS
    # Given instead the hearing scheduled in time
    _, met = given(*NOTICED, "schedule")
    assert deadlines_check(met, DUE + timedelta(days=1))[0] is CheckStatus.PASS
    # Given neither, but audited before the due date
    assert deadlines_check(events, DUE - timedelta(days=1))[0] is CheckStatus.PASS
