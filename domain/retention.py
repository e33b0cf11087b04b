"""GDPR Art 5(1)(e), storage limitation: when a person's personal data may be shredded.

Personal data is sealed under one key per person (store/crypto.py), so shredding is the
erasure of the person (services/records.py ``erase_subject``): it reaches every record
naming them. It is due only once every record naming them is past its retention period
(a case from its closure, by outcome; a membership from when it ended) and none is open:
an open case or appeal refuses it. Pure: the caller folds the records and passes ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from .base import Model, PolicyViolation
from .case.state import CaseState
from .membership.member import MemberState
from .policy import PolicyDocument, Retention


class RetentionResult(Model):
    """What a retention timer did: who was shredded, and why the others are kept. A case's
    timer names its case; an ended membership's timer names its member (v1 results, before
    membership timers, always named a case)."""

    case_id: str | None = None
    member_id: str | None = None
    shredded: list[str] = []
    kept: dict[str, str] = {}


class RecordKind(StrEnum):
    DISMISSED = "dismissed"
    NOT_UPHELD = "not_upheld"
    SANCTIONED = "sanctioned"
    MEMBERSHIP = "membership"


def case_kind(state: CaseState) -> RecordKind:
    if state.dismissal is not None:
        return RecordKind.DISMISSED
    upheld = state.decision is not None and state.decision.upheld
    return RecordKind.SANCTIONED if upheld and state.effective_sanction is not None \
        else RecordKind.NOT_UPHELD


def case_retention_end(state: CaseState) -> datetime | None:
    """When a closed case's retention period ends; None while open or when its pinned
    procedure sets none (then it is kept until erased on request)."""
    retention = state.procedure.retention if state.procedure else None
    if state.closed_at is None or retention is None:
        return None
    period: timedelta = getattr(retention, case_kind(state).value)
    return state.closed_at + period


def membership_retention(member: MemberState, policy: PolicyDocument) -> Retention | None:
    """The retention periods that apply to an ended membership: those of the rulebook
    version in force when it ended (a membership is pinned to no version); None while a
    member, or when that version sets none (then kept until erased on request)."""
    if not member.ever_joined or member.is_member or member.left_at is None:
        return None
    try:
        return policy.version_on(member.left_at.date()).retention
    except PolicyViolation:  # ended when no version was in force: no period to apply
        return None


def membership_retention_end(member: MemberState, policy: PolicyDocument) -> datetime | None:
    """When an ended membership's retention period ends (its durable timer's due time)."""
    retention = membership_retention(member, policy)
    return _membership_end(member, retention) if retention is not None else None


def _membership_end(member: MemberState, retention: Retention) -> datetime | None:
    return member.left_at + retention.membership if member.left_at is not None else None


def kept_because(person_id: str, cases: Iterable[CaseState], member: MemberState | None,
                 retention: Retention, now: datetime) -> str | None:
    """Why the person's data is kept at ``now``; None when it is due to be shredded."""
    for case in cases:
        if case.report is None:
            continue
        if not case.closed:
            return f"case {case.case_id} is open (an open case or appeal keeps the record)"
        end = case_retention_end(case)
        if end is None:
            return f"case {case.case_id} has no retention period in its rulebook"
        if end > now:
            return f"case {case.case_id} is kept until {end.isoformat()}"
    if member is not None and member.ever_joined:
        end = None if member.is_member else _membership_end(member, retention)
        if end is None:
            return f"{person_id} is a member"
        if end > now:
            return f"the membership record is kept until {end.isoformat()}"
    return None
