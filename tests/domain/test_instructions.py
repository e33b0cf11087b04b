"""Instructions from outside the case, on the record (invariant 5).

Given a case from the example happy path, when someone records an instruction, then an
``InstructionRecorded`` saying whether its sender is assigned to the case, or a rejection
naming its rule; and the audit surfaces every instruction from outside the case.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeAlias

from dueprocess.domain.audit import CaseAudit, CheckResult, CheckStatus, audit_case
from dueprocess.domain.base import DomainError, InvalidCommand, NotPermitted, personal
from dueprocess.domain.case import (
    CaseClosedError,
    CaseCommand,
    CaseEvent,
    CaseState,
    InstructionRecorded,
    RecordInstruction,
    decide,
    fold,
)
from dueprocess.domain.case.values import ContactDirection, ContactKind
from dueprocess.domain.envelope import Position, RecordedEvent
from fixtures import case_examples as ex

CASE_ID = "case-1"
OFFICER = ex.actor("case_officer")
BOSS_ID = "m-900"  # a general secretary with no part in the case
HOUR = timedelta(hours=1)
STEPS = {step.name: step for step in ex.happy_path()}
ORDER = [step.name for step in ex.happy_path()]


def history(upto: str) -> tuple[list[CaseEvent], datetime]:
    """The happy path's events up to and including step ``upto``, and when it was taken."""
    state, events = CaseState.empty(CASE_ID), list[CaseEvent]()
    for name in ORDER[: ORDER.index(upto) + 1]:
        new = decide(state, STEPS[name].command, STEPS[name].now)
        state, events = fold(new, state), events + new
    return events, STEPS[upto].now


def given(upto: str) -> tuple[CaseState, datetime]:
    events, now = history(upto)
    return fold(events, CaseState.empty(CASE_ID)), now


def instruction(now: datetime, *, sender: str = BOSS_ID, role: str = "general_secretary",
                by: str = "case_officer", received: datetime | None = None) -> RecordInstruction:
    return RecordInstruction(
        actor=ex.actor(by), authority=ex.AUTHORITY, from_person_id=sender, from_role=role,
        channel="email", content=personal(sender, "Make sure this one is expelled."),
        received_at=received or now - HOUR)


Result: TypeAlias = list[CaseEvent] | DomainError


def when(state: CaseState, command: RecordInstruction, now: datetime) -> Result:
    try:
        return decide(state, command, now)
    except DomainError as error:
        return error


def decide_or_error(state: CaseState, command: CaseCommand, now: datetime) -> Result:
    try:
        return decide(state, command, now)
    except DomainError as error:
        return error


def recorded(result: Result) -> InstructionRecorded:
    assert isinstance(result, list), f"expected events, got {result}"
    (event,) = result
    assert isinstance(event, InstructionRecorded)
    return event


def rejected(result: Result, error: type[DomainError], rule: str,
             field: str | None = None) -> None:
    assert isinstance(result, error), f"expected {error.__name__}({rule}), got {result}"
    assert result.rule == rule and result.field == field, str(result)


# --- the command ----------------------------------------------------------------------


