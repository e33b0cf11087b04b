"""Projections that keep up (issue 14): what a runner's projections read is read and decoded
once (the log's tail, each stream's history) and each event is folded once per projection;
what they serve is what the store serves, and projections followed a few events at a time,
as cases go on, end with the same tables as a rebuild from the log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.streams import member_stream
from dueprocess.store.eventstore import EventStore
from dueprocess.store.histories import StreamHistories, Tail
from dueprocess.store.projections import ProjectionRunner, default_projections, projection_status
from fixtures import case_examples as ex
from fixtures.caselog import CLOSED, OPEN, case_appends, joined, people_of, stream_of

CASES = 8
POPULATION = 5  # fewer members than cases: a member is respondent in several cases
TABLES = ("case_list", "member_standing", "case_statistics")


async def _snapshot(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    return {table: [dict(r) for r in await pool.fetch(f"SELECT * FROM {table} ORDER BY 1")]
            for table in TABLES}


def _cases() -> list[tuple[str, list[list[Any]]]]:
    return [(stream_of(f"c{n}"), case_appends(OPEN if n % 3 == 0 else CLOSED, f"c{n}",
                                              people_of(n, POPULATION)))
            for n in range(CASES)]


async def test_projections_followed_a_few_events_at_a_time_equal_a_rebuild(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given members, and a runner following the log in small batches
    for m in range(POPULATION):
        await store.append(member_stream(f"m-{m}"), 0, joined(f"m-{m}"))
    runner = ProjectionRunner(pool, store, default_projections(ex.example_policy()),
                              batch_size=3)
    # when cases go on side by side, one decision at a time, the projections following
    cases = _cases()
    versions = dict.fromkeys((s for s, _ in cases), 0)
    for step in range(max(len(a) for _, a in cases)):
        for stream_id, appends in cases:
            if step < len(appends):
                await store.append(stream_id, versions[stream_id], appends[step])
                versions[stream_id] += len(appends[step])
        for projection in runner.projections:
            await runner.step(projection)
    await runner.catch_up()
    live = await _snapshot(pool)
    # then every case and member is there, and a rebuild from the log (new runner, nothing
    # held) gives the same rows
    assert len(live["case_list"]) == CASES and len(live["member_standing"]) == POPULATION
    assert {r["stage"] for r in live["case_list"]} >= {"closed"}
    await ProjectionRunner(pool, store, default_projections(ex.example_policy())).rebuild()
    assert await _snapshot(pool) == live


async def test_what_the_histories_and_the_tail_serve_is_what_the_store_serves(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given cases appended one decision at a time
    cases = _cases()[:3]
    for stream_id, appends in cases:
        version = 0
        for events in appends:
            await store.append(stream_id, version, events)
            version += len(events)
    everything = await store.read_all(limit=10_000)
    # when the histories are asked for streams at several versions, some from a batch
    histories = StreamHistories(max_events=20)  # small: streams are evicted and read again
    for upto in (1, 5, 3, 12, 40):
        batch = [e for e in everything if e.stream_version <= upto][-4:]
        asked = {stream_id: upto for stream_id, _ in cases}
        found = await histories.read(store, asked, batch)
        # then each is the stream up to that version, as the store reads it
        for stream_id in asked:
            assert found[stream_id] == await store.read_stream(stream_id, to_version=upto)
    # and the tail, asked after positions forwards, backwards and past its capacity,
    # answers as read_all does
    tail = Tail(store, capacity=7)
    for i, limit in ((0, 5), (3, 4), (10, 20), (2, 3), (30, 50), (len(everything), 5)):
        after = everything[i - 1].position if i else Position()
        assert await tail.read(after, limit) == await store.read_all(after, limit=limit)


async def test_lag_and_throughput_are_visible(pool: asyncpg.Pool, store: EventStore) -> None:
    # given a case with nothing applied yet
    [(stream_id, appends)] = _cases()[:1]
    version = 0
    for events in appends:
        await store.append(stream_id, version, events)
        version += len(events)
    applied: dict[str, int] = {}
    runner = ProjectionRunner(
        pool, store, default_projections(ex.example_policy()),
        on_applied=lambda name, n: applied.__setitem__(name, applied.get(name, 0) + n))
    names = [p.name for p in runner.projections]
    # then status says how many events wait, and how long the oldest has (recorded 2024)
    behind = {s.name: s for s in await projection_status(pool, names)}
    assert all(s.lag == version and s.lag_seconds > 86400 for s in behind.values())
    # when they catch up, then each applied count is told (the throughput metric's source)
    await runner.catch_up()
    assert applied == dict.fromkeys(names, version)
    # and status shows them current, applying nothing over its window
    current = await projection_status(pool, names, window=0.2)
    assert [(s.lag, s.lag_seconds, s.applied_per_second) for s in current] \
        == [(0, 0.0, 0.0)] * len(names)


class CountingStore(EventStore):
    reads = 0

    async def read_ranges(self, ranges: Sequence[tuple[str, int, int]]) -> list[RecordedEvent]:
        self.reads += len(ranges)
        return await super().read_ranges(ranges)


async def test_decrypted_histories_are_held_no_longer_than_their_max_age(
    pool: asyncpg.Pool
) -> None:
    # given a stream read once through the histories, on a clock we move
    store, now = CountingStore(pool), [0.0]
    [(stream_id, appends)] = _cases()[:1]
    await store.append(stream_id, 0, appends[0])
    histories = StreamHistories(max_age=60, clock=lambda: now[0])
    await histories.read(store, {stream_id: 1})
    # when it is asked again within its max age, then it is not read again
    now[0] = 59
    await histories.read(store, {stream_id: 1})
    assert store.reads == 1
    # and past it, it is read from the store again (an erased subject's values go then)
    now[0] = 121
    await histories.read(store, {stream_id: 1})
    assert store.reads == 2
