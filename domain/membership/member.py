"""The member stream: membership facts recorded from back-office systems.

One stream per member (``member-{member_id}``) holds joins, renewals, lapses,
resignations and rejoins (their shapes are in ``facts``). Standing (status, rights,
continuity) is computed from these
events together with the member's case events by ``standing.standing``; this module
only decides and folds the membership facts themselves.

Pure: no I/O, clock or randomness, so the same code serves live writes, replay and audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..base import (
    InvalidCommand,
    PolicyViolation,
    check_effective_time,
    personal,
)
from ..policy import PolicyDocument, PolicyVersion
from ..streams import member_stream
from .facts import (
    MEMBER_COMMAND_ADAPTER,
    MEMBER_EVENT_ADAPTER,
    MEMBER_EVENT_TYPES,
    MemberCommand,
    MemberCommandBase,
    MemberEvent,
    MemberEventBase,
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
)


def day_start(day: date) -> datetime:
    """The instant a calendar day begins (UTC): the default valid time of a dated fact."""
    return datetime.combine(day, time.min, tzinfo=UTC)


# Re-exported: callers import the member stream's vocabulary from here; the stream name
# itself is defined in streams.py.
__all__ = [
    "MEMBER_COMMAND_ADAPTER",
    "MEMBER_EVENT_ADAPTER",
    "MEMBER_EVENT_TYPES",
    "MemberCommand",
    "MemberCommandBase",
    "MemberEvent",
    "MemberEventBase",
    "MemberJoined",
    "MemberRejoined",
    "MemberResigned",
    "MemberState",
    "MembershipLapsed",
    "MembershipRenewed",
    "MembershipStatus",
    "RecordJoined",
    "RecordLapsed",
    "RecordRejoined",
    "RecordRenewed",
    "RecordResigned",
    "day_start",
    "decide_member",
    "evolve_member",
    "fold_member",
    "member_stream",
    "record_joined",
    "record_lapsed",
    "record_rejoined",
    "record_renewed",
    "record_resigned",
]


# -- fold --------------------------------------------------------------------------


def fold_member(events: Iterable[MemberEvent], state: MemberState) -> MemberState:
    for event in events:
        state = evolve_member(state, event)
    return state


def evolve_member(state: MemberState, event: MemberEvent) -> MemberState:
    """Total and rule-free: records facts in whatever order they arrive, because
    replay and audit fold histories that today's rules might refuse."""
    changed = state.model_copy(update=_changes(state, event))
    as_of = event.effective_at if state.as_of is None else max(state.as_of, event.effective_at)
    return changed.model_copy(update={"as_of": as_of})


def _changes(state: MemberState, event: MemberEvent) -> dict[str, Any]:
    match event:
        case MemberJoined():
            return _joined(state, event)
        case MembershipRenewed():
            paid = event.until if state.paid_until is None else max(state.paid_until, event.until)
            return {"paid_until": paid}
        case MembershipLapsed():
            return {"status": MembershipStatus.LAPSED, "left_at": event.effective_at,
                    "left_in_protest": False}
        case MemberResigned():
            return {"status": MembershipStatus.RESIGNED, "left_at": event.effective_at,
                    "left_in_protest": event.in_protest}
        case MemberRejoined():
            return {"status": MembershipStatus.MEMBER,
                    "membership_number": event.membership_number,
                    "continuous_since": event.continuous_since,
                    "joined_on": state.joined_on or event.continuous_since,
                    "left_at": None, "left_in_protest": False, "rejoined": event}
    return {}


def _joined(state: MemberState, event: MemberJoined) -> dict[str, Any]:
    continuous = state.continuous_since if state.is_member else event.joined_on
    return {"status": MembershipStatus.MEMBER, "membership_number": event.membership_number,
            "joined_on": state.joined_on or event.joined_on,
            "continuous_since": continuous or event.joined_on}


# -- decide --------------------------------------------------------------------------


