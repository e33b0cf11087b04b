"""The retention activity: the retention workflow shreds personal data through it."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import activity

from ..domain.retention import RetentionResult
from ..services.record_types import ForgettingSink
from ..services.retention import shred_expired, shred_member_expired
from ..services.rulebook import RulebookService
from ..store.db import Database
from ..store.eventstore import EventStore
from .contracts import SHRED_FOR_RETENTION, RetentionInput, RulebookSource


class RetentionActivities:
    def __init__(self, store: EventStore, pool: Database,
                 sinks: Sequence[ForgettingSink] = (),
                 rulebook: RulebookSource | None = None) -> None:
        """``rulebook``: where an ended membership's period is read (a membership is pinned
        to no version; default: the published rulebook)."""
        self._store = store
        self._pool = pool
        self._sinks = sinks
        self._rulebook = rulebook or RulebookService(store).current

    @activity.defn(name=SHRED_FOR_RETENTION)
    async def shred_for_retention(self, request: RetentionInput) -> RetentionResult:
        """Erase each person of the case (or the member) whose every record is past
        retention; judged at the timer's due time (retries judge the same)."""
        if request.member_id is not None:
            return await shred_member_expired(self._store, self._pool, request.member_id,
                                              request.due_at, await self._rulebook(),
                                              self._sinks)
        assert request.case_id is not None  # RetentionInput names exactly one
        return await shred_expired(self._store, self._pool, request.case_id, request.due_at,
                                   self._sinks)