class TestRecordInstruction:
    def test_an_instruction_from_outside_the_case_is_recorded_as_such(self) -> None:
        state, now = given("panel")
        event = recorded(when(state, instruction(now), now))
        assert (event.from_person_id, event.from_role, event.channel) == (
            BOSS_ID, "general_secretary", "email")
        assert event.received_at == now - HOUR and event.effective_at == now
        assert event.actor == OFFICER and not event.sender_assigned
        assert fold([event], state).instructions == (event,)

    def test_a_sender_assigned_to_the_case_is_recorded_as_assigned(self) -> None:
        state, now = given("panel")
        for sender in (ex.INVESTIGATOR_ID, ex.PANEL_IDS[1], ex.OFFICER_ID):
            event = recorded(when(state, instruction(now, sender=sender, role="staff"), now))
            assert event.sender_assigned, sender

    def test_any_assigned_staff_role_may_record_one(self) -> None:
        state, now = given("panel")
        for role in ("investigator", "panel_member"):
            assert recorded(when(state, instruction(now, by=role), now)).actor.role == role

    def test_the_same_instruction_again_is_a_no_op(self) -> None:
        state, now = given("panel")
        state = fold(decide(state, instruction(now), now), state)
        assert when(state, instruction(now), now + HOUR) == []

    def test_parties_and_outsiders_may_not_record_one(self) -> None:
        state, now = given("panel")
        for role in ("respondent", "complainant", "general_secretary", "intake"):
            rejected(when(state, instruction(now, by=role), now), NotPermitted,
                     "role-permission", "actor.role")

    def test_an_investigator_not_assigned_may_not_record_one(self) -> None:
        state, now = given("panel")
        command = instruction(now).model_copy(
            update={"actor": ex.actor("investigator", "staff-other")})
        rejected(when(state, command, now), NotPermitted, "role-permission", "actor.id")

    def test_an_instruction_received_in_the_future_is_refused(self) -> None:
        state, now = given("panel")
        rejected(when(state, instruction(now, received=now + HOUR), now), InvalidCommand,
                 "received-at-not-in-future", "received_at")

    def test_the_content_is_keyed_to_the_sender(self) -> None:
        state, now = given("panel")
        command = instruction(now).model_copy(
            update={"content": personal(ex.RESPONDENT_ID, "Expel him.")})
        rejected(when(state, command, now), InvalidCommand, "personal-data-subject", "content")

    def test_a_closed_case_still_takes_a_contact_and_the_audit_passes_it(self) -> None:
        # Given a closed case
        state, now = given("close")
        assert state.closed
        # When a referral to the police is made after closure
        later = now + 30 * 24 * HOUR
        referral = RecordInstruction(
            actor=OFFICER, authority=ex.AUTHORITY, from_person_id=ex.OFFICER_ID,
            from_role="case_officer", channel="email", received_at=later - HOUR,
            content=personal(ex.OFFICER_ID, "Referred the threats to the police."),
            direction=ContactDirection.SENT, kind=ContactKind.REFERRAL,
            outside_body="Metropolitan Police Online Hate Crime Hub",
            shared_evidence_ids=["E1"])
        event = recorded(when(state, referral, later))
        # Then it is on the closed case's record, the case stays closed
        after = fold([event], state)
        assert after.closed and event.outside_body == "Metropolitan Police Online Hate Crime Hub"
        # And the audit neither fails the closed-case rule nor misses the contact
        events = [*history("close")[0], event]
        audit = audit_case(record(events), now=later)
        closed = next(c for c in audit.checks if c.check_id == "case-closed")
        assert closed.status is CheckStatus.PASS
        contacts = next(c for c in audit.checks if c.check_id == "outside-contacts-surfaced")
        assert "Metropolitan Police Online Hate Crime Hub" in contacts.explanation

    def test_a_closed_case_still_refuses_a_step_of_the_procedure(self) -> None:
        state, now = given("close")
        with_error = decide_or_error(state, STEPS["notice"].command, now)
        rejected(with_error, CaseClosedError, "case-closed", "type")

    def test_a_case_with_no_report_refuses_it(self) -> None:
        rejected(when(CaseState.empty(CASE_ID), instruction(ex.T0), ex.T0), InvalidCommand,
                 "case-not-reported")


# --- the audit ------------------------------------------------------------------------


def record(events: Sequence[CaseEvent]) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
            actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
            effective_at=e.effective_at, stream_id=f"case-{CASE_ID}", stream_version=n,
            position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)
    ]


def with_instructions(*commands: RecordInstruction) -> list[CaseEvent]:
    """The whole happy path, with the instructions recorded just after the panel."""
    events, now = history("panel")
    state = fold(events, CaseState.empty(CASE_ID))
    for command in commands:
        new = decide(state, command, now)
        state, events = fold(new, state), events + new
    for name in ORDER[ORDER.index("panel") + 1:]:
        new = decide(state, STEPS[name].command, STEPS[name].now)
        state, events = fold(new, state), events + new
    return events


def audited(events: Sequence[CaseEvent]) -> tuple[CaseAudit, CheckResult]:
    result = audit_case(record(events), now=STEPS["close"].now)
    return result, next(c for c in result.checks if c.check_id == "instructions-on-record")


def test_the_audit_surfaces_an_instruction_from_outside_the_case() -> None:
    now = STEPS["panel"].now
    result, found = audited(with_instructions(instruction(now)))
    assert found.status is CheckStatus.PASS and found.offending == []
    assert [ref.event_type for ref in found.noted] == ["InstructionRecorded"]
    assert f"{BOSS_ID!r} (general_secretary) by email" in found.explanation
    assert "from outside the case" in found.explanation
    row = next(t for t in result.timeline if t.event_type == "InstructionRecorded")
    assert row.stream_version == found.noted[0].stream_version
    assert row.flags == [f"instruction from outside the case: {BOSS_ID!r} (general_secretary) "
                         f"by email, received {(now - HOUR).isoformat()}"]


def test_an_instruction_from_an_assigned_sender_is_not_noted() -> None:
    now = STEPS["panel"].now
    result, found = audited(with_instructions(
        instruction(now, sender=ex.INVESTIGATOR_ID, role="investigator")))
    assert found.status is CheckStatus.PASS and found.noted == []
    row = next(t for t in result.timeline if t.event_type == "InstructionRecorded")
    assert row.flags == [] and "sender assigned to the case" in row.summary


def test_a_record_claiming_an_outsider_was_assigned_fails() -> None:
    # Written to the store directly: the audit judges the case, not the event's own claim.
    events = with_instructions(instruction(STEPS["panel"].now))
    events = [e.model_copy(update={"sender_assigned": True})
              if isinstance(e, InstructionRecorded) else e for e in events]
    _, found = audited(events)
    assert found.status is CheckStatus.FAIL
    assert [ref.event_type for ref in found.offending] == ["InstructionRecorded"]
    assert [ref.event_type for ref in found.noted] == ["InstructionRecorded"]
    assert f"records {BOSS_ID!r} as assigned" in found.explanation


def test_a_case_without_instructions_notes_nothing() -> None:
    _, found = audited(with_instructions())
    assert found.status is CheckStatus.PASS and found.noted == []
