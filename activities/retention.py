"""The retention activity: the retention workflow shreds personal data through it."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import activity

from ..domain.retention import RetentionResult
from ..services.record_types import ForgettingSink
from ..services.retention import shred_expired
from ..store.db import Database
from ..store.eventstore import EventStore
from .contracts import SHRED_FOR_RETENTION, RetentionInput


class RetentionActivities:
    def __init__(self, store: EventStore, pool: Database,
                 sinks: Sequence[ForgettingSink] = ()) -> None:
        self._store = store
        self._pool = pool
        self._sinks = sinks

    @activity.defn(name=SHRED_FOR_RETENTION)
    async def shred_for_retention(self, request: RetentionInput) -> RetentionResult:
        """Erase each person of the case whose every record is past retention; judged at
        the timer's due time (retries judge the same)."""
        return await shred_expired(self._store, self._pool, request.case_id, request.due_at,
                                   self._sinks)
