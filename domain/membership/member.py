"""The member stream: membership facts recorded from back-office systems.

One stream per member (``member-{member_id}``) holds joins, renewals, lapses,
resignations and rejoins. Standing (status, rights, continuity) is computed from these
events together with the member's case events by ``standing.standing``; this module
only decides and folds the membership facts themselves.

Pure: no I/O, clock or randomness, so the same code serves live writes, replay and audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from ..base import (
    CommandBase,
    EventBase,
    InvalidCommand,
    Model,
    Personal,
    PolicyViolation,
    check_effective_time,
    personal,
)
from ..policy import PolicyDocument, PolicyVersion
from ..text import IdText, OptionalText

MEMBER_STREAM_PREFIX = "member-"


def member_stream(member_id: str) -> str:
    return f"{MEMBER_STREAM_PREFIX}{member_id}"


def day_start(day: date) -> datetime:
    """The instant a calendar day begins (UTC): the default valid time of a dated fact."""
    return datetime.combine(day, time.min, tzinfo=UTC)


# -- commands ------------------------------------------------------------------------


class MemberCommandBase(CommandBase):
    # Aware times only: comparing naive and aware datetimes raises instead of deciding.
    effective_at: AwareDatetime | None = None


class RecordJoined(MemberCommandBase):
    type: Literal["RecordJoined"] = "RecordJoined"
    membership_number: IdText
    joined_on: date


class RecordRenewed(MemberCommandBase):
    type: Literal["RecordRenewed"] = "RecordRenewed"
    until: date


class RecordLapsed(MemberCommandBase):
    type: Literal["RecordLapsed"] = "RecordLapsed"


class RecordResigned(MemberCommandBase):
    type: Literal["RecordResigned"] = "RecordResigned"
    in_protest: bool
    # Why someone resigns is often a political opinion (GDPR Art 9): the event stores it
    # as the member's Personal data so erasure can shred it.
    reason: OptionalText | None = None


class RecordRejoined(MemberCommandBase):
    type: Literal["RecordRejoined"] = "RecordRejoined"
    membership_number: IdText | None = None  # None: keep the existing number


MemberCommand = Annotated[
    RecordJoined | RecordRenewed | RecordLapsed | RecordResigned | RecordRejoined,
    Field(discriminator="type"),
]

MEMBER_COMMAND_ADAPTER: TypeAdapter[MemberCommand] = TypeAdapter(MemberCommand)


# -- events --------------------------------------------------------------------------


class MemberEventBase(EventBase):
    effective_at: AwareDatetime


class MemberJoined(MemberEventBase):
    type: Literal["MemberJoined"] = "MemberJoined"
    member_id: str
    membership_number: str
    joined_on: date


class MembershipRenewed(MemberEventBase):
    type: Literal["MembershipRenewed"] = "MembershipRenewed"
    until: date


class MembershipLapsed(MemberEventBase):
    type: Literal["MembershipLapsed"] = "MembershipLapsed"


class MemberResigned(MemberEventBase):
    type: Literal["MemberResigned"] = "MemberResigned"
    in_protest: bool
    reason: Personal | None = None


class MemberRejoined(MemberEventBase):
    type: Literal["MemberRejoined"] = "MemberRejoined"
    membership_number: str  # the original one when continuity is kept
    continuity_kept: bool
    continuous_since: date
    # Why continuity was or was not kept, with the window that applied: kept in the
    # event so audit never has to re-derive it from a policy that may since have changed.
    continuity_note: str = ""


MemberEvent = Annotated[
    MemberJoined | MembershipRenewed | MembershipLapsed | MemberResigned | MemberRejoined,
    Field(discriminator="type"),
]

MEMBER_EVENT_ADAPTER: TypeAdapter[MemberEvent] = TypeAdapter(MemberEvent)

MEMBER_EVENT_TYPES: dict[str, type[MemberEventBase]] = {
    cls.__name__: cls
    for cls in (MemberJoined, MembershipRenewed, MembershipLapsed, MemberResigned,
                MemberRejoined)
}


# -- state and fold ------------------------------------------------------------------


class MembershipStatus(StrEnum):
    NOT_A_MEMBER = "not_a_member"
    MEMBER = "member"
    LAPSED = "lapsed"
    RESIGNED = "resigned"


class MemberState(Model):
    member_id: str
    status: MembershipStatus = MembershipStatus.NOT_A_MEMBER
    as_of: datetime | None = None  # latest effective_at folded: records go in order
    membership_number: str | None = None
    joined_on: date | None = None  # the original join date, never moved by a rejoin
    continuous_since: date | None = None  # kept while away so a rejoin can restore it
    paid_until: date | None = None
    left_at: datetime | None = None
    left_in_protest: bool = False
    rejoined: MemberRejoined | None = None  # the latest rejoin, to recognise a repeat

    @classmethod
    def empty(cls, member_id: str) -> MemberState:
        return cls(member_id=member_id)

    @property
    def ever_joined(self) -> bool:
        return self.membership_number is not None

    @property
    def is_member(self) -> bool:
        return self.status is MembershipStatus.MEMBER

    @property
    def current_continuity(self) -> date | None:
        """Continuous membership start while a member; None while away."""
        return self.continuous_since if self.is_member else None


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
