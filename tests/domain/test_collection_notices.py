"""GDPR Art 14: a person whose data came from someone else is told, or an exemption with
its legal basis is recorded, within the rulebook's period; a durable timer records a miss.

Given the example happy path (its evidence is about the respondent, captured by the
complainant), when a notice, an exemption or the timer's command is decided, then the
events or a rejection naming the rule; and the audit judges the deadline at ``now``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeAlias

from dueprocess.domain.audit import CheckResult, CheckStatus, audit_case
from dueprocess.domain.base import SYSTEM_ACTOR, DomainError, InvalidCommand, NotPermitted
from dueprocess.domain.case import (
    CaseEvent,
    CaseState,
    DeadlineKind,
    decide,
    fold,
    notifications_for,
    pending_deadlines,
)
from dueprocess.domain.case.commands import (
    AddEvidence,
    EscalateMissedCollectionNotice,
    GiveDataCollectionNotice,
    RecordNoticeExemption,
)
from dueprocess.domain.case.events import (
    DataCollectionNoticeExempted,
    DataCollectionNoticeGiven,
    DataCollectionNoticeMissed,
)
from dueprocess.domain.case.upcasters import CASE_UPCASTERS
from dueprocess.domain.case.values import NoticeExemption
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.policy import SourceKind
from dueprocess.domain.rules.catalogue import first_violation
from dueprocess.domain.rules.collection import notices_owed, obtained_elsewhere
from fixtures import case_examples as ex

CASE_ID = "case-1"
OFFICER = ex.actor("case_officer")
DAY = timedelta(days=1)
PERIOD = timedelta(days=28)  # the rulebook's default
DUE = ex.T0 + PERIOD
STEPS = {step.name: step for step in ex.happy_path()}
ORDER = [step.name for step in ex.happy_path()]
ALL = ["E1", "E2", "E3"]

Result: TypeAlias = list[CaseEvent] | DomainError


def given(upto: str) -> tuple[CaseState, list[CaseEvent], datetime]:
    state, events = CaseState.empty(CASE_ID), list[CaseEvent]()
    for name in ORDER[: ORDER.index(upto) + 1]:
        new = decide(state, STEPS[name].command, STEPS[name].now)
        state, events = fold(new, state), events + new
    return state, events, STEPS[upto].now


def when(state: CaseState, command: object, now: datetime) -> Result:
    try:
        return decide(state, command, now)  # type: ignore[arg-type]
    except DomainError as error:
        return error


def rejected(result: Result, error: type[DomainError], rule: str,
             field: str | None = None) -> None:
    assert isinstance(result, error), f"expected {error.__name__}({rule}), got {result}"
    assert result.rule == rule and result.field == field, str(result)


def notice(ids: Sequence[str] = tuple(ALL), subject: str = ex.RESPONDENT_ID,
           by: str = "case_officer") -> GiveDataCollectionNotice:
    return GiveDataCollectionNotice(actor=ex.actor(by), authority=ex.AUTHORITY,
                                    subject_id=subject, evidence_ids=list(ids))


def exemption(ids: Sequence[str] = tuple(ALL)) -> RecordNoticeExemption:
    return RecordNoticeExemption(
        actor=OFFICER, authority=ex.AUTHORITY, subject_id=ex.RESPONDENT_ID,
        evidence_ids=list(ids), exemption=NoticeExemption.RESTRICTED_BY_LAW,
        legal_basis="UK DPA 2018 Sch 2 para 2",
        reasons="A police investigation into the same conduct would be prejudiced.")


def miss(due: datetime = DUE) -> EscalateMissedCollectionNotice:
    return EscalateMissedCollectionNotice(actor=SYSTEM_ACTOR,
                                          authority="policy:2023.1#deadlines.x", due_at=due)


# --- what is owed -------------------------------------------------------------------------


def test_evidence_about_the_respondent_from_the_complainant_owes_a_notice() -> None:
    state, _, _ = given("file")
    owed = notices_owed(state)
    assert [(o.evidence_id, o.subject_id, o.due_at) for o in owed] == [
        (i, ex.RESPONDENT_ID, DUE) for i in ALL]
    deadlines = [d for d in pending_deadlines(state)
                 if d.kind is DeadlineKind.DATA_COLLECTION_NOTICE]
    assert [(d.due_at, d.command.type) for d in deadlines] == [
        (DUE, "EscalateMissedCollectionNotice")]


def test_evidence_a_person_gave_about_themselves_owes_none() -> None:
    item = ex.evidence("E9").model_copy(update={"captured_by": ex.RESPONDENT_ID})
    statement = ex.evidence("E8").model_copy(update={"witness_id": ex.RESPONDENT_ID})
    assert not obtained_elsewhere(item) and not obtained_elsewhere(statement)
    assert obtained_elsewhere(ex.evidence("E1"))


def test_evidence_added_later_has_its_own_deadline() -> None:
    state, _, now = given("assign")
    add = AddEvidence(actor=OFFICER, authority=ex.AUTHORITY,
                      evidence=[ex.evidence("E4", source_kind=SourceKind.DOCUMENT,
                                            captured_at=now)])
    state = fold(decide(state, add, now), state)
    due = {o.evidence_id: o.due_at for o in notices_owed(state)}
    assert due["E4"] == now + PERIOD and due["E1"] == DUE


# --- the notice ---------------------------------------------------------------------------


class TestGiveNotice:
    def test_the_respondent_is_told_with_the_sources_and_a_letter(self) -> None:
        state, _, now = given("notice")
        (event,) = decide(state, notice(), now)
        assert isinstance(event, DataCollectionNoticeGiven)
        assert event.subject_id == ex.RESPONDENT_ID and event.evidence_ids == ALL
        assert event.sources[0] == "E1: public_post from https://social.example/post/1"
        after = fold([event], state)
        assert notices_owed(after) == []
        assert not [d for d in pending_deadlines(after)
                    if d.kind is DeadlineKind.DATA_COLLECTION_NOTICE]
        (letter,) = notifications_for(after, event, "ev-1")
        assert letter.recipient_role == "respondent" and "E1: public_post" in letter.body
        assert letter.address is not None and letter.address.value == "bob@example.org"

    def test_the_same_notice_again_is_a_no_op(self) -> None:
        state, _, now = given("notice")
        state = fold(decide(state, notice(), now), state)
        assert when(state, notice(), now) == []

    def test_evidence_not_on_file_is_refused(self) -> None:
        state, _, now = given("notice")
        rejected(when(state, notice(["E1", "E7"]), now), InvalidCommand,
                 "collection-notice-owed", "evidence_ids.1")

    def test_evidence_about_someone_else_is_refused(self) -> None:
        state, _, now = given("notice")
        rejected(when(state, notice(["E1"], subject=ex.WITNESS_ID), now), InvalidCommand,
                 "collection-notice-owed", "evidence_ids.0")

    def test_a_notice_already_given_for_an_item_is_refused_with_others(self) -> None:
        state, _, now = given("notice")
        state = fold(decide(state, notice(["E1"]), now), state)
        rejected(when(state, notice(["E2", "E1"]), now), InvalidCommand,
                 "collection-notice-owed", "evidence_ids.1")

    def test_an_item_named_twice_is_refused(self) -> None:
        state, _, now = given("notice")
        rejected(when(state, notice(["E1", "E1"]), now), InvalidCommand,
                 "collection-notice-owed", "evidence_ids.1")

    def test_parties_may_not_give_it(self) -> None:
        state, _, now = given("notice")
        rejected(when(state, notice(by="respondent"), now), NotPermitted, "role-permission",
                 "actor.role")


class TestExemption:
    def test_an_exemption_records_its_ground_and_legal_basis(self) -> None:
        state, _, now = given("notice")
        (event,) = decide(state, exemption(), now)
        assert isinstance(event, DataCollectionNoticeExempted)
        assert (event.exemption, event.legal_basis) == (
            NoticeExemption.RESTRICTED_BY_LAW, "UK DPA 2018 Sch 2 para 2")
        after = fold([event], state)
        assert notices_owed(after) == [] and notifications_for(after, event, "x") == []
        assert when(after, exemption(), now) == []

    def test_an_exemption_needs_a_legal_basis(self) -> None:
        try:
            exemption().model_validate({**exemption().model_dump(), "legal_basis": " "})
        except ValueError as error:
            assert "legal_basis" in str(error)
        else:
            raise AssertionError("a blank legal basis was accepted")

    def test_an_exemption_for_a_notice_already_given_is_refused(self) -> None:
        state, _, now = given("notice")
        state = fold(decide(state, notice(), now), state)
        rejected(when(state, exemption(), now), InvalidCommand, "collection-notice-owed",
                 "evidence_ids.0")


class TestMissTimer:
    def test_the_timer_records_one_miss_per_person_once_due(self) -> None:
        state, _, _ = given("schedule")
        (event,) = decide(state, miss(), DUE)
        assert isinstance(event, DataCollectionNoticeMissed)
        assert (event.subject_id, event.evidence_ids, event.due_at) == (
            ex.RESPONDENT_ID, ALL, DUE)
        after = fold([event], state)
        assert not [d for d in pending_deadlines(after)
                    if d.kind is DeadlineKind.DATA_COLLECTION_NOTICE]
        assert when(after, miss(), DUE + DAY) == []  # already on the record
        # Still owed: a late notice is accepted after the miss.
        assert decide(after, notice(), DUE + DAY)

    def test_the_timer_is_a_no_op_once_the_notice_is_given(self) -> None:
        state, _, now = given("schedule")
        state = fold(decide(state, notice(), now), state)
        assert when(state, miss(), DUE) == []

    def test_a_miss_written_before_it_is_due_breaks_the_rule(self) -> None:
        state, _, now = given("schedule")
        early = DataCollectionNoticeMissed(actor=SYSTEM_ACTOR, authority="x",
                                           effective_at=now, subject_id=ex.RESPONDENT_ID,
                                           evidence_ids=["E1"], due_at=DUE)
        found = first_violation(state, early, now)
        assert found is not None and (found.rule, found.field) == (
            "collection-notice-owed", "effective_at")


# --- the audit ----------------------------------------------------------------------------


def record(events: Sequence[CaseEvent]) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
            actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
            effective_at=e.effective_at, stream_id=f"case-{CASE_ID}", stream_version=n,
            position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)
    ]


def check(events: Sequence[CaseEvent], now: datetime) -> CheckResult:
    result = audit_case(record(events), now=now)
    return next(c for c in result.checks if c.check_id == "data-collection-notice")


def test_the_audit_fails_a_notice_overdue_at_now_and_passes_before() -> None:
    _, events, _ = given("schedule")
    assert check(events, DUE - DAY).status is CheckStatus.PASS
    overdue = check(events, DUE + DAY)
    assert overdue.status is CheckStatus.FAIL
    assert "data-collection notice to 'm-200' for 'E1'" in overdue.explanation
    assert [r.event_type for r in overdue.offending] == ["ReportFiled"]


def test_the_audit_passes_a_notice_in_time_an_exemption_or_an_escalated_miss() -> None:
    state, events, now = given("schedule")
    given_in_time = decide(state, notice(), now)
    assert check([*events, *given_in_time], DUE + DAY).status is CheckStatus.PASS
    exempted = decide(state, exemption(), now)
    assert check([*events, *exempted], DUE + DAY).status is CheckStatus.PASS
    missed = decide(state, miss(), DUE)
    assert check([*events, *missed], DUE + DAY).status is CheckStatus.PASS


def test_the_audit_fails_a_late_notice_with_no_miss_recorded() -> None:
    state, events, _ = given("schedule")
    late = decide(state, notice(), DUE + DAY)
    result = check([*events, *late], DUE + 2 * DAY)
    assert result.status is CheckStatus.FAIL and "met late" in result.explanation


def test_evidence_its_subject_supplied_is_not_applicable() -> None:
    item = ex.evidence("E1").model_copy(update={"captured_by": ex.RESPONDENT_ID})
    state = CaseState.empty(CASE_ID)
    filed = decide(state, ex.file_report(evidence_items=[item]), ex.T0)
    assert check(filed, DUE + DAY).status is CheckStatus.NOT_APPLICABLE


def test_a_rulebook_without_the_period_reads_with_the_default() -> None:
    payload = ex.DEADLINES.model_dump(mode="json")
    del payload["data_collection_notice"]
    assert type(ex.DEADLINES).model_validate(payload).data_collection_notice == PERIOD
    assert CASE_UPCASTERS.applies("InstructionRecorded", 1)