def decide_member(state: MemberState, command: MemberCommand, now: datetime,
                  policy: PolicyDocument) -> list[MemberEvent]:
    """Events the command causes, ``[]`` if it already took effect, or a DomainError.

    ``now`` is the caller's clock; the fact takes effect at ``command.effective_at``
    when the back office records something that happened earlier.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    at = _effective(command, now)
    events = _dispatch(state, command, at, policy)
    if events:
        check_effective_time(at, now, state.as_of)
    return events


def _effective(command: MemberCommand, now: datetime) -> datetime:
    if command.effective_at is not None:
        return command.effective_at
    # A join takes effect on the join date, not when the back office got round to it.
    return day_start(command.joined_on) if isinstance(command, RecordJoined) else now


def _dispatch(state: MemberState, command: MemberCommand, at: datetime,
              policy: PolicyDocument) -> list[MemberEvent]:
    match command:
        case RecordJoined():
            return record_joined(state, command, at)
        case RecordRenewed():
            return record_renewed(state, command, at)
        case RecordLapsed():
            return record_lapsed(state, command, at)
        case RecordResigned():
            return record_resigned(state, command, at)
        case RecordRejoined():
            return record_rejoined(state, command, at, policy)
    raise InvalidCommand(f"unknown member command {command!r}", rule="known-command",
                         field="type")


def _meta(command: MemberCommandBase, at: datetime) -> dict[str, Any]:
    return {"actor": command.actor, "authority": command.authority, "effective_at": at}


def record_joined(state: MemberState, cmd: RecordJoined, at: datetime) -> list[MemberEvent]:
    if state.ever_joined:
        if (state.membership_number, state.joined_on) == (cmd.membership_number, cmd.joined_on):
            return []
        field = "membership_number" if state.membership_number != cmd.membership_number \
            else "joined_on"
        raise InvalidCommand(
            f"member {state.member_id!r} has already joined (number "
            f"{state.membership_number}); record a rejoin instead",
            rule="join-once", field=field)
    if at.date() != cmd.joined_on:
        raise InvalidCommand("effective_at must fall on joined_on",
                             rule="join-effective-on-joined-date", field="effective_at")
    return [MemberJoined(**_meta(cmd, at), member_id=state.member_id,
                         membership_number=cmd.membership_number, joined_on=cmd.joined_on)]


def record_renewed(state: MemberState, cmd: RecordRenewed, at: datetime) -> list[MemberEvent]:
    _require_member(state, rule="renew-needs-member")
    if state.paid_until is not None and cmd.until <= state.paid_until:
        if cmd.until == state.paid_until:
            return []
        raise InvalidCommand(f"membership is already paid until {state.paid_until.isoformat()}",
                             rule="renewal-extends-membership", field="until")
    if cmd.until <= at.date():
        raise InvalidCommand("a renewal must run beyond the day it is recorded",
                             rule="renewal-extends-membership", field="until")
    return [MembershipRenewed(**_meta(cmd, at), until=cmd.until)]


def record_lapsed(state: MemberState, cmd: RecordLapsed, at: datetime) -> list[MemberEvent]:
    if state.status is MembershipStatus.LAPSED:
        return []
    _require_member(state, rule="lapse-needs-member")
    return [MembershipLapsed(**_meta(cmd, at))]


def record_resigned(state: MemberState, cmd: RecordResigned, at: datetime) -> list[MemberEvent]:
    if state.status is MembershipStatus.RESIGNED:
        if state.left_in_protest == cmd.in_protest:
            return []
        raise InvalidCommand("the member has already resigned", rule="resign-once",
                             field="in_protest")
    _require_member(state, rule="resign-needs-member")
    reason = personal(state.member_id, cmd.reason) if cmd.reason else None
    return [MemberResigned(**_meta(cmd, at), in_protest=cmd.in_protest, reason=reason)]


def _require_member(state: MemberState, *, rule: str) -> None:
    if not state.is_member:
        raise InvalidCommand(
            f"member {state.member_id!r} is not a current member (status {state.status.value})",
            rule=rule, field="member_id")


def record_rejoined(state: MemberState, cmd: RecordRejoined, at: datetime,
                    policy: PolicyDocument) -> list[MemberEvent]:
    if not state.ever_joined:
        # Rejoin never silently creates a member: a typo'd id must not mint a new person.
        raise InvalidCommand(
            f"{state.member_id!r} has never been a member: record a join, not a rejoin",
            rule="rejoin-needs-member", field="member_id")
    if state.is_member:
        if _repeat_rejoin(state, cmd):
            return []
        raise InvalidCommand(f"member {state.member_id!r} is a current member",
                             rule="rejoin-needs-former-member", field="member_id")
    assert state.left_at is not None and state.membership_number is not None
    return [_rejoin_event(state, cmd, at, _continuity_window(state, policy, at))]


def _repeat_rejoin(state: MemberState, cmd: RecordRejoined) -> bool:
    return state.rejoined is not None and cmd.membership_number in (
        None, state.membership_number)


def _rejoin_event(state: MemberState, cmd: RecordRejoined, at: datetime,
                  window: tuple[PolicyVersion, timedelta] | None) -> MemberRejoined:
    assert state.left_at is not None and state.membership_number is not None
    kept = window is not None and state.left_in_protest and at - state.left_at <= window[1]
    if kept and cmd.membership_number not in (None, state.membership_number):
        raise PolicyViolation(
            f"a member rejoining within the continuity window keeps membership number "
            f"{state.membership_number}",
            rule="rejoin-keeps-membership-number", field="membership_number")
    since = state.continuous_since if kept and state.continuous_since else at.date()
    return MemberRejoined(
        **_meta(cmd, at), membership_number=cmd.membership_number or state.membership_number,
        continuity_kept=kept, continuous_since=since,
        continuity_note=_continuity_note(state, at, window, kept))


def _continuity_window(state: MemberState, policy: PolicyDocument,
                       at: datetime) -> tuple[PolicyVersion, timedelta] | None:
    """The window promised when the member left (no retrospective rules), else the one
    in force at the rejoin; None when no version covers either date."""
    assert state.left_at is not None
    for day in (state.left_at.date(), at.date()):
        version = next((v for v in policy.versions if v.in_force_on(day)), None)
        if version is not None:
            return version, version.deadlines.rejoin_continuity_window
    return None


def _continuity_note(state: MemberState, at: datetime,
                     window: tuple[PolicyVersion, timedelta] | None, kept: bool) -> str:
    assert state.left_at is not None
    away = (at.date() - state.left_at.date()).days
    how = "resigned in protest" if state.left_in_protest else (
        "lapsed" if state.status is MembershipStatus.LAPSED else "resigned")
    limit = (f"the {window[1].days}-day window of policy {window[0].version}"
             if window else "no policy window")
    if kept:
        return (f"{how} and rejoined after {away} days, within {limit}: membership number "
                f"and continuity since {state.continuous_since} kept")
    restart = f"continuity restarts on {at.date().isoformat()}"
    if not state.left_in_protest:
        return f"{how}, not in protest: {restart}"
    return f"{how} and rejoined after {away} days, outside {limit}: {restart}"
