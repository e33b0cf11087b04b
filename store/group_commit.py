"""Group commit: the appends a process makes at the same time, sent as one transaction.

While an append is in flight, the appends that arrive wait; when it is done they go
together through dueprocess_append_group (migration 0024): one pool checkout, one round
trip, one transaction and one commit for the group instead of one each. An append that
finds nothing in flight goes alone at once (an idle worker waits for nobody).

Each batch keeps its own outcome. A batch the database refuses (stale version, stale head
hash, erased key, a competing first append) writes nothing and gets no rows back, as
alone, while the rest of the group is stored; the caller then asks why, alone. An error
aborts the whole group (nothing of it is written): its halves are then sent again, each
as a group, and a half that fails is halved again, down to batches alone, whose callers
get their own error as before (a reused event id, a key race).

Halves, not every batch alone (issue 14): a key race is the usual error, two appends at
once creating the first key of one person (a member's join while a case naming them as
complainant or witness is appended). bench/lag.py at 50 cases/s (groups of ~40): 15 of
them in 15 s; each sent ~40 appends alone at once, more than the pool's connections, one
commit each. Instrumented (load 4-5): 1233 of the first 1718 appends went alone, at 1.6 s
(p50) each, the generator's append latency p50 0.9 s, p99 18 s. Halving costs about
2 log2(n) statements for a group of n and never more than one connection at a time.

Measured (issue 14; bench/append.py's workload: 8 writers, 10-event batches, 24,000
events; alone and grouped interleaved in one run, median of 4, machine load 4-8): CPU per
event with personal data 154 us (client 68 + server 85) alone, 106 (51 + 56) grouped;
without personal data 123 (50 + 74) -> 86 (40 + 46). A second run (load 7-10): 172 ->
142 and 130 -> 102; about 70% of the batches went in groups, 5 batches per group on
average. Two statements in flight, not one: with one, the client and the server take
turns instead of working at once (115 us per event, and fewer events per second than
alone); three: groups of 4 and more CPU per event (145-177 us). A third run (load 9-10,
median of 3): 162 (73 + 89) -> 142 (66 + 76), 121 -> 104. Events per second were not
higher on that shared machine (0.31 of the floor grouped, 0.36 alone): two server
processes at work get a smaller share of a busy machine than eight; judge by CPU.

Four in flight by default, not two (quiet machine, load 1.5-3, 2026-12-02): with two, the
scale benchmark's 16 writers (synchronous_commit off, so commits are quick) grew a log at
2,092 events/s against 3,095 with grouping off: two statements at a time left a core idle.
With four: 3,025 events/s there, and in bench/append.py (8 writers, fsync on, median of 3)
13,726 events/s at 108 us CPU per event, against 12,074 at 107 with two and 13,221 at 116
with grouping off.

Set-based groups and fewer appends alone (issue 14, 2026-12-02). A group with distinct
streams goes through dueprocess_append_set (0026): a few statements for the whole group.
8 connections at once, bench/append.py's batches computed ahead (load 2-3), server CPU per
event: 22.7 us raw INSERT, 56.9 each batch alone, 50.2 groups of 5 through 0024, 26.5
groups of 5 through 0026. So an append now goes alone only while fewer than two statements
are in flight, and the appends that wait go as a group once four of them wait (up to four
in flight, as before), not only when a statement finishes: with four alone, 58% of
bench/append.py's batches went alone (groups of 3.6); now about 20% (groups of 3.2).
bench/append.py's workload in one process, interleaved, median of 4 (load 2.3-2.9): with
0024, four alone and 0013's seq scans, 11,575 events/s (0.28 of the floor), CPU per event
125 us (55 + 69); as now 12,871 (0.31), 105 (51 + 55). Alone below four, two and one
(groups at -, four, three), median of 3, load 5-6: 0.27, 0.34, 0.37 of the floor. The
scale log (16 writers, synchronous_commit off, 15,000 events, median of 2, load 6-8):
1,191 events/s with four alone, 1,312 as now, 1,201 alone below one.

All of issue 14's changes of 2026-12-02 together (0026, this policy, the person index and
envelope steps of documents.py): ``python bench/append.py --reps 3 --json ...``, median
of 3, before 0.27 of the floor (per-rep 0.25), CPU 126 us per event (57 + 68), load
0.2-2.3; after, three runs: 0.32 (per-rep 0.32) at 99 us (50 + 50), load 2.5-3.5; 0.48
(0.48) at 94 (45 + 49), load 4-6 (the code before, just ahead: 0.23 (0.25) at 151 (70 +
80)); 0.31 (0.34) at 116 (55 + 61), load 1-3.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple
from uuid import UUID

import asyncpg

from .db import Database
from .outbox import Notices, with_append

_APPEND = "SELECT * FROM dueprocess_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
_GROUP = ("SELECT * FROM dueprocess_append_group($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
          " $12, $13, $14, $15, $16)")
# Set-based (migration 0026): a few statements per group instead of a call per batch. Its
# statements share one snapshot, so a group naming a stream twice goes through _GROUP.
_SET = _GROUP.replace("dueprocess_append_group", "dueprocess_append_set")


class Batch(NamedTuple):
    """dueprocess_append's arguments for one batch."""

    stream_id: str
    expected: int
    prev_hash: bytes
    ids: list[UUID]
    types: list[str]
    docs: list[bytes]
    hashes: list[bytes]
    key_ids: list[int]
    new_key_ids: list[int]
    new_subjects: list[str]
    new_materials: list[bytes]
    people: list[str]


