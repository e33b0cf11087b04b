"""A data subject's first key is created by the append that first uses it (migration 0008):
one transaction for both, nothing when the append is refused, one live key per subject
when processes race, and retries still recognised."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, cast

import asyncpg
import orjson
import pytest
from dueprocess.store.db import Pool
from dueprocess.store.eventstore import ConcurrencyConflict, EventStore, envelope_bytes
from dueprocess.store.verify import verify_store
from fixtures.events import CountingPool, ev, pii


async def _key_rows(pool: asyncpg.Pool, subject: str) -> list[asyncpg.Record]:
    return list(await pool.fetch(
        "SELECT key_id, xmin::text::bigint AS tx FROM subject_keys WHERE subject_id = $1",
        subject))


async def test_a_new_subjects_key_is_written_in_the_appends_own_transaction(
    pool: asyncpg.Pool,
) -> None:
    counting = CountingPool(pool)
    store = EventStore(cast(asyncpg.Pool, counting))
    await store.append("k", 0, [ev(payload={"who": pii("p-1", "Ada")})])
    assert counting.fetches == 2  # the read-only lookup, then the append: no key commit
    [key] = await _key_rows(pool, "p-1")
    row = await pool.fetchrow("SELECT data, tx_id::text::bigint AS tx FROM events")
    assert row is not None
    assert orjson.loads(row["data"])["payload"]["who"]["key_id"] == key["key_id"]
    assert key["tx"] == row["tx"] % 2**32  # the same transaction wrote both
    counting.fetches = 0
    await store.append("k", 1, [ev(payload={"who": pii("p-1", "Ada again")})])
    assert counting.fetches == 1  # key and head from memory
    [first, second] = await EventStore(pool).read_stream("k")
    assert (first.payload["who"]["value"], second.payload["who"]["value"]) == (
        "Ada", "Ada again")


async def test_a_refused_append_creates_no_key(pool: asyncpg.Pool) -> None:
    await EventStore(pool).append("k", 0, [ev()])
    with pytest.raises(ConcurrencyConflict):
        await EventStore(pool).append("k", 0, [ev(payload={"who": pii("p-2", "Bob")})])
    with pytest.raises(ConcurrencyConflict):
        await EventStore(pool).append("k", 5, [ev(payload={"who": pii("p-2", "Bob")})])
    assert await _key_rows(pool, "p-2") == []


async def test_a_retry_that_looked_before_the_first_attempt_committed_is_recognised(
    pool: asyncpg.Pool,
) -> None:
    # The retry (on another worker) looked keys up while the first attempt was still in
    # flight, so it sealed under a key of its own; the first attempt then committed with
    # the key that won. The retry must still be recognised as one, not as a reused id.
    first_worker, retrying = EventStore(pool), EventStore(pool)
    batch = [ev(payload={"who": pii("p-3", "Cy")}), ev()]
    original = retrying._prepare
    calls = 0
    written: list[int] = []

    async def prepare_then_first_attempt_commits(
        stream_id: str, expected: int, subjects: set[str]
    ) -> Any:
        nonlocal calls
        calls += 1
        out = await original(stream_id, expected, subjects)
        if calls == 1:
            assert out[0].new  # sealed under a key of its own
            written.extend((await first_worker.append("r", 0, batch)).global_positions)
        return out

    retrying._prepare = prepare_then_first_attempt_commits  # type: ignore[method-assign]
    retry = await retrying.append("r", 0, batch)
    assert retry.global_positions == written and calls == 2
    assert len(await _key_rows(pool, "p-3")) == 1
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


async def test_racing_creators_of_one_subjects_first_key_leave_one_key(
    pool: asyncpg.Pool,
) -> None:
    stores = [EventStore(pool) for _ in range(6)]
    results = await asyncio.gather(*(
        s.append(f"race-{i}", 0, [ev(payload={"who": pii("p-4", f"D{i}")})])
        for i, s in enumerate(stores)
    ))
    assert [r.version for r in results] == [1] * 6
    [key] = await _key_rows(pool, "p-4")
    for i in range(6):
        [got] = await EventStore(pool).read_stream(f"race-{i}")
        assert got.payload["who"]["value"] == f"D{i}"
        assert orjson.loads(await pool.fetchval(
            "SELECT data FROM events WHERE stream_id = $1", f"race-{i}"
        ))["payload"]["who"]["key_id"] == key["key_id"]


async def test_the_application_role_appends_reads_and_erases_but_cannot_rewrite(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    app: Pool = await asyncpg.create_pool(
        db_dsn, min_size=1, max_size=2, server_settings={"role": "dueprocess_app"})
    try:
        assert await app.fetchval("SELECT current_user") == "dueprocess_app"
        store = EventStore(app)
        await store.append("a", 0, [ev(payload={"who": pii("p-5", "Eve")})])  # nextval too
        await store.append("a", 1, [ev(payload={"who": pii("p-6", "Fay")})])
        assert [e.stream_version for e in await store.read_stream("a")] == [1, 2]
        assert await store.erase_subject("p-5") == 1
        for sql in ("UPDATE events SET event_type = 'x'", "DELETE FROM subject_keys",
                    "UPDATE subject_keys SET subject_id = 'x'"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(sql)
    finally:
        await app.close()


async def test_the_eight_argument_append_of_0006_era_workers_still_appends(
    pool: asyncpg.Pool,
) -> None:
    # Workers of the previous release call the eight-argument form (keys created by their
    # own lookup); 0008 makes it forward to the current append without new keys.
    event = ev()
    doc = envelope_bytes("old", 1, event, event.payload)
    link = hashlib.sha256(doc).digest()
    call = "SELECT * FROM dueprocess_append($1, $2, $3, $4, $5, $6, $7, $8)"
    args = ["old", 0, b"", [event.event_id], [event.event_type], [doc], [link], []]
    [row] = await pool.fetch(call, *args)
    assert row["stream_version"] == 1
    assert await pool.fetch(call, *args) == []  # refused: the 0006 contract (no rows)
    assert [e.event_id for e in await EventStore(pool).read_stream("old")] == [event.event_id]
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok
