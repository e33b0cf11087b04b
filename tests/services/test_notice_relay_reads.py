"""The notice relay composes a decision's letters from the decision's new events (issue 14):
a case it composed lately is read on from where it was, not from its first event again,
and what it composes is what a relay that holds nothing composes."""

from __future__ import annotations

from typing import Any

import asyncpg
from dueprocess.activities.contracts import DispatchInput
from dueprocess.domain.envelope import RecordedEvent
from dueprocess.services.notice_relay import NoticeRelay
from dueprocess.store.eventstore import EventStore
from fixtures.caselog import CLOSED, case_appends, people_of, stream_of


class CountingStore(EventStore):
    """The store, counting the events each stream read returns."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.read: list[int] = []

    async def read_stream(self, stream_id: str, *, from_version: int = 1,
                          to_version: int | None = None) -> list[RecordedEvent]:
        events = await super().read_stream(stream_id, from_version=from_version,
                                           to_version=to_version)
        self.read.append(len(events))
        return events


async def _never(_: DispatchInput) -> Any:
    raise AssertionError("nothing is posted here")


async def test_a_relay_reads_a_case_on_from_what_it_composed_lately(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # Given a relay, and a case decided one command at a time (to its closure)
    counting = CountingStore(pool)
    relay = NoticeRelay(pool, counting, _never, "file")
    case_id, version, letters = "c-relay-reads", 0, 0
    for events in case_appends(CLOSED, case_id, people_of(1, 5)):
        await store.append(stream_of(case_id), version, events)
        version += len(events)
        # When it composes each decision's notices as the case goes on
        for event in events:
            composed = await relay.composed(case_id, event.event_id)
            # Then they are what a relay holding nothing composes from the whole case
            fresh = await NoticeRelay(pool, store, _never, "file").composed(
                case_id, event.event_id)
            assert composed == fresh and composed is not None
            letters += len(composed.notifications)
    # And it read each of the case's events once, however many times it composed
    assert sum(counting.read) == version and len(counting.read) > version // 2
    assert letters > 0
