"""MemberService against a real PostgreSQL event store."""

from __future__ import annotations

import asyncio
import pathlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import dueprocess.deploy
import pytest
from dueprocess.domain.base import Actor, EventBase, InvalidCommand, PolicyViolation, personal
from dueprocess.domain.case.events import AppealDecided, ReportFiled, SanctionApplied
from dueprocess.domain.case.values import (
    Allegation,
    AppealOutcome,
    Complainant,
    ComplainantKind,
    Respondent,
    Sanction,
)
from dueprocess.domain.envelope import NewEvent
from dueprocess.domain.membership.member import (
    RecordJoined,
    RecordLapsed,
    RecordRejoined,
    RecordResigned,
    member_stream,
)
from dueprocess.domain.policy import PolicyDocument, Right, SanctionKind, load_policy
from dueprocess.services.members import MemberService, case_streams_for
from dueprocess.store.eventstore import ConcurrencyConflict, EventStore

SAMPLE = pathlib.Path(dueprocess.deploy.__file__).parent / "policies" / "sample.yaml"
POLICY: PolicyDocument = load_policy(SAMPLE.read_text())
ADMIN = Actor(id="backoffice-1", role="membership_admin")
OFFICER = Actor(id="staff-7", role="case_officer")
ALL = [Right.VOTE, Right.STAND_FOR_OFFICE, Right.ATTEND]
JOINED = date(2019, 3, 1)


def t(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


def join(number: str = "M-1") -> RecordJoined:
    return RecordJoined(actor=ADMIN, authority="bylaws", membership_number=number,
                        joined_on=JOINED)


def resign(at: datetime) -> RecordResigned:
    return RecordResigned(actor=ADMIN, authority="bylaws", in_protest=True,
                          reason="the leadership's line", effective_at=at)


def rejoin(at: datetime, number: str | None = None) -> RecordRejoined:
    return RecordRejoined(actor=ADMIN, authority="bylaws", membership_number=number,
                          effective_at=at)


def envelope(event: EventBase, recorded_at: datetime) -> NewEvent:
    return NewEvent(event_id=uuid.uuid4(), event_type=event.type,
                    payload=event.model_dump(mode="json"), actor=event.actor,
                    authority=event.authority, recorded_at=recorded_at,
                    effective_at=event.effective_at)


def case_meta(at: datetime) -> dict[str, Any]:
    return {"actor": OFFICER, "authority": "policy:2023.1#s5", "effective_at": at}


def report(case: str, respondent: str) -> ReportFiled:
    version = POLICY.version_named("2023.1")
    assert version is not None
    return ReportFiled(
        **case_meta(t(2024, 4, 1)), case_id=case,
        complainant=Complainant(kind=ComplainantKind.MEMBER, person_id="m-7",
                                name=personal("m-7", "Sam")),
        respondent=Respondent(person_id=respondent, name=personal(respondent, "Alex")),
        allegations=[Allegation(allegation_id="a1", rule_id="R1", conduct_date=date(2024, 3, 1),
                                particulars=personal(respondent, "threats"))],
        evidence=[], admissibility=[], good_faith_declaration=True, automated=False,
        policy_id=POLICY.policy_id, procedure_version="2023.1", rule_versions={"a1": "2023.1"},
        pinned_versions=[version])


@pytest.fixture
def service(store: EventStore) -> MemberService:
    return MemberService(store, POLICY)


async def test_record_appends_to_the_member_stream_and_repeats_are_no_ops(
    service: MemberService, store: EventStore,
) -> None:
    written = await service.record("m-1", join(), t(2024, 1, 1))
    assert [e.event_type for e in written] == ["MemberJoined"]
    assert written[0].effective_at == datetime(2019, 3, 1, tzinfo=UTC)
    assert written[0].recorded_at == t(2024, 1, 1)
    assert await service.record("m-1", join(), t(2024, 1, 2)) == []
    assert await store.version(member_stream("m-1")) == 1
    state, version = await service.load("m-1")
    assert (state.membership_number, state.joined_on, version) == ("M-1", JOINED, 1)


async def test_domain_errors_pass_through_unchanged(service: MemberService) -> None:
    await service.record("m-1", join(), t(2024, 1, 1))
    with pytest.raises(InvalidCommand) as info:
        await service.record("m-1", join("M-2"), t(2024, 1, 2))
    assert (info.value.rule, info.value.field) == ("join-once", "membership_number")


async def test_rejoin_of_an_unknown_member_is_refused_and_writes_nothing(
    service: MemberService, store: EventStore,
) -> None:
    with pytest.raises(InvalidCommand) as info:
        await service.record("nobody", rejoin(t(2024, 5, 1), "M-9"), t(2024, 5, 2))
    assert (info.value.rule, info.value.field) == ("rejoin-needs-member", "member_id")
    assert await store.version(member_stream("nobody")) == 0


async def test_protest_rejoin_within_window_keeps_number_and_join_date(
    service: MemberService, store: EventStore,
) -> None:
    now = t(2024, 6, 1)
    await service.record("m-1", join(), now)
    await service.record("m-1", resign(t(2024, 3, 1)), now)
    with pytest.raises(PolicyViolation):
        await service.record("m-1", rejoin(t(2024, 4, 1), "M-77"), now)
    [rejoined] = await service.record("m-1", rejoin(t(2024, 4, 1)), now)
    assert rejoined.payload["continuity_kept"] is True
    assert rejoined.payload["membership_number"] == "M-1"
    answer = await service.standing("m-1", POLICY, as_of=t(2024, 5, 1))
    assert (answer.status, answer.membership_number, answer.continuous_since) == (
        "member", "M-1", JOINED)
    # the resignation reason is the member's personal data: erasure shreds it
    await store.erase_subject("m-1")
    [_, resigned, _] = await store.read_stream(member_stream("m-1"))
    assert resigned.payload["reason"]["value"] is None
    assert (await service.standing("m-1", POLICY, as_of=t(2024, 5, 1))).status == "member"


async def test_rejoin_outside_window_is_the_same_member_with_a_new_continuity_start(
    service: MemberService,
) -> None:
    now = t(2024, 12, 1)
    await service.record("m-1", join(), now)
    await service.record("m-1", resign(t(2024, 3, 1)), now)
    [event] = await service.record("m-1", rejoin(t(2024, 8, 1)), now)
    assert event.payload["continuity_kept"] is False
    answer = await service.standing("m-1", POLICY, as_of=t(2024, 9, 1))
    assert (answer.member_id, answer.membership_number, answer.continuous_since) == (
        "m-1", "M-1", date(2024, 8, 1))


async def test_concurrent_writers_are_retried_and_decide_on_fresh_state(
    service: MemberService, store: EventStore,
) -> None:
    await service.record("m-1", join(), t(2024, 1, 1))
    results = await asyncio.gather(*(
        service.record("m-1", RecordLapsed(actor=ADMIN, authority="bylaws",
                                           effective_at=t(2024, 2, 1)), t(2024, 2, 2))
        for _ in range(4)))
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]  # one lapse, the rest no-ops
    assert await store.version(member_stream("m-1")) == 2


