"""Running projections: batches, checkpoints, and what happens when an event will not apply.

Each projection's rows and its checkpoint change in one transaction, and the projection is
locked (a transaction-scoped advisory lock on its name) while a batch is applied, so two
runners never apply a batch twice and a crash never skips one. An event a projection
cannot apply never stops the others and never vanishes: it is quarantined with its error
(or its projection halts there, by configuration), the error is logged, and
`dueprocess projections status` shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import asyncpg

from ..domain.envelope import Position, RecordedEvent
from .crypto import KeyUnavailable
from .db import Connection, Database
from .eventstore import EventStore
from .histories import Tail
from .projection_status import ProjectionStatus, projection_lags, projection_status

__all__ = ["BATCH_SIZE", "Projection", "ProjectionHalted", "ProjectionRunner",
           "ProjectionStatus", "projection_lags", "projection_status"]

log = logging.getLogger("dueprocess.projections")


class Projection(Protocol):
    name: str
    tables: tuple[str, ...]

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None: ...


# Failures no event is to blame for: the database or the network, a key that cannot be
# read. The batch is retried as it is; anything else is the event's (or the code's) fault.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.exceptions.SerializationError, asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError, KeyUnavailable)
MAX_ERROR_TEXT = 2000
# Events per batch (one transaction): small enough that a batch of the slowest projection
# takes well under a second, large enough to amortise the checkpoint update.
BATCH_SIZE = 200
# An idle projection asks the (shared, cached) tail whether anything follows the checkpoint
# it last committed, without a transaction; at least this often it reads its checkpoint
# row instead (another process may have moved it: a rebuild).
RECHECK_SECONDS = 1.0
# How often an idle projection looks for new events. A poll, not LISTEN/NOTIFY, measured
# (bench/lag.py): at 10 cases/s the p50 lag is about 60 ms, of which the poll adds 25 ms
# on average; under sustained load the followers are never idle, so a notification would
# gain nothing where lag is large. NOTIFY would put a global lock into every append's
# commit (PostgreSQL serialises committing notifiers), change the append function, and
# need a dedicated connection per worker (pooled connections never LISTEN, store/db.py).
# An idle poll: one indexed query on the shared tail, at most one per projection per interval.
POLL_SECONDS = 0.05
# After a short batch (at the head, events still coming) a projection waits this long, so
# what arrives meanwhile is applied together; only a full batch goes on at once. A batch
# re-derives the row of each case it touches (deadlines, standing, contribution), so the
# CPU per case follows how often a case is touched. Measured (a 30 cases/s log replayed
# at that pace, CPU per case, loaded machine): going on after every batch (~3 events)
# 31 ms (14 ms live on a quiet one), a batch per 50 ms 10-12.6 ms, per 100 ms 8.4-9.0 ms.
# It adds up to 0.1 s to the lag: under 1 s at p99 needs the CPU headroom more.
LINGER_SECONDS = 0.1
# How long a stopping runner lets a batch under way finish before cancelling it (a worker
# must stop within 10 s of SIGTERM).
STOP_GRACE_SECONDS = 3.0

_NEXT_EVENT = """SELECT event_id, stream_id, stream_version, event_type,
                        tx_id::text::bigint AS tx, global_position FROM events
                  WHERE (tx_id, global_position) > ($1::text::xid8, $2)
                    AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
                  ORDER BY tx_id, global_position LIMIT 1"""

# The advisory-lock key space of projections (two-int keys never meet the one-bigint keys
# of data subjects, migration 0010): 'proj', then the name's hash.
_LOCK_SPACE = 0x70726F6A
_CREATE = "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING"
# The checkpoint, its row made if missing: one round trip, not an insert then a select.
_CHECKPOINT = """WITH made AS (INSERT INTO projection_checkpoints (name) VALUES ($1)
                                ON CONFLICT DO NOTHING RETURNING tx_id, global_position)
                 SELECT tx_id, global_position FROM made
                 UNION ALL
                 SELECT tx_id, global_position FROM projection_checkpoints WHERE name = $1"""


async def _advance(conn: Connection, name: str, tx_id: int, global_position: int) -> None:
    await conn.execute("""UPDATE projection_checkpoints SET tx_id = $2, global_position = $3,
                              updated_at = now() WHERE name = $1""", name, tx_id, global_position)


class ProjectionHalted(Exception):
    """A projection stopped at an event it cannot apply (``on_error="halt"``)."""


class ProjectionRunner:
    """Keeps projections current. An event a projection cannot apply is quarantined with
    its error and the projection goes on (``on_error="quarantine"``, the default), or the
    projection halts there, visibly, until restarted (``on_error="halt"``); either way
    the error is logged and counted on the checkpoint (`dueprocess projections status`)."""

    def __init__(
        self, pool: Database, store: EventStore, projections: Sequence[Projection],
        *, on_error: Literal["quarantine", "halt"] = "quarantine",
        batch_size: int = BATCH_SIZE, stop_grace: float = STOP_GRACE_SECONDS,
        on_applied: Callable[[str, int], None] | None = None,
    ) -> None:
        self._pool = pool
        self._store = store
        self._projections = list(projections)
        self._on_error = on_error
        self._halted: set[str] = set()
        self._batch_size = batch_size
        self._stop_grace = stop_grace
        # Told (projection name, events) after each committed batch: the throughput metric.
        self._on_applied = on_applied
        # The log's tail, read and decoded once for every projection of this runner.
        self._tail = Tail(store)
        # Per projection: the checkpoint this runner last committed or read, and when.
        self._known: dict[str, tuple[Position, float]] = {}

    @property
    def projections(self) -> list[Projection]:
        return list(self._projections)

    async def step(self, projection: Projection, limit: int | None = None) -> int:
        """Apply the next batch (``limit`` events, default the runner's batch size);
        returns how many events were consumed (quarantined events included). A failing
        batch is retried event by event to find the culprit."""
        limit = self._batch_size if limit is None else limit
        try:
            return await self._batch(projection, limit)
        except TRANSIENT:
            raise
        except Exception as err:
            if limit == 1:
                return await self._poisoned(projection, err)
        done = 0
        for _ in range(limit):
            consumed = await self.step(projection, 1)
            if consumed == 0:
                break
            done += consumed
        return done

    async def _batch(self, projection: Projection, limit: int) -> int:
        known = self._known.get(projection.name)
        ahead = await self._tail.read(known[0], limit) if known is not None \
            and time.monotonic() - known[1] < RECHECK_SECONDS else None
        if ahead == []:
            return 0  # nothing new after the checkpoint it last committed
        if projection.name not in self._known:  # its row, in a transaction of its own
            await self._pool.execute(_CREATE, projection.name)
        async with self._pool.acquire() as conn, conn.transaction():
            after = await self._checkpoint(conn, projection.name)
            # Checkpoint unmoved: what was just found after it, not read again (the store was
            # asked twice a batch at the head; bench/lag.py 30 cases/s: 2,482 -> 1,347 in 40 s).
            events = ahead if ahead and known and after == known[0] \
                else await self._tail.read(after, limit)
            if events:
                await projection.apply(conn, self._store, events)
                after = events[-1].position
                await _advance(conn, projection.name, after.tx_id, after.global_position)
        self._known[projection.name] = (after, time.monotonic())
        if events and self._on_applied is not None:
            self._on_applied(projection.name, len(events))
        return len(events)

    @staticmethod
    async def _checkpoint(conn: Connection, name: str) -> Position:
        """The projection's checkpoint, with the projection locked until the transaction
        ends. An advisory lock, not ``FOR UPDATE``: a row lock gives the transaction an id
        at once, and the log's tail only shows events of transactions older than every
        running one (``read_all``), so a batch holding an id from its first statement hid
        every event committed meanwhile from ALL projections until it committed: each
        projection's lag grew by the slowest one's batch. Now the transaction takes an id
        only at its writes, at the end of the batch."""
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_SPACE, name)
        # A statement after the lock's (its snapshot then sees a batch just committed). The
        # row exists (``_batch`` made it; the insert is for a rebuild elsewhere meanwhile),
        # so this writes nothing and takes no transaction id.
        row = await conn.fetchrow(_CHECKPOINT, name)
        assert row is not None
        return Position(tx_id=row["tx_id"], global_position=row["global_position"])

    async def _poisoned(self, projection: Projection, err: Exception) -> int:
        """The next event cannot be applied: set it aside and move on, or halt."""
        error = f"{type(err).__name__}: {err}"[:MAX_ERROR_TEXT]
        halt = self._on_error == "halt"
        async with self._pool.acquire() as conn, conn.transaction():
            after = await self._checkpoint(conn, projection.name)
            row = await conn.fetchrow(_NEXT_EVENT, str(after.tx_id), after.global_position)
            if row is None:  # nothing left to blame: the error came from elsewhere
                raise err
            log.error("projection %s cannot apply event %s (%s v%s %s): %s; %s",
                      projection.name, row["event_id"], row["stream_id"],
                      row["stream_version"], row["event_type"], error,
                      "halting it" if halt else "quarantined, going on",
                      exc_info=(type(err), err, err.__traceback__))
            await conn.execute(
                """UPDATE projection_checkpoints SET errors = errors + 1, last_error = $2,
                       last_error_at = now(), halted = $3 WHERE name = $1""",
                projection.name, f"event {row['event_id']}: {error}", halt)
            self._known.pop(projection.name, None)
            if halt:
                self._halted.add(projection.name)
                return 0
            await conn.execute(
                """INSERT INTO projection_quarantine (projection, event_id, stream_id,
                       stream_version, event_type, tx_id, global_position, error)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
                projection.name, row["event_id"], row["stream_id"], row["stream_version"],
                row["event_type"], row["tx"], row["global_position"], error)
            await _advance(conn, projection.name, row["tx"], row["global_position"])
            return 1

    async def catch_up(self, stop: asyncio.Event | None = None) -> int:
        """Apply every projection up to the head, one batch of each in turn (a slow
        projection never holds a fast one back); returns the events consumed. Ends between
        batches once ``stop`` is set."""
        total = 0
        active = list(self._projections)
        while active and not (stop is not None and stop.is_set()):
            behind = []
            for projection in active:
                if projection.name not in self._halted \
                        and (n := await self.step(projection, self._batch_size)) > 0:
                    total += n
                    behind.append(projection)
            active = behind
        return total

    async def rebuild(self, name: str | None = None) -> int:
        for projection in self._projections:
            if name is not None and projection.name != name:
                continue
            async with self._pool.acquire() as conn, conn.transaction():
                await self._checkpoint(conn, projection.name)  # waits for a batch under way
                for table in projection.tables:
                    await conn.execute(f"DELETE FROM {table}")
                await conn.execute(
                    "DELETE FROM projection_quarantine WHERE projection = $1", projection.name)
                await conn.execute(
                    "DELETE FROM projection_checkpoints WHERE name = $1", projection.name)
            self._halted.discard(projection.name)
            self._known.pop(projection.name, None)
        return await self.catch_up()

    async def run(self, stop: asyncio.Event, interval: float = POLL_SECONDS,
                  linger: float = LINGER_SECONDS) -> None:
        """Until ``stop``: each projection follows the log in a task of its own (its own
        checkpoint, transactions and pace, so the case list never waits for member
        standing). Once ``stop`` is set a batch under way gets ``stop_grace`` seconds,
        then is cancelled: its transaction rolls back and its checkpoint stays, so the
        next runner applies it again."""
        await self._resume_halted()
        tasks = [asyncio.create_task(self._follow(p, stop, interval, linger),
                                     name=f"projection {p.name}") for p in self._projections]
        try:
            await stop.wait()
            await asyncio.wait(tasks, timeout=self._stop_grace)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, projection: Projection, stop: asyncio.Event, interval: float,
                      linger: float) -> None:
        """One projection's loop. Nothing but ``stop`` ends it: every failure is logged
        and the loop starts again after a pause."""
        while not stop.is_set():
            pause = interval
            try:
                done = 0 if projection.name in self._halted \
                    else await self.step(projection, self._batch_size)
                if done >= self._batch_size:
                    continue  # a full batch: more is waiting
                pause = max(interval, linger) if done else interval  # (LINGER_SECONDS)
            except TRANSIENT:
                log.exception("projection %s: batch failed; retrying", projection.name)
            except Exception:
                log.exception("projection %s: loop failed; restarting it", projection.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)

    async def _resume_halted(self) -> None:
        """A restarted runner tries a halted projection again (its error stays counted)."""
        await self._pool.execute(
            "UPDATE projection_checkpoints SET halted = false WHERE name = ANY($1) AND halted",
            [p.name for p in self._projections])
