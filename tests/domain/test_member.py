"""Member stream: decide_member and evolve_member, given/when/then plus properties."""

from __future__ import annotations

import pathlib
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import dueprocess.deploy
import pytest
from dueprocess.domain.base import Actor, DomainError, InvalidCommand, PolicyViolation
from dueprocess.domain.membership.member import (
    MEMBER_COMMAND_ADAPTER,
    MEMBER_EVENT_ADAPTER,
    MemberCommand,
    MemberEvent,
    MemberJoined,
    MemberRejoined,
    MemberResigned,
    MembershipLapsed,
    MembershipRenewed,
    MembershipStatus,
    MemberState,
    RecordJoined,
    RecordLapsed,
    RecordRejoined,
    RecordRenewed,
    RecordResigned,
    decide_member,
    evolve_member,
    fold_member,
    member_stream,
)
from dueprocess.domain.policy import PolicyDocument, load_policy
from hypothesis import given, settings
from hypothesis import strategies as st

SAMPLE = pathlib.Path(dueprocess.deploy.__file__).parent / "policies" / "sample.yaml"
POLICY: PolicyDocument = load_policy(SAMPLE.read_text())
WINDOW = timedelta(days=90)  # rejoin_continuity_window in the sample policy
ADMIN = Actor(id="backoffice-1", role="membership_admin")
AUTH = "bylaws#membership"
MEMBER = "m-42"
JOINED = date(2019, 3, 1)
NOW = datetime(2026, 1, 10, 12, tzinfo=UTC)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


def joined(number: str = "M-1", on: date = JOINED) -> RecordJoined:
    return RecordJoined(actor=ADMIN, authority=AUTH, membership_number=number, joined_on=on)


def resigned(on: date, *, in_protest: bool, reason: str | None = None) -> RecordResigned:
    return RecordResigned(actor=ADMIN, authority=AUTH, in_protest=in_protest, reason=reason,
                          effective_at=at(on))


def rejoined(on: date, number: str | None = None) -> RecordRejoined:
    return RecordRejoined(actor=ADMIN, authority=AUTH, membership_number=number,
                          effective_at=at(on))


def lapsed(on: date) -> RecordLapsed:
    return RecordLapsed(actor=ADMIN, authority=AUTH, effective_at=at(on))


def renewed(on: date, until: date) -> RecordRenewed:
    return RecordRenewed(actor=ADMIN, authority=AUTH, until=until, effective_at=at(on))


def given_history(commands: Sequence[MemberCommand]) -> MemberState:
    state = MemberState.empty(MEMBER)
    for command in commands:
        for event in decide_member(state, command, NOW, POLICY):
            state = evolve_member(state, event)
    return state


def when(state: MemberState, command: MemberCommand) -> list[MemberEvent]:
    return decide_member(state, command, NOW, POLICY)


def refused(state: MemberState, command: MemberCommand) -> DomainError:
    with pytest.raises(DomainError) as info:
        decide_member(state, command, NOW, POLICY)
    return info.value


# -- join ---------------------------------------------------------------------------


def test_join_records_number_and_takes_effect_on_the_join_date() -> None:
    [event] = when(MemberState.empty(MEMBER), joined())
    assert isinstance(event, MemberJoined)
    assert (event.member_id, event.membership_number, event.joined_on) == (MEMBER, "M-1", JOINED)
    assert event.effective_at == datetime(2019, 3, 1, tzinfo=UTC)
    state = evolve_member(MemberState.empty(MEMBER), event)
    assert state.status is MembershipStatus.MEMBER
    assert (state.membership_number, state.joined_on, state.continuous_since) == (
        "M-1", JOINED, JOINED)


def test_joining_twice_is_idempotent_but_a_different_join_is_refused() -> None:
    state = given_history([joined()])
    assert when(state, joined()) == []
    error = refused(state, joined(number="M-2"))
    assert isinstance(error, InvalidCommand)
    assert (error.rule, error.field) == ("join-once", "membership_number")
    assert refused(state, joined(on=date(2020, 1, 1))).field == "joined_on"


def test_a_join_in_the_future_is_refused() -> None:
    error = refused(MemberState.empty(MEMBER), joined(on=date(2027, 1, 1)))
    assert (error.rule, error.field) == ("effective-at-not-in-future", "effective_at")


def test_join_effective_at_must_fall_on_the_join_date() -> None:
    command = joined().model_copy(update={"effective_at": at(date(2019, 4, 1))})
    error = refused(MemberState.empty(MEMBER), command)
    assert (error.rule, error.field) == ("join-effective-on-joined-date", "effective_at")


