"""Statuses a member can hold, which one shows when several hold at once, and the rights
a membership status removes."""

from __future__ import annotations

from datetime import date

from ..policy import (
    INTERIM_STATUS,
    SANCTION_STATUS,
    PolicyDocument,
    PolicyVersion,
    Right,
    SanctionKind,
)
from .member import MembershipStatus

EXPELLED = SANCTION_STATUS[SanctionKind.EXPULSION]
SUSPENDED = SANCTION_STATUS[SanctionKind.SUSPENSION]
WARNED = SANCTION_STATUS[SanctionKind.WARNING]
ALL_RIGHTS: tuple[Right, ...] = tuple(Right)

# Which status is shown when several conditions hold at once, most telling first.
# Unknown statuses (a policy may add its own) rank with "warned". A measure outranks
# "not_a_member" because a respondent's membership facts may not have been imported yet;
# rights are unaffected (they are the union of everything that removes them).
STATUS_PRECEDENCE: tuple[str, ...] = (
    EXPELLED,
    MembershipStatus.RESIGNED.value,
    MembershipStatus.LAPSED.value,
    SUSPENDED,
    INTERIM_STATUS,
    WARNED,
    MembershipStatus.NOT_A_MEMBER.value,
    MembershipStatus.MEMBER.value,
)
NON_MEMBER_STATUSES = frozenset({
    EXPELLED, MembershipStatus.NOT_A_MEMBER.value, MembershipStatus.RESIGNED.value,
    MembershipStatus.LAPSED.value,
})


def rank(status: str) -> int:
    if status in STATUS_PRECEDENCE:
        return STATUS_PRECEDENCE.index(status)
    return STATUS_PRECEDENCE.index(WARNED)  # ties with "warned"; min() keeps the first


def version_on(policy: PolicyDocument, day: date) -> PolicyVersion | None:
    return next((v for v in policy.versions if v.in_force_on(day)), None)


def base_removed(status: str, version: PolicyVersion | None) -> frozenset[Right]:
    """Rights a membership status removes: the policy's word (the version in force on
    the as-of date: membership statuses come from no case) if it names the status,
    otherwise none for a member and all for anyone who is not one."""
    if version is not None and status in version.statuses:
        return version.rights_removed(status)
    return frozenset() if status == MembershipStatus.MEMBER.value else frozenset(ALL_RIGHTS)
