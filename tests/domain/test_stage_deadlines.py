"""A deadline for every stage (issue 15): triage, investigation, the decision after the
hearing and the appeal decision each have a rulebook period; a miss is escalated to the
case officer on the record, and the audit judges the same deadline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

import pytest
from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import SYSTEM_ACTOR, DomainError, InvalidCommand, personal
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
from dueprocess.domain.case.commands import AppointAppealPanel, DecideAppeal, LodgeAppeal
from dueprocess.domain.case.values import AppealOutcome
from dueprocess.domain.envelope import Position, RecordedEvent
from fixtures import case_examples as ex

DAY = timedelta(days=1)
STEPS = {step.name: (step.command, step.now) for step in ex.happy_path()}
DECIDED_AT = STEPS["decide"][1]
LODGE = LodgeAppeal(actor=ex.actor("respondent"), authority="code#appeal",
                    grounds=personal(ex.RESPONDENT_ID, "The panel got the facts wrong."))
STEPS["lodge"] = (LODGE, DECIDED_AT + DAY)
STEPS["appeal_panel"] = (AppointAppealPanel(actor=ex.actor("case_officer"), authority="t",
                                            members=ex.panel(*ex.APPEAL_PANEL_IDS)),
                         DECIDED_AT + 2 * DAY)
STEPS["decide_appeal"] = (DecideAppeal(actor=ex.actor("appeal_panel_member"),
                                       authority="code#appeals", outcome=AppealOutcome.DISMISSED,
                                       reasons="Considered the grounds."), DECIDED_AT + 3 * DAY)


class Stage(NamedTuple):
    kind: DeadlineKind
    given: tuple[str, ...]  # the steps that bring the case into the stage
    starts: str  # the step whose time starts the period
    ends: str  # the step that leaves the stage
    period: timedelta  # the example rulebook's (default) period


STAGES = [
    Stage(DeadlineKind.TRIAGE, ("file", "acknowledge"), "acknowledge", "triage", 14 * DAY),
    Stage(DeadlineKind.INVESTIGATION, ("file", "acknowledge", "triage", "assign"), "triage",
          "notice", 28 * DAY),
    Stage(DeadlineKind.DECIDE_AFTER_HEARING,
          ("file", "acknowledge", "triage", "assign", "notice", "disclose", "respond", "panel",
           "schedule", "hold"), "hold", "decide", 14 * DAY),
    Stage(DeadlineKind.DECIDE_APPEAL,
          ("file", "acknowledge", "triage", "assign", "notice", "disclose", "respond", "panel",
           "schedule", "hold", "decide", "lodge", "appeal_panel"), "lodge", "decide_appeal",
          28 * DAY),
]
IDS = [s.kind.value for s in STAGES]


def given(names: Sequence[str]) -> tuple[CaseState, list[CaseEvent]]:
    state, events = CaseState.empty("case-1"), []
    for name in names:
        command, now = STEPS[name]
        new = decide(state, command, now)
        for event in new:
            state = evolve(state, event)
        events += new
    return state, events


def escalation(state: CaseState, kind: DeadlineKind) -> EscalateMissedDeadline:
    [found] = [d for d in pending_deadlines(state) if d.kind is kind]
    assert isinstance(found.command, EscalateMissedDeadline)
    return found.command


def deadlines_check(events: Sequence[CaseEvent], now: datetime) -> tuple[CheckStatus, str]:
    recorded = [RecordedEvent(
        event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
        actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
        effective_at=e.effective_at, stream_id="case-case-1", stream_version=n,
        position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)]
    result = audit_case(recorded, now=now)
    found = next(c for c in result.checks if c.check_id == "deadlines-met-or-escalated")
    return found.status, found.explanation


def due(stage: Stage) -> datetime:
    return STEPS[stage.starts][1] + stage.period


def test_the_defaults_are_bounded_durations_of_the_rulebook() -> None:
    d = ex.DEADLINES
    assert (d.triage, d.investigation, d.decide_after_hearing, d.decide_appeal) == (
        14 * DAY, 28 * DAY, 14 * DAY, 28 * DAY)


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_entering_the_stage_sets_its_deadline_from_the_rulebook(stage: Stage) -> None:
    # Given a case that has just entered the stage
    state, _ = given(stage.given)
    # Then its deadline is pending, due the rulebook's period after the stage began
    command = escalation(state, stage.kind)
    assert (command.kind, command.due_at) == (stage.kind.value, due(stage))
    assert command.authority == f"policy:2023.1#deadlines.{stage.kind.value}"


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_leaving_the_stage_meets_the_deadline(stage: Stage) -> None:
    # Given the case moved on in time
    state, _ = given((*stage.given, stage.ends))
    # Then nothing is pending for the stage, and a stale timer is a no-op
    assert stage.kind not in {d.kind for d in pending_deadlines(state)}
    stale = EscalateMissedDeadline(actor=SYSTEM_ACTOR, authority="t", kind=stage.kind.value,
                                   due_at=due(stage))
    assert decide(state, stale, due(stage)) == []


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_a_missed_stage_deadline_is_escalated_to_the_case_officer_once(stage: Stage) -> None:
    # Given the case still in the stage when the period ends
    state, _ = given(stage.given)
    # When the timer fires
    [event] = decide(state, escalation(state, stage.kind), due(stage))
    # Then the miss is on the record, escalated, and not escalated twice
    assert isinstance(event, DeadlineMissed)
    assert (event.kind, event.due_at, event.escalated_to) == (stage.kind.value, due(stage),
                                                              "case_officer")
    after = evolve(state, event)
    assert stage.kind not in {d.kind for d in pending_deadlines(after)}
    assert decide(after, escalation(state, stage.kind), due(stage)) == []


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_escalating_a_stage_deadline_early_is_refused(stage: Stage) -> None:
    # Given the case in the stage, when its timer command is sent a minute early
    state, _ = given(stage.given)
    with pytest.raises(DomainError) as raised:
        decide(state, escalation(state, stage.kind), due(stage) - timedelta(minutes=1))
    # Then the rule it breaks is named
    assert isinstance(raised.value, InvalidCommand)
    assert (raised.value.rule, raised.value.field) == ("deadline-not-reached", "effective_at")


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_audit_fails_a_missed_stage_deadline_left_unescalated(stage: Stage) -> None:
    # Given the case left in the stage, no escalation, audited after the due date
    _, events = given(stage.given)
    status, explanation = deadlines_check(events, due(stage) + DAY)
    # Then the deadline check fails, naming the stage's deadline
    assert status is CheckStatus.FAIL
    assert f"{stage.kind.value} deadline" in explanation


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_audit_passes_a_stage_deadline_escalated_met_or_not_yet_due(stage: Stage) -> None:
    # Given the miss escalated on the record
    state, events = given(stage.given)
    escalated = [*events, *decide(state, escalation(state, stage.kind), due(stage))]
    assert deadlines_check(escalated, due(stage) + DAY)[0] is CheckStatus.PASS
    # Given instead the stage left in time
    # (the next stage's own deadlines may since have passed: only this one is judged here)
    _, met = given((*stage.given, stage.ends))
    assert f"{stage.kind.value} deadline" not in deadlines_check(met, due(stage) + DAY)[1]
    # Given neither, but audited before the due date
    assert deadlines_check(events, due(stage) - DAY)[0] is CheckStatus.PASS


def test_audit_fails_a_stage_left_late_without_escalation() -> None:
    # Given triage recorded after its period ran out, with no escalation on the record
    stage = STAGES[0]
    state, events = given(stage.given)
    command, _ = STEPS[stage.ends]
    late: list[CaseEvent] = [*events, *decide(state, command, due(stage) + DAY)]
    # Then the audit says it was met late
    status, explanation = deadlines_check(late, due(stage) + 2 * DAY)
    assert status is CheckStatus.FAIL and "met late" in explanation
