"""Membership facts: the commands the back office sends, the events of the member stream
(``member-{member_id}``) and the state they fold into.

Pure: no I/O, clock or randomness.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from ..base import CommandBase, EventBase, Model, Personal
from ..ids import PersonId
from ..text import IdText, OptionalText

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
    member_id: PersonId
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
