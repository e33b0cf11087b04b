"""The prior-sanctions activity: a case workflow reads a respondent's record through it."""

from __future__ import annotations

from temporalio import activity

from ..services.respondents import load_respondent_record
from ..store.db import Database
from ..store.eventstore import EventStore
from .contracts import LOAD_RESPONDENT_RECORD, LoadedRespondentRecord, RespondentRecordInput


class RespondentActivities:
    def __init__(self, pool: Database, store: EventStore) -> None:
        self._pool = pool
        self._store = store

    @activity.defn(name=LOAD_RESPONDENT_RECORD)
    async def load_respondent_record(
            self, request: RespondentRecordInput) -> LoadedRespondentRecord:
        """The sanctions carried out in the respondent's cases, with their currency."""
        record = await load_respondent_record(self._pool, self._store, request.respondent_id)
        return LoadedRespondentRecord(record=record)
