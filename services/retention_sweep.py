"""Retention timers for closed cases that have none (GDPR Art 5(1)(e)).

A case closing in its workflow starts its timer (workflows/case_retention.py), and an
imported closed case gets one from the import; a case closed before the retention-timer
patch, or imported while Temporal was unreachable, has none, and nothing else would ever
look at it again. The sweep starts one for every closed case whose pinned rulebook sets a
period, due the period after the case's closure (a period already over shreds at once).
Starting is idempotent (a timer running, or one that already ran, is kept), so the sweep
can be run again at any time. Closed cases are read from the case list (kept by the
workers), a page of ids and one case at a time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from ..domain.base import Model
from ..domain.retention import case_retention_end
from ..domain.streams import case_stream
from ..store.db import Database
from ..store.eventstore import EventStore
from ..store.projections import case_state_from

# Starts (or finds) a closed case's retention timer: (case id, retention end).
StartTimer = Callable[[str, datetime], Awaitable[None]]
PAGE = 500

_CLOSED = """
    SELECT case_id FROM case_list
     WHERE stage = 'closed' AND ($1::text IS NULL OR case_id > $1)
     ORDER BY case_id LIMIT $2"""


class SweepReport(Model):
    timed: dict[str, datetime] = {}  # closed case -> its retention end (timer started or kept)
    without_period: list[str] = []  # closed cases whose rulebook sets no retention period
    dry_run: bool = False  # nothing started: what would be


async def sweep_retention(pool: Database, store: EventStore, start: StartTimer | None,
                          *, page: int = PAGE) -> SweepReport:
    """Start the timer of each closed case with a retention period (``start`` None: a dry
    run, reporting what would be started)."""
    report = SweepReport(dry_run=start is None)
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
            return report
        after = rows[-1]["case_id"]