# The batch and its notices in one statement (store/outbox.py).
_APPEND_AND_QUEUE = {wake: with_append(_APPEND, len(Batch._fields), wake)
                     for wake in (False, True)}


# A batch's rows, or None: its group failed and nothing of it was written; append it alone.
Outcome = list[asyncpg.Record] | None


# A statement in flight longer than this (waiting for a lock: a subject's erasure, a stream
# head another process holds) stops holding the others back: the appends that queued
# behind it go without it, so one blocked batch never stalls every append of the process.
OVERDUE_SECONDS = 0.1


class GroupCommit:
    def __init__(self, pool: Database, in_flight: int = 4, alone_below: int = 2,
                 group_at: int = 4) -> None:
        self._pool = pool
        self._limit = in_flight  # statements in flight at once (alone or a group)
        # An append goes alone only while fewer than ``alone_below`` statements are in
        # flight; the appends that wait go as one group when a statement finishes, or as
        # soon as ``group_at`` of them wait (and a place in flight is free).
        self._alone_below = min(alone_below, in_flight)
        self._group_at = group_at
        self._busy = 0  # of which this many are not overdue
        self._waiting: list[tuple[Batch, asyncio.Future[Outcome]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """Batches waiting for a statement in flight to finish."""
        return len(self._waiting)

    async def alone(self, batch: Batch, notices: Notices | None = None) -> list[asyncpg.Record]:
        """The batch in a statement of its own; ``notices`` queued by the same statement
        when it writes the batch (store/outbox.py)."""
        if notices is None:
            return await self._pool.fetch(_APPEND, *batch)
        return await self._pool.fetch(_APPEND_AND_QUEUE[notices.wake], *batch, *notices.rows)

    async def append(self, batch: Batch, notices: Notices | None = None) -> list[asyncpg.Record]:
        """dueprocess_append's rows for the batch (none: refused), alone or in a group. A
        batch with ``notices`` goes alone, its statement queueing them (a group's does
        not), counted in flight like any other: under load a commit per decision with
        letters, as their own queueing statement was before."""
        if notices is not None or (self._busy < self._alone_below and not self._waiting):
            slot = self._take()
            try:
                return await self.alone(batch, notices)
            finally:
                self._give(slot)
        waiting: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, waiting))
        if len(self._waiting) == self._group_at and self._busy < self._limit:
            self._flush()
        rows = await waiting
        # None: its group was cancelled midway; alone, a batch already stored is found again.
        return rows if rows is not None else await self.alone(batch)

    def _take(self) -> list[bool]:
        """A place in flight, given back when done or when overdue, whichever is first."""
        self._busy += 1
        slot = [True]
        asyncio.get_running_loop().call_later(OVERDUE_SECONDS, self._give, slot)
        return slot

    def _give(self, slot: list[bool]) -> None:
        if not slot[0]:
            return
        slot[0] = False
        self._busy -= 1
        if self._waiting and self._busy < self._limit:
            self._flush()

    def _flush(self) -> None:
        """The waiting batches, sent as one group."""
        group, self._waiting = self._waiting, []
        # A task of its own: the group is sent whichever of its callers is cancelled.
        task = asyncio.create_task(self._send(group, self._take()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, group: list[tuple[Batch, asyncio.Future[Outcome]]],
                    slot: list[bool]) -> None:
        outcomes: list[Outcome | Exception] = [None] * len(group)
        try:
            outcomes = await self._outcomes([batch for batch, _ in group])
        finally:
            for (_, waiting), outcome in zip(group, outcomes, strict=True):
                if waiting.done():  # its caller was cancelled
                    continue
                if isinstance(outcome, Exception):
                    waiting.set_exception(outcome)
                else:
                    waiting.set_result(outcome)
            self._give(slot)

    async def _outcomes(self, batches: list[Batch]) -> list[Outcome | Exception]:
        """Each batch's rows, or its own error (a batch alone); a group that fails wrote
        nothing and is sent again in halves."""
        if len(batches) == 1:
            try:
                return [await self.alone(batches[0])]
            except Exception as err:  # any: its caller's
                return [err]
        # Sorted by stream: groups of several processes lock stream heads in one order.
        order = sorted(range(len(batches)), key=lambda i: batches[i].stream_id)
        streams = {b.stream_id for b in batches}
        try:
            rows = await self._pool.fetch(_SET if len(streams) == len(batches) else _GROUP,
                                          *_flat([batches[i] for i in order]))
        except Exception:  # any: nothing of the group was written; find whose it is
            half = len(batches) // 2
            return [*await self._outcomes(batches[:half]),
                    *await self._outcomes(batches[half:])]
        found: list[list[asyncpg.Record]] = [[] for _ in batches]
        for row in rows:
            found[order[row["batch"] - 1]].append(row)
        return list(found)


def _flat(batches: list[Batch]) -> tuple[object, ...]:
    """dueprocess_append_group's arguments: per-batch values and counts, then flat arrays."""
    return (
        [b.stream_id for b in batches], [b.expected for b in batches],
        [b.prev_hash for b in batches], [len(b.ids) for b in batches],
        [i for b in batches for i in b.ids], [t for b in batches for t in b.types],
        [d for b in batches for d in b.docs], [h for b in batches for h in b.hashes],
        [len(b.key_ids) for b in batches], [k for b in batches for k in b.key_ids],
        [len(b.new_key_ids) for b in batches], [k for b in batches for k in b.new_key_ids],
        [s for b in batches for s in b.new_subjects],
        [m for b in batches for m in b.new_materials],
        [len(b.people) for b in batches], [p for b in batches for p in b.people],
    )
