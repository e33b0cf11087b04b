"""A reporter's record (DSA Art 23), read from the cases they reported.

The count of manifestly unfounded dismissals lives nowhere but in the case streams: each
dismissal and each warning is an event of its own case. This reads the reporter's cases
through the person index (migration 0013, written by the append in the same statement
as the events, so it never lags the log) and folds them; the workflow hands the result
to decide() and the event decided keeps the facts it relied on.
"""

from __future__ import annotations

from ..domain.case.reporter import reporter_record
from ..domain.case.reporter_values import ReporterRecord
from ..store.db import Connection, Database
from ..store.eventstore import EventStore
from .case_states import case_states
from .members import party_case_streams, party_streams

REPORTED_STREAMS = party_case_streams("complainant")


async def reported_streams(pool: Database | Connection, reporter_id: str) -> list[str]:
    """Case streams in which ``reporter_id`` is the complainant."""
    return await party_streams(pool, REPORTED_STREAMS, reporter_id)


async def load_reporter_record(pool: Database, store: EventStore,
                               reporter_id: str) -> ReporterRecord:
    states = await case_states(store, await reported_streams(pool, reporter_id))
    return reporter_record(reporter_id, states)