async def test_gives_up_after_max_attempts(pool: asyncpg.Pool) -> None:
    class AlwaysBehind(EventStore):
        async def append(self, stream_id: str, expected_version: int,
                         events: Any, notices: Any = None) -> Any:
            raise ConcurrencyConflict(stream_id, expected_version)

    behind = AlwaysBehind(pool)  # every append loses the race
    with pytest.raises(ConcurrencyConflict):
        await MemberService(behind, POLICY, max_attempts=3).record("m-1", join(), t(2024, 1, 1))


async def test_ballot_standing_from_member_and_case_streams(
    service: MemberService, store: EventStore, pool: asyncpg.Pool,
) -> None:
    await service.record("m-1", join(), t(2024, 1, 1))
    suspension = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(weeks=8))
    await store.append("case-c1", 0, [
        envelope(report("c1", "m-1"), t(2024, 4, 1)),
        envelope(SanctionApplied(**case_meta(t(2024, 6, 10)), sanction=suspension,
                                 status="suspended", rights_removed=ALL,
                                 ends_at=t(2024, 8, 5)), t(2024, 6, 10)),
    ])
    await store.append("case-c1", 2, [
        envelope(AppealDecided(**case_meta(t(2024, 7, 15)), outcome=AppealOutcome.ALLOWED,
                               reasons="unfair hearing"), t(2024, 7, 15))])
    await store.append("case-c2", 0, [envelope(report("c2", "m-someone-else"), t(2024, 4, 2))])

    streams = await case_streams_for(pool, "m-1")
    assert streams == ["case-c1"]
    ballot = t(2024, 7, 1)
    now_known = await service.standing("m-1", POLICY, ballot, t(2024, 7, 20), streams)
    assert (now_known.status, now_known.rights) == ("member", ALL)
    then_known = await service.standing("m-1", POLICY, ballot, t(2024, 6, 20), streams)
    assert then_known.status == "suspended" and Right.VOTE not in then_known.rights
    assert {"MemberJoined", "SanctionApplied", "AppealDecided"} <= {
        r.event_type for r in now_known.reasons}
    assert all(r.stream_id in {"member-m-1", "case-c1"} for r in now_known.reasons)
