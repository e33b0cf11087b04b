"""Notices queued in the outbox (ids, role and channel; never personal data): alone, or in
the very statement that appends the events they are for.

With the append (issue 14): a decision's notices were queued by a statement and a commit
of their own once its events were committed (1.0 ms at p50 for 125 of 200 decisions in
bench/decisions.py's stack, on the decision's path). Now the batch's append statement
queues them too (a data-modifying CTE: the rows are written only when the append wrote
the batch, in its transaction), so events and their notices commit together or not at all,
with one commit. A batch found already stored (a retry) gets its rows by ``queue``, as
before (idempotent by notification id).
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple
from uuid import UUID

from .db import Database

# NOTIFYed by every queueing a relay process is to post (its payload: the channel).
WAKE = "dueprocess_outbox"


class Notices(NamedTuple):
    """Outbox rows for one batch's notices; due ``delay`` after queueing; ``wake``: NOTIFY
    the relay processes at commit."""

    ids: list[str]
    case_ids: list[str]
    caused_by: list[UUID]
    roles: list[str]
    channel: str
    delay: timedelta
    wake: bool

    @property
    def rows(self) -> tuple[object, ...]:
        return self.ids, self.case_ids, self.caused_by, self.roles, self.channel, self.delay


def _rows(first: int, where: str = "") -> str:
    """The INSERT of the rows, its parameters numbered from ``first`` (``Notices.rows``)."""
    ids, cases, causes, roles, channel, delay = (f"${first + i}" for i in range(6))
    return f"""
    INSERT INTO outbox (notification_id, case_id, caused_by, recipient_role, channel,
                        next_attempt_at)
    SELECT n.id, n.case_id, n.caused_by, n.role, {channel}, now() + {delay}::interval
      FROM unnest({ids}::text[], {cases}::text[], {causes}::uuid[], {roles}::text[])
           AS n(id, case_id, caused_by, role)
      {where}
    ON CONFLICT (notification_id) DO NOTHING"""


def _notify(channel: int) -> str:
    """Wakes the relay processes at commit, naming the channel (parameter ``channel``)."""
    return f"SELECT pg_notify('{WAKE}', ${channel})"


_QUEUE = {False: _rows(1), True: f"WITH queued AS ({_rows(1)}) {_notify(5)}"}


def with_append(append: str, arguments: int, wake: bool) -> str:
    """``append`` (a statement returning the batch's rows, none when refused) queueing the
    rows too, only when it returned rows; its own ``arguments`` come first."""
    rows = _rows(arguments + 1, "WHERE EXISTS (SELECT 1 FROM appended)")
    if not wake:
        return f"WITH appended AS ({append}), queued AS ({rows}) SELECT * FROM appended"
    # Joined so that it is evaluated, once; only when the append wrote the batch.
    return (f"WITH appended AS ({append}), queued AS ({rows}), "
            f"woke AS ({_notify(arguments + 5)} WHERE EXISTS (SELECT 1 FROM appended)) "
            "SELECT a.* FROM appended a LEFT JOIN woke ON true")


async def queue(db: Database, notices: Notices) -> None:
    """The rows alone (those queued before are left as they are)."""
    await db.execute(_QUEUE[notices.wake], *notices.rows)