# -- renew, lapse, resign ----------------------------------------------------------------


def test_renewal_extends_and_repeats_are_no_ops() -> None:
    state = given_history([joined(), renewed(date(2024, 1, 5), date(2025, 1, 31))])
    assert state.paid_until == date(2025, 1, 31)
    assert when(state, renewed(date(2024, 1, 6), date(2025, 1, 31))) == []
    error = refused(state, renewed(date(2024, 1, 6), date(2024, 12, 31)))
    assert (error.rule, error.field) == ("renewal-extends-membership", "until")


def test_renewal_needs_a_current_member() -> None:
    error = refused(MemberState.empty(MEMBER), renewed(date(2024, 1, 5), date(2025, 1, 1)))
    assert (error.rule, error.field) == ("renew-needs-member", "member_id")


def test_lapse_and_resignation_are_idempotent() -> None:
    state = given_history([joined(), lapsed(date(2024, 2, 1))])
    assert state.status is MembershipStatus.LAPSED and state.current_continuity is None
    assert when(state, lapsed(date(2024, 2, 2))) == []
    state = given_history([joined(), resigned(date(2024, 2, 1), in_protest=True)])
    assert when(state, resigned(date(2024, 2, 2), in_protest=True)) == []
    assert refused(state, resigned(date(2024, 2, 2), in_protest=False)).rule == "resign-once"


def test_resignation_reason_is_the_members_personal_data() -> None:
    state = given_history([joined()])
    [event] = when(state, resigned(date(2024, 2, 1), in_protest=True, reason="policy on X"))
    assert isinstance(event, MemberResigned) and event.reason is not None
    assert (event.reason.subject_id, event.reason.value) == (MEMBER, "policy on X")


def test_facts_go_in_valid_time_order() -> None:
    state = given_history([joined(), lapsed(date(2024, 2, 1))])
    error = refused(state, rejoined(date(2024, 1, 1)))
    assert (error.rule, error.field) == ("effective-at-order", "effective_at")


# -- rejoin ---------------------------------------------------------------------------


def test_rejoin_of_someone_never_a_member_is_refused_not_a_new_member() -> None:
    error = refused(MemberState.empty("typo-id"), rejoined(date(2024, 5, 1), "M-9"))
    assert isinstance(error, InvalidCommand)
    assert (error.rule, error.field) == ("rejoin-needs-member", "member_id")


def test_rejoin_of_a_current_member_is_refused() -> None:
    error = refused(given_history([joined()]), rejoined(date(2024, 5, 1)))
    assert error.rule == "rejoin-needs-former-member"


def test_protest_resignation_then_rejoin_within_window_keeps_number_and_join_date() -> None:
    left = date(2024, 3, 1)
    state = given_history([joined(), resigned(left, in_protest=True)])
    [event] = when(state, rejoined(left + timedelta(days=60)))
    assert isinstance(event, MemberRejoined)
    assert (event.continuity_kept, event.membership_number, event.continuous_since) == (
        True, "M-1", JOINED)
    assert "within the 90-day window of policy 2023.1" in event.continuity_note
    after = evolve_member(state, event)
    assert (after.member_id, after.status, after.current_continuity) == (
        MEMBER, MembershipStatus.MEMBER, JOINED)


def test_rejoin_within_window_with_another_number_breaks_policy() -> None:
    left = date(2024, 3, 1)
    state = given_history([joined(), resigned(left, in_protest=True)])
    error = refused(state, rejoined(left + timedelta(days=10), "M-77"))
    assert isinstance(error, PolicyViolation)
    assert (error.rule, error.field) == ("rejoin-keeps-membership-number", "membership_number")
    # the original number, given explicitly, is fine
    assert when(state, rejoined(left + timedelta(days=10), "M-1"))


def test_protest_rejoin_outside_window_restarts_continuity_for_the_same_member() -> None:
    left = date(2024, 3, 1)
    back = left + WINDOW + timedelta(days=1)
    state = given_history([joined(), resigned(left, in_protest=True)])
    [event] = when(state, rejoined(back))
    assert isinstance(event, MemberRejoined)
    assert (event.continuity_kept, event.membership_number, event.continuous_since) == (
        False, "M-1", back)
    after = evolve_member(state, event)
    assert after.member_id == MEMBER and after.joined_on == JOINED  # same member, history kept


@pytest.mark.parametrize("leave", ["lapse", "plain resignation"])
def test_leaving_without_protest_restarts_continuity_even_within_window(leave: str) -> None:
    left = date(2024, 3, 1)
    leaving = lapsed(left) if leave == "lapse" else resigned(left, in_protest=False)
    state = given_history([joined(), leaving])
    [event] = when(state, rejoined(left + timedelta(days=5), "M-2"))
    assert isinstance(event, MemberRejoined)
    assert (event.continuity_kept, event.membership_number, event.continuous_since) == (
        False, "M-2", left + timedelta(days=5))


