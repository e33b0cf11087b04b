"""A decision's notices, posted beside it instead of in its path (issue 14).

The local append that records a decision queues its notices in the outbox by the same
statement, in the same transaction (``notices``: ids, role and channel; no personal data,
as ever; store/outbox.py), and the decision answers once they are committed (``taken``).
The relay then posts them from memory, one case's in the order queued, with the dispatch
steps the activity uses (sent rows skipped, letter, one commit recording it and marking
the row sent).

At least once, as before: should the post fail, or the worker stop before it (a crash, a
deploy), the row stays unsent and its ``next_attempt_at`` comes due; the relay's sweep (any
worker's) then composes the notices again from the recorded event, folded as the workflow
folded it (``notifications_for`` on the same state: the same ids, so what was sent is not
sent again), and posts them. A row still unsent after ``give_up`` is left unsent, for
operators, as a dispatch activity that gave up leaves it. Should the append's activity
fail after its commit, its retry finds the batch and its rows stored and posts again.

Why not in the decision's path (measured with bench/decisions.py's stack, idle decisions,
2 cores at load 0.5, 2026-12-02): the post took 6.1 ms at p50 (sent read 0.45, letter 1.0,
recording commit 3.1, composing the message the rest) in 125 of 200 decisions, against
a 1.8 ms append; the Update answers only once its local activity has returned (the SDK
holds the workflow task's completion for it). Queueing by a statement and a commit of its
own after the append's cost 1.0 ms at p50 in 125 of 200 decisions; by the append's own
statement, three alternated runs each (load ~1; both with a relay cache since dropped):
idle p50 2.00-2.04x -> 1.96-1.97x a no-op Update; three runs of the final code: 1.89x,
1.98x, 1.92x.

In a relay process of its own (``beside=False`` in the worker, DUEPROCESS_NOTICE_RELAY=
separate; ``dueprocess relay`` posts): the worker only queues, rows due at once, and the
queueing statement NOTIFYs the relays, which post them composed from the record as the
sweep does (one read of a case for all its due events), whatever the sink. Why
deployments do so: no letter is composed, written or recorded in a worker's interpreter;
with SMTP a decision's notices no longer cost the case a dispatch activity and the
workflow task its completion makes; relays scale apart from workers. Its effect on a
decision's latency on one 2-core machine running everything is in the README's decision
benchmark: none clear when idle; worse when the cores are saturated, since the relay
composes from the record and competes for them. The worker's own sweep takes only rows
queued at least ``grace`` ago: a relay process down or never deployed (or a switch back
to the worker's mode) delays notices, it never loses them. NOTIFY costs each queueing
commit PostgreSQL's one notify lock (commits that notify are serialised), and does not
pass a transaction-mode pgbouncer: a relay behind one sweeps every ``--every`` seconds.

A letter is composed from its case read whole and folded, each time: the relay holds no
decrypted case between letters (an erasure between two letters must show in the second;
the projections' one-minute cache is for read models that only write ids). A relay process
claims again at once only when a pass took all it may: rows queued during a pass wake the
next one (NOTIFY); a worker's sweep takes rows left for ``grace`` anyway.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from ..activities.contracts import DispatchInput, dispatch_input
from ..domain import case as dc
from ..domain.streams import case_stream
from ..store.db import Database
from ..store.eventstore import EventStore
from ..store.outbox import WAKE, Notices
from .listener import Connect, Listener

log = logging.getLogger(__name__)

Dispatch = Callable[[DispatchInput], Awaitable[Any]]

# Rows claimed by one pass of a sweep, at most.
_PASS = 100

# Due rows, claimed: the next attempt moves on (doubling, at most an hour), so another
# worker's sweep skips them; rows past give_up are released (NULL) and reported.
_CLAIM = """
    UPDATE outbox o
       SET next_attempt_at = CASE WHEN o.created_at < now() - $3::interval THEN NULL
                             ELSE now() + least($2::interval * power(2, least(o.attempts, 10)),
                                                interval '1 hour') END,
           attempts = o.attempts + 1
     WHERE o.notification_id IN (
           SELECT notification_id FROM outbox
            WHERE sent_at IS NULL AND next_attempt_at <= now() AND channel = $1
              AND created_at <= now() - $5::interval
            ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
    RETURNING o.case_id, o.caused_by, o.notification_id, o.next_attempt_at IS NULL AS gave_up"""


class NoticeRelay:
    def __init__(self, pool: Database, store: EventStore, dispatch: Dispatch, channel: str, *,
                 grace: timedelta = timedelta(seconds=60),
                 backoff: timedelta = timedelta(seconds=30),
                 give_up: timedelta = timedelta(hours=6), beside: bool = True) -> None:
        """``dispatch``: posts and records one event's notices (NotificationActivities.
        dispatch); ``beside``: post what is queued from memory (else a relay process posts
        it: see the module); ``grace``: how long a queued row waits for the post from
        memory, or for a relay process, before this relay's sweep may take it;
        ``backoff``: the wait after a sweep's first attempt, doubled each time (at least a
        second, so a failing post never spins); ``give_up``: as the dispatch activity's
        (DISPATCH_GIVE_UP)."""
        self._pool, self._store, self._dispatch = pool, store, dispatch
        self._channel, self._grace, self._give_up = channel, grace, give_up
        self._backoff = max(backoff, timedelta(seconds=1))
        self.beside = beside
        self._swept_at: float | None = None  # monotonic time of run's last complete pass
        self._health_window = 30.0
        self._tails: dict[str, asyncio.Task[None]] = {}  # each case's last post
        self._running: set[asyncio.Task[None]] = set()

    @property
    def channel(self) -> str:
        return self._channel

    def notices(self, requests: list[DispatchInput]) -> Notices | None:
        """The outbox rows of the requests' notices (ids, role and channel), as the append
        that records their events queues them (store/outbox.py): due after ``grace`` when
        posted beside from memory, at once (and waking the relay processes) otherwise."""
        notes = [(n, r) for r in requests for n in r.notifications]
        if not notes:
            return None
        return Notices([n.notification_id for n, _ in notes], [r.case_id for _, r in notes],
                       [r.caused_by for _, r in notes], [n.recipient_role for n, _ in notes],
                       self._channel, self._grace if self.beside else timedelta(0),
                       wake=not self.beside)

    def taken(self, requests: list[DispatchInput]) -> list[UUID]:
        """Once their rows (``notices``) are committed: the notices posted beside (when this
        relay posts from memory); the events they are for."""
        if self.beside:
            for request in requests:
                self._post_soon(request)
        return [r.caused_by for r in requests]

    def _post_soon(self, request: DispatchInput) -> asyncio.Task[None]:
        previous = self._tails.get(request.case_id)
        # A context of its own: not the append activity's, which has returned by then.
        task = asyncio.get_running_loop().create_task(
            self._post(request, previous), context=contextvars.Context())
        self._tails[request.case_id] = task
        self._running.add(task)
        task.add_done_callback(lambda t: self._done(request.case_id, t))
        return task

    def _done(self, case_id: str, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._tails.get(case_id) is task:
            del self._tails[case_id]

    async def _post(self, request: DispatchInput, after: asyncio.Task[None] | None) -> None:
        if after is not None:
            await asyncio.wait([after])  # the case's letters in the order decided
        try:
            await self._dispatch(request)
        except Exception as err:  # the row stays unsent; the sweep takes it once due
            log.warning("notices of %s not posted yet (%s); the relay's sweep retries them",
                        request.caused_by, err)

    async def idle(self) -> None:
        """Wait for the posts under way (a worker stopping, a demo ending)."""
        while self._running:
            await asyncio.wait(list(self._running))

    async def sweep(self, limit: int = _PASS, queued_before: timedelta = timedelta(0)) -> int:
        """One pass: the due rows (queued at least ``queued_before`` ago) composed again
        from their events and posted, each case's in the order its events were recorded.
        Returns how many events' notices were taken."""
        return (await self._sweep(limit, queued_before))[0]

    async def _sweep(self, limit: int, queued_before: timedelta) -> tuple[int, bool]:
        """``sweep``, and whether it claimed ``limit`` rows (more may be due)."""
        rows = await self._pool.fetch(_CLAIM, self._channel, self._backoff, self._give_up,
                                      limit, queued_before)
        due: dict[str, dict[UUID, set[str]]] = {}
        for row in rows:
            if row["gave_up"]:
                log.error("notice %s left unsent after %s of attempts: see the outbox",
                          row["notification_id"], self._give_up)
                continue
            due.setdefault(row["case_id"], {}).setdefault(row["caused_by"], set()).add(
                row["notification_id"])
        posts = []
        for case_id, events in due.items():
            try:  # one read of the case for all its events (a case's events come in order)
                requests = await self._composed(case_id, set(events))
            except Exception:  # that case waits for its backoff; the others go on
                log.exception("notices of case %s not composed; due again later", case_id)
                continue
            for caused_by in events.keys() - requests.keys():
                log.error("notices of %s: no such event in case %s", caused_by, case_id)
            for caused_by, request in requests.items():
                notes = [n for n in request.notifications if n.notification_id in
                         events[caused_by]]
                posts.append(self._post_soon(request.model_copy(update={"notifications": notes})))
        if posts:
            await asyncio.wait(posts)
        return sum(len(events) for events in due.values()), len(rows) >= limit

    async def composed(self, case_id: str, caused_by: UUID) -> DispatchInput | None:
        """The event's notices as its workflow composed them: on the case folded up to and
        including it, with the event's own time and run."""
        return (await self._composed(case_id, {caused_by})).get(caused_by)

    async def _composed(self, case_id: str, wanted: set[UUID]) -> dict[UUID, DispatchInput]:
        """``composed`` for several events of a case, in the order they were recorded."""
        state = dc.CaseState.empty(case_id)
        found: dict[UUID, DispatchInput] = {}
        for recorded in await self._store.read_stream(case_stream(case_id)):
            event = dc.CASE_EVENT_ADAPTER.validate_python(recorded.payload)
            state = dc.evolve(state, event)
            if recorded.event_id in wanted:
                found[recorded.event_id] = dispatch_input(
                    case_id, recorded.event_id, recorded.recorded_at,
                    dc.notifications_for(state, event, str(recorded.event_id)),
                    recorded.workflow_id, recorded.run_id)
                if len(found) == len(wanted):
                    break
        return found

    async def run(self, stop: asyncio.Event, every: float = 30.0, *,
                  listen: Connect | None = None) -> None:
        """Sweep every ``every`` seconds until ``stop``; then let the posts under way end.
        ``listen``: this is a relay process: a connection of its own (``listen()``) LISTENs
        for queued notices and each queueing wakes a sweep of every due row; a worker that
        does not post beside takes only rows a relay process has left for ``grace``."""
        wake = asyncio.Event()
        queued_before = timedelta(0) if listen or self.beside else self._grace
        listener = Listener(listen, WAKE, wake) if listen else None
        self._health_window = max(3 * every, 30.0)
        self._swept_at = time.monotonic()
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    if listener is not None:
                        await listener.ensure()
                    # Again at once only while a pass claims all it may: in a relay process
                    # rows queued during a pass wake the next one (``wake`` is cleared
                    # before it); a worker's own sweep takes only rows left for ``grace``,
                    # at its next interval. (Until empty was a claim per wake for nothing.)
                    while (await self._sweep(_PASS, queued_before))[1] and not stop.is_set():
                        pass
                    self._swept_at = time.monotonic()
                except Exception:  # a database outage: the next pass tries again
                    log.exception("notice relay sweep failed")
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
                await asyncio.wait(waits, timeout=every, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
        finally:
            if listener is not None:
                listener.close()
        await self.idle()

    def stalled(self) -> str | None:
        """Why this relay's readiness fails: no pass of ``run`` has completed for three
        sweep intervals (at least 30 s): its database gone, its listener lost for good."""
        if self._swept_at is None:
            return None
        idle = time.monotonic() - self._swept_at
        return f"no sweep for {idle:.0f} s" if idle > self._health_window else None
