"""Whole-log reads in pages with bounded memory: each reader hands over pages of at most N
events (or N streams) and its consumer takes an async iterator, so what is held is one
page whatever the log's size (shown structurally; speed is bench/'s business)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

import asyncpg
import pytest
from dueprocess.store.eventstore import EventStore
from dueprocess.store.intact import damaged
from dueprocess.store.verify import VerifyReport, chain_pages, check_pages, verify_store
from fixtures.events import ev, pii

STREAMS = ("case-a", "member-b", "case-c", "case-d")


@pytest.fixture
async def log(store: EventStore) -> EventStore:
    """Given four streams of five events each, appended round by round, with personal data."""
    for version in range(1, 6):
        for stream in STREAMS:
            await store.append(stream, version - 1, [
                ev(payload={"n": version, "who": pii(f"p-{stream}", f"name {version}")})])
    return store


async def test_the_chain_reader_yields_pages_of_at_most_n_in_stream_order(
    log: EventStore, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        pages = [page async for page in chain_pages(conn, page=3)]
    assert all(1 <= len(page) <= 3 for page in pages) and len(pages) == 7
    keys = [(r["stream_id"], r["stream_version"]) for page in pages for r in page]
    assert keys == sorted(keys) and len(keys) == 20


async def test_the_verifier_consumes_any_async_iterator_of_pages(
    log: EventStore, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rows = [r async for page in chain_pages(conn) for r in page]

        async def one_row_at_a_time() -> AsyncIterator[Sequence[asyncpg.Record]]:
            for row in rows:
                yield [row]

        report = VerifyReport()
        await check_pages(conn, report, one_row_at_a_time())
        assert report.ok and (report.streams, report.events) == (4, 20)
        assert await verify_store(conn, page=1) == await verify_store(conn)


async def test_the_fast_check_passes_every_stream_of_an_intact_log_as_verify_reads_it(
    log: EventStore, pool: asyncpg.Pool
) -> None:
    """The rows and heads as verify reads them (tx as an int8 below zero, the append's
    bytes): no stream is left for the full judgement."""
    async with pool.acquire() as conn:
        rows = [r async for page in chain_pages(conn) for r in page]
        heads = {r["stream_id"]: (r["version"], bytes(r["head_hash"]))
                 for r in await conn.fetch("SELECT stream_id, version, head_hash FROM streams")}
    assert rows[0]["tx"] < 0
    assert damaged(rows, heads) == (4, [])


async def test_verify_pauses_the_collector_and_leaves_it_as_it_was(
    log: EventStore, pool: asyncpg.Pool
) -> None:
    """Given the collector on, then off: verify (which reads with it off) leaves it as found."""
    async with pool.acquire() as conn:
        assert gc.isenabled()
        assert (await verify_store(conn)).ok and gc.isenabled()
        gc.disable()
        try:
            assert (await verify_store(conn)).ok and not gc.isenabled()
        finally:
            gc.enable()


async def test_a_scan_of_the_log_yields_decoded_pages_of_at_most_n_in_global_order(
    log: EventStore,
) -> None:
    async with aclosing(log.scan(page=6)) as pages:
        seen = [page async for page in pages]
    assert [len(page) for page in seen] == [6, 6, 6, 2]
    events = [e for page in seen for e in page]
    order = [(e.position.tx_id, e.position.global_position) for e in events]
    assert order == sorted(order) and len(set(order)) == 20
    assert events[0].payload["who"]["value"] == "name 1"  # decrypted


async def test_a_scan_stopped_early_ends_its_snapshot(log: EventStore, pool: asyncpg.Pool) -> None:
    async with aclosing(log.scan(page=2)) as pages:
        async for _ in pages:
            break
    assert await pool.fetchval("SELECT count(*) FROM events") == 20  # the pool still lends


async def test_stream_batches_yield_at_most_n_whole_streams_that_are_kept(
    log: EventStore,
) -> None:
    async with aclosing(log.stream_batches(lambda s: s.startswith("case-"), streams=2)) as it:
        batches = [batch async for batch in it]
    assert all(len(batch) <= 2 for batch in batches)
    streams = {s: events for batch in batches for s, events in batch.items()}
    assert sorted(streams) == ["case-a", "case-c", "case-d"]
    assert all([e.stream_version for e in events] == [1, 2, 3, 4, 5]
               for events in streams.values())