def test_repeated_rejoin_is_a_no_op() -> None:
    left = date(2024, 3, 1)
    state = given_history([joined(), resigned(left, in_protest=True), rejoined(left)])
    assert state.rejoined is not None
    assert when(state, rejoined(left + timedelta(days=1))) == []


def test_commands_and_events_round_trip_through_their_unions() -> None:
    command = MEMBER_COMMAND_ADAPTER.validate_python(joined().model_dump(mode="json"))
    assert command == joined()
    [event] = when(MemberState.empty(MEMBER), joined())
    assert MEMBER_EVENT_ADAPTER.validate_python(event.model_dump(mode="json")) == event
    assert member_stream(MEMBER) == "member-m-42"


# -- properties ----------------------------------------------------------------------


DAY0 = date(2020, 1, 1)


@st.composite
def command_runs(draw: st.DrawFn) -> list[MemberCommand]:
    """Random back-office sessions: any command on increasing days, valid or not."""
    commands: list[MemberCommand] = [joined(on=DAY0)] if draw(st.booleans()) else []
    day = DAY0
    for _ in range(draw(st.integers(0, 12))):
        day += timedelta(days=draw(st.integers(0, 200)))
        kind = draw(st.sampled_from(["renew", "lapse", "resign", "rejoin", "join"]))
        if kind == "renew":
            commands.append(renewed(day, day + timedelta(days=draw(st.integers(1, 400)))))
        elif kind == "lapse":
            commands.append(lapsed(day))
        elif kind == "resign":
            commands.append(resigned(day, in_protest=draw(st.booleans())))
        elif kind == "rejoin":
            commands.append(rejoined(day, draw(st.sampled_from([None, "M-1", "M-2"]))))
        else:
            commands.append(joined(number=draw(st.sampled_from(["M-1", "M-3"])), on=day))
    return commands


def events_of(commands: Sequence[MemberCommand]) -> list[MemberEvent]:
    state, events = MemberState.empty(MEMBER), []
    for command in commands:
        try:
            new = decide_member(state, command, NOW, POLICY)
        except DomainError:
            continue
        for event in new:
            state = evolve_member(state, event)
        events += new
    return events


@settings(max_examples=150, deadline=None)
@given(command_runs(), st.data())
def test_replay_of_a_prefix_then_live_events_equals_the_whole_fold(
    commands: list[MemberCommand], data: st.DataObject,
) -> None:
    events = events_of(commands)
    cut = data.draw(st.integers(0, len(events)))
    replayed = fold_member(events[:cut], MemberState.empty(MEMBER))
    live = replayed
    for event in events[cut:]:
        live = evolve_member(live, event)
    assert live == fold_member(events, MemberState.empty(MEMBER))
    # the stored form replays to the same state (what the service reads back)
    stored = [MEMBER_EVENT_ADAPTER.validate_python(e.model_dump(mode="json")) for e in events]
    assert fold_member(stored, MemberState.empty(MEMBER)) == live


@settings(max_examples=150, deadline=None)
@given(command_runs(), st.randoms(use_true_random=False))
def test_evolve_is_total_for_any_event_order(
    commands: list[MemberCommand], rnd: random.Random,
) -> None:
    events = events_of(commands)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    state = fold_member(shuffled, MemberState.empty(MEMBER))
    assert state.member_id == MEMBER


@settings(max_examples=100, deadline=None)
@given(command_runs())
def test_decided_histories_keep_invariants(commands: list[MemberCommand]) -> None:
    events = events_of(commands)
    state = fold_member(events, MemberState.empty(MEMBER))
    joins = [e for e in events if isinstance(e, MemberJoined)]
    assert len(joins) <= 1  # joining twice never gets through
    if not joins:
        assert events == []  # nothing, not even a rejoin, creates a member
        return
    before = MemberState.empty(MEMBER)
    for event in events:
        if isinstance(event, MemberRejoined) and event.continuity_kept:
            # kept continuity means the number and start the member had before leaving
            assert before.left_in_protest
            assert (event.membership_number, event.continuous_since) == (
                before.membership_number, before.continuous_since)
        before = evolve_member(before, event)
    assert state.joined_on == joins[0].joined_on
    dated = [e for e in events if isinstance(e, MembershipLapsed | MembershipRenewed)]
    assert all(e.effective_at.date() >= joins[0].joined_on for e in dated)
