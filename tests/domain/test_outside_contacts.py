"""Contacts with outside bodies, either way, on the record through ``RecordInstruction``
(one mechanism), and every contact surfaced by the audit: body, direction, who, when and
what was shared (EHRC 2020; DSA 17(3)(b); invariant 5).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import DomainError, InvalidCommand, personal
from dueprocess.domain.case import CaseEvent, CaseState, InstructionRecorded, decide, fold
from dueprocess.domain.case.commands import RecordInstruction
from dueprocess.domain.case.events import CASE_EVENT_ADAPTER
from dueprocess.domain.case.upcasters import CASE_UPCASTERS
from dueprocess.domain.case.values import ComplainantKind, ContactDirection, ContactKind
from dueprocess.domain.envelope import Position, RecordedEvent
from fixtures import case_examples as ex

CASE_ID = "case-1"
HOUR = timedelta(hours=1)
POLICE = "Metropolitan Police Online Hate Crime Hub"
STEPS = {step.name: step for step in ex.happy_path()}
ORDER = [step.name for step in ex.happy_path()]

Result: TypeAlias = list[CaseEvent] | DomainError


def given(upto: str) -> tuple[CaseState, list[CaseEvent], datetime]:
    state, events = CaseState.empty(CASE_ID), list[CaseEvent]()
    for name in ORDER[: ORDER.index(upto) + 1]:
        new = decide(state, STEPS[name].command, STEPS[name].now)
        state, events = fold(new, state), events + new
    return state, events, STEPS[upto].now


def referral(now: datetime, **changes: Any) -> RecordInstruction:
    """The case officer refers the case to the police, sharing the public post."""
    fields: dict[str, Any] = dict(
        actor=ex.actor("case_officer"), authority=ex.AUTHORITY, from_person_id=ex.OFFICER_ID,
        from_role="case_officer", channel="email",
        content=personal(ex.OFFICER_ID, "Referred for a possible offence."),
        received_at=now - HOUR, direction=ContactDirection.SENT, kind=ContactKind.REFERRAL,
        outside_body=POLICE, to_role="duty_officer",
        shared="the report's allegations and the public post", shared_evidence_ids=["E1"])
    return RecordInstruction(**{**fields, **changes})


def when(state: CaseState, command: RecordInstruction, now: datetime) -> Result:
    try:
        return decide(state, command, now)
    except DomainError as error:
        return error


def rejected(result: Result, rule: str, field: str) -> None:
    assert isinstance(result, InvalidCommand), f"expected InvalidCommand({rule}), got {result}"
    assert (result.rule, result.field) == (rule, field), str(result)


class TestRecordContact:
    def test_a_referral_sent_records_body_recipient_and_what_was_shared(self) -> None:
        state, _, now = given("notice")
        (event,) = decide(state, referral(now), now)
        assert isinstance(event, InstructionRecorded)
        assert (event.direction, event.kind, event.outside_body, event.to_role) == (
            ContactDirection.SENT, ContactKind.REFERRAL, POLICE, "duty_officer")
        assert event.shared_evidence_ids == ["E1"] and event.sender_assigned
        assert when(fold([event], state), referral(now), now) == []  # retried

    def test_an_instruction_received_keeps_its_old_meaning(self) -> None:
        state, _, now = given("notice")
        command = referral(now, direction=ContactDirection.RECEIVED,
                           kind=ContactKind.INSTRUCTION, outside_body=None, to_role=None,
                           shared=None, shared_evidence_ids=[])
        (event,) = decide(state, command, now)
        assert isinstance(event, InstructionRecorded)
        assert event.direction is ContactDirection.RECEIVED

    def test_a_contact_sent_names_its_recipient(self) -> None:
        state, _, now = given("notice")
        command = referral(now, kind=ContactKind.DISCLOSURE, outside_body=None, to_role=None)
        rejected(when(state, command, now), "contact-counterpart-named", "to_role")

    def test_a_referral_names_the_outside_body(self) -> None:
        state, _, now = given("notice")
        rejected(when(state, referral(now, outside_body=None), now),
                 "contact-counterpart-named", "outside_body")

    def test_a_contact_received_has_no_recipient(self) -> None:
        state, _, now = given("notice")
        command = referral(now, direction=ContactDirection.RECEIVED)
        rejected(when(state, command, now), "contact-counterpart-named", "to_person_id")

    def test_what_was_shared_from_the_file_is_on_the_file(self) -> None:
        state, _, now = given("notice")
        rejected(when(state, referral(now, shared_evidence_ids=["E1", "E9"]), now),
                 "contact-shared-on-file", "shared_evidence_ids.1")


def test_a_v1_instruction_reads_back_as_an_instruction_received() -> None:
    state, _, now = given("notice")
    (event,) = decide(state, referral(now), now)
    old = event.model_dump(mode="json")
    for name in ("direction", "kind", "outside_body", "to_person_id", "to_role", "shared",
                 "shared_evidence_ids"):
        old.pop(name)
    version, payload = CASE_UPCASTERS.upcast("InstructionRecorded", 1, old)
    upcast = CASE_EVENT_ADAPTER.validate_python(payload)
    assert version == InstructionRecorded.schema_version == 2
    assert isinstance(upcast, InstructionRecorded)
    assert (upcast.direction, upcast.kind, upcast.outside_body, upcast.shared_evidence_ids) == (
        ContactDirection.RECEIVED, ContactKind.INSTRUCTION, None, [])
    assert CASE_UPCASTERS.upcast("InstructionRecorded", 2, payload) == (2, payload)


def record(events: Sequence[CaseEvent]) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
            actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
            effective_at=e.effective_at, stream_id=f"case-{CASE_ID}", stream_version=n,
            position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)
    ]


def test_the_audit_surfaces_every_contact_either_way() -> None:
    police = ex.complainant(ComplainantKind.OUTSIDE_BODY, outside_body=POLICE)
    state = CaseState.empty(CASE_ID)
    events = decide(state, ex.file_report(report_complainant=police), ex.T0)
    state = fold(events, state)
    now = ex.T0 + HOUR
    boss = RecordInstruction(
        actor=ex.actor("case_officer"), authority=ex.AUTHORITY, from_person_id="m-900",
        from_role="general_secretary", channel="phone",
        content=personal("m-900", "Expel him."), received_at=now, kind=ContactKind.COMMENT,
        outside_body="Party office")
    for command in (referral(now), boss):
        new = decide(state, command, now)
        state, events = fold(new, state), events + new
    result = audit_case(record(events), now=now)
    found = next(c for c in result.checks if c.check_id == "outside-contacts-surfaced")
    assert found.status is CheckStatus.PASS and found.offending == []
    assert [r.event_type for r in found.noted] == [
        "ReportFiled", "InstructionRecorded", "InstructionRecorded"]
    rows = result.contacts
    assert [(r.direction, r.kind, r.outside_body) for r in rows] == [
        ("received", "report", POLICE), ("sent", "referral", POLICE),
        ("received", "comment", "Party office")]
    sent = rows[1]
    assert (sent.sender, sent.recipient, sent.at) == (
        f"{ex.OFFICER_ID} (case_officer)", "- (duty_officer)", now - HOUR)
    assert sent.shared_evidence_ids == ["E1"] and sent.shared and "public post" in sent.shared
    assert not rows[2].sender_assigned
    assert f"referral sent by {ex.OFFICER_ID} (case_officer) to - (duty_officer) {POLICE}" \
        in found.explanation and "shared: the report's allegations" in found.explanation
    row = next(t for t in result.timeline if t.event_type == "InstructionRecorded")
    assert "referral sent by case_officer" in row.summary and POLICE in row.summary


def test_a_case_with_no_contact_says_not_applicable() -> None:
    _, events, _ = given("notice")
    result = audit_case(record(events), now=STEPS["notice"].now)
    found = next(c for c in result.checks if c.check_id == "outside-contacts-surfaced")
    assert found.status is CheckStatus.NOT_APPLICABLE and result.contacts == []
