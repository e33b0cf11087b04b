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

from .base import Model
from .case.state import CaseState
from .membership.member import MemberState
from .policy import Retention


class RetentionResult(Model):
    """What a retention timer did: who was shredded, and why the others are kept."""

    case_id: str
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
        if member.is_member or member.left_at is None:
            return f"{person_id} is a member"
        end = member.left_at + retention.membership
        if end > now:
            return f"the membership record is kept until {end.isoformat()}"
    return None
