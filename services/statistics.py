"""Reading what the transparency statistics are computed from: every case stream of the
log (``dueprocess stats``, ``export sor`` and the console's statistics page), and the
open cases overdue right now, from the case list read model."""

from __future__ import annotations

from datetime import datetime

from ..domain.envelope import RecordedEvent
from ..domain.streams import is_case_stream
from ..store.db import Connection, Database
from ..store.eventstore import EventStore


async def read_case_streams(
    store: EventStore, *, page: int = 1000
) -> dict[str, list[RecordedEvent]]:
    """Every case stream (``case-<id>``), paging through the global order."""

    streams: dict[str, list[RecordedEvent]] = {}
    after = None
    while events := await store.read_all(after, limit=page):
        for event in events:
            if is_case_stream(event.stream_id):
                streams.setdefault(event.stream_id, []).append(event)
        after = events[-1].position
    return streams


# Overdue is judged at read time, as `dueprocess cases --overdue` does: the next deadline
# has passed and no timer has yet recorded it.
OVERDUE_BY_STAGE = """
    SELECT stage, count(*) AS overdue FROM case_list
     WHERE stage <> 'closed' AND next_deadline_at < $1
     GROUP BY stage ORDER BY stage"""


async def overdue_by_stage(pool: Database | Connection, now: datetime) -> dict[str, int]:
    """Open cases whose next deadline has passed at ``now``, by stage."""
    rows = await pool.fetch(OVERDUE_BY_STAGE, now)
    return {row["stage"]: int(row["overdue"]) for row in rows}
