"""Retention timers for closed cases that have none (GDPR Art 5(1)(e)).

A case closing in its workflow starts its timer (workflows/case_retention.py), and an
imported closed case gets one from the import; a case closed before the retention-timer
patch, or imported while Temporal was unreachable, has none, and nothing else would ever
look at it again. The sweep starts one for every closed case whose pinned rulebook sets a
period, due the period after the case's closure (a period already over shreds at once).
Starting is idempotent (a timer running, or one that already ran, is kept), so the sweep
can be run again at any time. Closed cases are read from the case list (kept by the
workers), a page of ids and one case at a time.

Ended memberships likewise: an end recorded where no Temporal client was at hand (the
``dueprocess member`` command, an import, Temporal unreachable) has no timer; the sweep
starts one per member whose membership has ended, due the period of the published
rulebook version in force when it ended (one per end, so one already started is kept).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from ..domain.base import Model
from ..domain.membership.member import MemberResigned, MembershipLapsed
from ..domain.policy import PolicyDocument
from ..domain.retention import case_retention_end, membership_retention_end
from ..domain.streams import MEMBER_PREFIX, case_stream, member_id_of
from ..store.db import Database
from ..store.eventstore import EventStore
from ..store.projections import case_state_from
from .members import MemberService, StartMemberTimer

# Starts (or finds) a closed case's retention timer: (case id, retention end).
StartTimer = Callable[[str, datetime], Awaitable[None]]
PAGE = 500

_CLOSED = """
    SELECT case_id FROM case_list
     WHERE stage = 'closed' AND ($1::text IS NULL OR case_id > $1)
     ORDER BY case_id LIMIT $2"""


# Member streams that hold an end (the primary key's order, from the member prefix on).
_ENDED = f"""
    SELECT DISTINCT stream_id FROM events
     WHERE stream_id LIKE '{MEMBER_PREFIX}%' AND stream_id > $1
       AND event_type IN ('{MembershipLapsed.__name__}', '{MemberResigned.__name__}')
     ORDER BY stream_id LIMIT $2"""


class SweepReport(Model):
    timed: dict[str, datetime] = {}  # closed case -> its retention end (timer started or kept)
    without_period: list[str] = []  # closed cases whose rulebook sets no retention period
    # ended membership -> its retention end (timer started or kept); members who rejoined,
    # or whose rulebook sets no period, are not listed
    members_timed: dict[str, datetime] = {}
    dry_run: bool = False  # nothing started: what would be


async def sweep_retention(pool: Database, store: EventStore, start: StartTimer | None,
                          *, page: int = PAGE, policy: PolicyDocument | None = None,
                          start_member: StartMemberTimer | None = None) -> SweepReport:
    """Start the timer of each closed case with a retention period (``start`` None: a dry
    run, reporting what would be started), and, given the published rulebook (``policy``),
    of each ended membership (``start_member``)."""
    report = SweepReport(dry_run=start is None)
    await _cases(pool, store, start, page, report)
    if policy is not None:
        await _members(pool, store, policy, None if start is None else start_member, page,
                       report)
    return report


async def _members(pool: Database, store: EventStore, policy: PolicyDocument,
                   start: StartMemberTimer | None, page: int, report: SweepReport) -> None:
    members = MemberService(store)
    after = ""
    while True:
        rows = await pool.fetch(_ENDED, after, page)
        for row in rows:
            member_id = member_id_of(row["stream_id"]) or row["stream_id"]
            state, _ = await members.load(member_id)
            end = membership_retention_end(state, policy)
            if end is None or state.left_at is None:  # rejoined, or no period
                continue
            if start is not None:
                await start(member_id, state.left_at, end)
            report.members_timed[member_id] = end
        if len(rows) < page:
            return
        after = rows[-1]["stream_id"]


async def _cases(pool: Database, store: EventStore, start: StartTimer | None, page: int,
                 report: SweepReport) -> None:
    after: str | None = None
    while True:
        rows = await pool.fetch(_CLOSED, after, page)
        for row in rows:
            case_id: str = row["case_id"]
            state = case_state_from(await store.read_stream(case_stream(case_id)), case_id)
            end = case_retention_end(state)
            if end is None:
                report.without_period.append(case_id)
                continue
            if start is not None:
                await start(case_id, end)
            report.timed[case_id] = end
        if len(rows) < page:
            return
        after = rows[-1]["case_id"]
