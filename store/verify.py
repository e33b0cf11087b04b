"""Tamper evidence: each stream's hash chain, and the whole log against signed heads.

The chain check: each event's hash is SHA-256(previous hash || stored bytes). Per stream we
name each event that was altered (bytes or copied columns no longer match), removed (a
version is missing, or the head says the stream is longer) or reordered (its bytes say it
belongs at another version, or global order disagrees with version order). An event's
hash is judged against its predecessor by content (the row whose bytes say version v-1),
so a moved or swapped row never condemns an untouched neighbour. Only the append function
moves a stream's head, so an event beyond the head is flagged even when it chains.

A database writer can re-chain a stream, move its head back or drop a stream and every
chain still holds: the check against signed heads (``witness``) catches those. See
``store.checkpoints`` and ``store.witness``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import TYPE_CHECKING

import asyncpg

from .chain import Problem, ProblemKind, StreamCheck, VerifyReport, out_of_order
from .collector import paused
from .db import Connection
from .intact import Heads, damaged

if TYPE_CHECKING:
    from .witness import Witness

# Re-exported: the report and problems were defined here before chain.py.
__all__ = ["PAGE_SIZE", "Problem", "ProblemKind", "VerifyReport", "chain_pages", "check_pages",
           "out_of_order", "verify_store", "verify_streams"]

# event_id as text: compared with the stored bytes' text form, never turned into a UUID.
# tx as an int8 the server computes: xid8 is unsigned 64-bit, so shifted by 2^63 into
# int8's range (order kept, any stored value reads without error); 0.1-0.25 µs less client
# CPU per row than its text form and int() (A/B over 100,209 rows, backend the same).
_CHAIN_COLUMNS = """stream_id, stream_version,
                    (tx_id::text::numeric - 9223372036854775808)::int8 AS tx, global_position,
                    event_id::text AS event_id, event_type, data, hash"""
# Keyset pages in stream order on the unique (stream_id, stream_version) index: a stream's
# chain is judged in its own order, and memory is one page plus one stream, whatever the
# log's size ($4: only these streams, or NULL for all).
_CHAIN_PAGE = f"""SELECT {_CHAIN_COLUMNS} FROM events
                   WHERE (stream_id, stream_version) > ($1, $2)
                     AND ($4::text[] IS NULL OR stream_id = ANY($4::text[]))
                   ORDER BY stream_id, stream_version LIMIT $3"""
_HEADS = "SELECT stream_id, version, head_hash FROM streams WHERE stream_id = ANY($1::text[])"
# Heads of streams that have no event at all (every event removed).
_EMPTY_HEADS = """SELECT s.stream_id, s.version FROM streams s
                   WHERE ($1::text[] IS NULL OR s.stream_id = ANY($1::text[]))
                     AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = s.stream_id)
                   ORDER BY s.stream_id"""
PAGE_SIZE = 5000
# Rows judged (rounded up to whole streams) between two turns of the event loop, in which
# the next page (sent for ahead, see _prefetched) is read: the server's socket buffer holds
# ~200 rows, so it only runs ahead while we read. Paired runs over 100,209 events: time
# blocked on the socket 2.3-2.5 µs/event judging 1,000 rows or whole pages between turns,
# 1.5 at 256; the client's CPU the same within the noise.
_CHUNK = 256


async def chain_pages(
    conn: Connection, page: int = PAGE_SIZE, streams: list[str] | None = None
) -> AsyncGenerator[list[asyncpg.Record], None]:
    """Every event (or those of ``streams``) in stream order, ``page`` rows at a time."""
    after: tuple[str, int] = ("", 0)
    while rows := await conn.fetch(_CHAIN_PAGE, *after, page, streams):
        yield list(rows)
        after = (rows[-1]["stream_id"], rows[-1]["stream_version"])


async def _heads_of(conn: Connection, rows: Sequence[asyncpg.Record], known: str | None) -> Heads:
    new = sorted({r["stream_id"] for r in rows} - {known})
    return {r["stream_id"]: (r["version"], bytes(r["head_hash"]))
            for r in await conn.fetch(_HEADS, new)}


async def _prefetched(
    conn: Connection, page: int, streams: list[str] | None
) -> AsyncGenerator[tuple[list[asyncpg.Record], Heads], None]:
    """``chain_pages`` with each page's heads, the next page (and its heads) fetched while
    the consumer judges this one: the database reads while this process hashes."""

    async def fetch(after: tuple[str, int]) -> tuple[list[asyncpg.Record], Heads]:
        rows = list(await conn.fetch(_CHAIN_PAGE, *after, page, streams))
        return rows, (await _heads_of(conn, rows, after[0]) if rows else {})

    task = asyncio.ensure_future(fetch(("", 0)))
    try:
        while True:
            rows, heads = await task
            if not rows:
                return
            task = asyncio.ensure_future(fetch((rows[-1]["stream_id"],
                                                rows[-1]["stream_version"])))
            await asyncio.sleep(0)  # the next page's query is sent before this one is judged
            yield rows, heads
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _with_heads(
    conn: Connection, pages: AsyncIterator[Sequence[asyncpg.Record]]
) -> AsyncGenerator[tuple[Sequence[asyncpg.Record], Heads], None]:
    known: str | None = None
    async for rows in pages:
        if rows:
            yield rows, await _heads_of(conn, rows, known)
            known = rows[-1]["stream_id"]


def _judge(rows: Sequence[asyncpg.Record], heads: Heads, report: VerifyReport) -> None:
    """Whole streams: the fast check; ``StreamCheck`` (which names the damage) for each
    stream that fails it."""
    streams, slices = damaged(rows, heads)
    for begin, end in slices:
        check = StreamCheck(rows[begin][0], report, heads.get(rows[begin][0]))
        for row in rows[begin:end]:
            check.add(row)
        check.finish()
    report.streams += streams
    report.events += len(rows)


def _next_stream(rows: Sequence[asyncpg.Record], i: int) -> int:
    """The first row at or after ``i`` that begins a stream (or ``len(rows)``)."""
    while 0 < i < len(rows) and rows[i][0] == rows[i - 1][0]:
        i += 1
    return i


async def _judge_pages(
    report: VerifyReport, pages: AsyncIterator[tuple[Sequence[asyncpg.Record], Heads]]
) -> None:
    """Judge whole streams, about ``_CHUNK`` rows at a time; the last stream of a page is
    held over to the next, where it may go on (memory: one page and one stream)."""
    held: list[asyncpg.Record] = []
    held_heads: Heads = {}
    async for page, page_heads in pages:
        if not page:
            continue
        rows, heads = [*held, *page], {**held_heads, **page_heads}
        last = len(rows) - 1
        while last and rows[last - 1][0] == rows[-1][0]:
            last -= 1
        begin = 0
        while begin < last:
            end = min(_next_stream(rows, begin + _CHUNK), last)
            _judge(rows[begin:end], heads, report)
            begin = end
            await asyncio.sleep(0)  # the next page is read meanwhile (see _CHUNK)
        held = rows[last:]
        held_heads = {held[0][0]: heads[held[0][0]]} if held[0][0] in heads else {}
    _judge(held, held_heads, report)


async def check_pages(
    conn: Connection, report: VerifyReport, pages: AsyncIterator[Sequence[asyncpg.Record]]
) -> None:
    """Judge each stream's chain from pages of rows in stream order (as ``chain_pages``
    yields them); only the stream being read and the heads of the page's streams are
    held."""
    await _judge_pages(report, _with_heads(conn, pages))


async def _check_chains(
    conn: Connection, report: VerifyReport, streams: list[str] | None = None,
    page: int = PAGE_SIZE,
) -> None:
    async with contextlib.aclosing(_prefetched(conn, page, streams)) as pages:
        await _judge_pages(report, pages)
    for row in await conn.fetch(_EMPTY_HEADS, streams):
        report.problems.append(Problem(
            stream_id=row["stream_id"], stream_version=row["version"], kind="removed",
            event_id=None, detail="every event of this stream is missing",
        ))
        report.streams += 1


async def verify_store(
    conn: Connection, witness: Witness | None = None, *, page: int = PAGE_SIZE
) -> VerifyReport:
    """Re-check every stream's chain and, given a witness, the whole log
    against the signed heads; one snapshot for all, so concurrent appends are not damage."""
    report = VerifyReport()
    # The collector held off while the whole log is read (store/collector.paused): every
    # asyncpg Record is tracked, and a page and the one read ahead keep ~10,000 alive, so
    # its generational passes walked them again and again: 0.6-1.2 us of the client's
    # ~10 us per event (100,209 events, timed with ``gc.callbacks``), for nothing: what
    # verify allocates (Records, bytes, str, tuples, orjson's dicts) forms no cycle. The
    # CLI's verify is the process's only task; elsewhere, cycles other tasks make
    # meanwhile wait for it.
    with paused():
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await _check_chains(conn, report, page=page)
            if witness is not None:
                await witness.check(conn, report)
    return report


async def verify_streams(conn: Connection, stream_ids: list[str]) -> VerifyReport:
    """Re-check the chains of the named streams only (what an erasure touched), in one
    snapshot. A stream with neither head nor events is not reported."""
    report = VerifyReport()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await _check_chains(conn, report, sorted(set(stream_ids)))
    return report
