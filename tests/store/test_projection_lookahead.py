"""A projection's batch at the head asks the store for the log's tail once: what its look
ahead found after its checkpoint is applied as it is while the checkpoint has not moved
(store/projection_runner.py, ``_batch``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import NewEvent, Position, RecordedEvent, envelope_for
from dueprocess.store.db import Connection
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner
from fixtures.case_examples import T0, example_policy, file_report


def _report(case_id: str) -> NewEvent:
    event = dc.decide(dc.CaseState.empty(case_id), file_report(policy=example_policy()), T0)[0]
    return envelope_for(event, event_id=uuid.uuid4(), recorded_at=T0)


class CountingStore(EventStore):
    """The real store, counting its reads of the log's tail."""

    tail_reads = 0

    async def read_all(self, after: Position | None = None, **kw: Any) -> list[RecordedEvent]:
        self.tail_reads += 1
        return await super().read_all(after, **kw)


class Seen:
    name = "seen"
    tables: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.streams: list[str] = []

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None:
        self.streams += [e.stream_id for e in events]


async def test_a_batch_at_the_head_reads_the_tail_once(pool: asyncpg.Pool) -> None:
    # given a projection that has applied the log so far
    store = CountingStore(pool)
    seen = Seen()
    runner = ProjectionRunner(pool, store, [seen])
    await store.append("case-c1", 0, [_report("c1")])
    assert await runner.step(seen) == 1
    # when a case is added and the projection takes its next batch
    await store.append("case-c2", 0, [_report("c2")])
    before = store.tail_reads
    applied = await runner.step(seen)
    # then the case is applied, the tail read from the store once for the batch
    assert (applied, seen.streams) == (1, ["case-c1", "case-c2"])
    assert store.tail_reads - before == 1
    # and, nothing following, the next batch applies nothing
    assert await runner.step(seen) == 0
