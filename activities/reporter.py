"""The repeat-reporter activity: a case workflow reads a reporter's record through it."""

from __future__ import annotations

from temporalio import activity

from ..services.reporters import load_reporter_record
from ..store.db import Database
from ..store.eventstore import EventStore
from .contracts import LOAD_REPORTER_RECORD, LoadedReporterRecord, ReporterRecordInput


class ReporterActivities:
    def __init__(self, pool: Database, store: EventStore) -> None:
        self._pool = pool
        self._store = store

    @activity.defn(name=LOAD_REPORTER_RECORD)
    async def load_reporter_record(self, request: ReporterRecordInput) -> LoadedReporterRecord:
        """The reporter's dismissals and warnings, from the cases they reported."""
        record = await load_reporter_record(self._pool, self._store, request.reporter_id)
        return LoadedReporterRecord(record=record)
