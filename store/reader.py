"""Reading the event store: streams, the gapless global order, and scans by document.

Every read fetches the keys it needs (never from a cache), so an erased subject is never
decrypted; old event shapes are upcast on read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg

from ..domain.case.upcasters import CASE_UPCASTERS
from ..domain.encoding import Upcasters
from ..domain.envelope import Position, RecordedEvent
from . import crypto
from .collector import paused
from .db import Connection, Database
from .rows import parsed as _parsed
from .rows import personal as _personal
from .rows import recorded as _recorded
from .rows import unreadable as _unreadable

_READ_COLUMNS = "global_position, tx_id::text AS tx, stream_id, stream_version, data, hash"
# Every committed event in global order, paged inside one REPEATABLE READ snapshot (see
# select_all): unlike the gapless tail of read_all, it hides nothing that has committed.
_SCAN = f"""SELECT {_READ_COLUMNS} FROM events
             WHERE (tx_id, global_position) > ($1::text::xid8, $2)
             ORDER BY tx_id, global_position LIMIT $3"""
# The person index (migration 0013, written by the append): the streams any of whose
# events name the person, and those streams' events. Both use indexes (tested by EXPLAIN).
PERSON_STREAMS = "SELECT stream_id FROM stream_people WHERE person_id = $1 ORDER BY stream_id"
STREAMS_SCAN = f"""SELECT {_READ_COLUMNS} FROM events WHERE stream_id = ANY($1::text[])
                    ORDER BY tx_id, global_position"""
_HEAD = """SELECT (SELECT version FROM streams WHERE stream_id = $1) AS version, ARRAY(
             SELECT event_id FROM events WHERE stream_id = $1 AND event_id = ANY($2::uuid[])
           ) AS held"""
_STREAMS_PER_QUERY = 500
_STREAM_IDS = "SELECT stream_id FROM streams WHERE stream_id > $1 ORDER BY stream_id LIMIT $2"
_RANGES = f"""SELECT {_READ_COLUMNS} FROM unnest($1::text[], $2::bigint[], $3::bigint[])
                    AS r(s, lo, hi) JOIN events ON stream_id = r.s
                   AND stream_version BETWEEN r.lo AND r.hi ORDER BY stream_id, stream_version"""
_STREAMS_IN_ORDER = f"""SELECT {_READ_COLUMNS} FROM events WHERE stream_id = ANY($1::text[])
                         ORDER BY stream_id, stream_version"""


@asynccontextmanager
async def _snapshot(conn: Connection) -> AsyncIterator[None]:
    """One REPEATABLE READ snapshot, or the caller's transaction if one is open."""
    if conn.is_in_transaction():
        yield
        return
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        yield


class EventReader:
    """The read side of ``EventStore`` (which adds appends and erasure)."""

    def __init__(
        self,
        pool: Database,
        *,
        upcasters: Upcasters = CASE_UPCASTERS,
        key_wrap: crypto.KeyWrap = crypto.NO_KEY_WRAP,
    ) -> None:
        self._pool = pool
        self._upcasters = upcasters
        self._key_wrap = key_wrap

    async def head(self, stream_id: str, event_ids: Sequence[UUID]) -> tuple[int, set[UUID]]:
        """The stream's version and which of ``event_ids`` it holds, in one query."""
        row = await self._pool.fetchrow(_HEAD, stream_id, list(event_ids))
        return (int(row["version"] or 0), set(row["held"])) if row else (0, set())

    async def version(self, stream_id: str) -> int:
        return (await self.head(stream_id, []))[0]

    async def read_stream(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None
    ) -> list[RecordedEvent]:
        rows = await self._pool.fetch(
            f"""SELECT {_READ_COLUMNS} FROM events
                 WHERE stream_id = $1 AND stream_version >= $2
                   AND ($3::bigint IS NULL OR stream_version <= $3)
                 ORDER BY stream_version""",
            stream_id, from_version, to_version,
        )
        return await self._decode(rows)

    async def read_streams(self, stream_ids: Sequence[str]) -> list[RecordedEvent]:
        """Events of several streams, in global order (for cross-stream folds)."""
        rows = await self._pool.fetch(
            f"""SELECT {_READ_COLUMNS} FROM events WHERE stream_id = ANY($1)
                 ORDER BY tx_id, global_position""",
            list(stream_ids),
        )
        return await self._decode(rows)

    async def read_ranges(self, ranges: Sequence[tuple[str, int, int]]) -> list[RecordedEvent]:
        """Several streams' events from one version to another (both included), in stream
        and version order: one query for the histories a projection's batch lacks."""
        rows = await self._pool.fetch(_RANGES, *(list(c) for c in zip(*ranges, strict=True))) \
            if ranges else []
        return await self._decode(rows)

    async def read_all(
        self, after: Position | None = None, *, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The next committed events in global order, strictly after ``after``.

        Only rows written by transactions older than every transaction still running are
        returned, so a transaction that commits later can never land behind the reader.
        """
        return await self._decode(await self._page(after or Position(), limit))

    async def _page(self, after: Position, limit: int) -> list[asyncpg.Record]:
        return list(await self._pool.fetch(
            f"""SELECT {_READ_COLUMNS} FROM events
                 WHERE (tx_id, global_position) > ($1::text::xid8, $2)
                   AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
                 ORDER BY tx_id, global_position
                 LIMIT $3""",
            str(after.tx_id), after.global_position, limit,
        ))

    async def select_all(
        self, keep: Callable[[str, Mapping[str, Any]], bool], *, page: int = 2000
    ) -> list[RecordedEvent]:
        """Every committed event, in global order, that ``keep(stream_id, document)``
        accepts, decoded; only those are held in memory or decrypted. Read in one
        snapshot (REPEATABLE READ): exactly what had committed when the scan began, even
        while other transactions stay open (the gapless tail would hide their successors).

        ``document`` is the event as stored: envelope fields, and the payload with personal
        values still sealed (each names its ``subject_id`` in clear). An event whose shape
        an upcaster changes is decoded first, so ``keep`` always judges current shapes.
        For scans by who an event concerns (subject access, erasure): several times
        faster than reading everything with ``read_all``."""
        async with self._pool.acquire() as conn:
            if conn.is_in_transaction():  # the caller's snapshot
                return await self._select(conn, keep, page)
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await self._select(conn, keep, page)

    async def scan(self, *, page: int = 1000) -> AsyncGenerator[list[RecordedEvent], None]:
        """Every committed event in global order, in pages of at most ``page`` (keyset on
        the global position), in one REPEATABLE READ snapshot: what a reader of the whole
        log holds is one page, whatever the log's size. Close it (``aclosing``) when
        stopping early, to end the snapshot."""
        async with self._pool.acquire() as conn, _snapshot(conn):
            after = Position()
            while rows := await conn.fetch(_SCAN, str(after.tx_id), after.global_position,
                                           page):
                yield await self._decode(rows, conn)
                after = Position(tx_id=int(rows[-1]["tx"]),
                                 global_position=rows[-1]["global_position"])

    async def stream_batches(
        self, keep: Callable[[str], bool], *, streams: int = 200
    ) -> AsyncGenerator[dict[str, list[RecordedEvent]], None]:
        """Whole streams whose id ``keep`` accepts, at most ``streams`` of them at a time,
        each in version order (keyset on the stream id), in one REPEATABLE READ snapshot:
        for per-case folds over the whole log (statistics, exports) without holding it."""
        async with self._pool.acquire() as conn, _snapshot(conn):
            after = ""
            while ids := [r["stream_id"] for r in await conn.fetch(_STREAM_IDS, after, streams)]:
                after = ids[-1]
                wanted = [i for i in ids if keep(i)]
                if not wanted:
                    continue
                batch: dict[str, list[RecordedEvent]] = {i: [] for i in wanted}
                for event in await self._decode(await conn.fetch(_STREAMS_IN_ORDER, wanted),
                                                conn):
                    batch[event.stream_id].append(event)
                yield {i: events for i, events in batch.items() if events}

    async def person_streams(self, person_id: str) -> list[str]:
        """The streams any of whose events name the person (the person index)."""
        return [r["stream_id"] for r in await self._pool.fetch(PERSON_STREAMS, person_id)]

    async def select_person(
        self, person_id: str, keep: Callable[[str, Mapping[str, Any]], bool]
    ) -> list[RecordedEvent]:
        """``select_all`` over only the streams that name ``person_id`` (the person index),
        in global order, in one snapshot: the index is written with the events, so what
        the snapshot holds of one it holds of the other. Costs the person's streams, not
        the log. ``keep`` decides per event as in ``select_all``."""
        async with self._pool.acquire() as conn:
            if conn.is_in_transaction():  # the caller's snapshot
                return await self._select_person(conn, person_id, keep)
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await self._select_person(conn, person_id, keep)

    async def _select_person(
        self, conn: Connection, person_id: str, keep: Callable[[str, Mapping[str, Any]], bool]
    ) -> list[RecordedEvent]:
        streams = [r["stream_id"] for r in await conn.fetch(PERSON_STREAMS, person_id)]
        rows: list[asyncpg.Record] = []
        for i in range(0, len(streams), _STREAMS_PER_QUERY):
            rows.extend(await conn.fetch(STREAMS_SCAN, streams[i:i + _STREAMS_PER_QUERY]))
        rows.sort(key=lambda r: (int(r["tx"]), r["global_position"]))
        return await self._decode_parsed(await self._judged(conn, rows, keep), conn)

    async def _select(
        self, conn: Connection, keep: Callable[[str, Mapping[str, Any]], bool], page: int
    ) -> list[RecordedEvent]:
        kept: list[tuple[asyncpg.Record, dict[str, Any]]] = []
        after = Position()
        while rows := await conn.fetch(_SCAN, str(after.tx_id), after.global_position, page):
            kept.extend(await self._judged(conn, rows, keep))
            last = rows[-1]
            after = Position(tx_id=int(last["tx"]), global_position=last["global_position"])
        return await self._decode_parsed(kept, conn)

    async def _judged(
        self, conn: Connection, rows: Sequence[asyncpg.Record],
        keep: Callable[[str, Mapping[str, Any]], bool],
    ) -> list[tuple[asyncpg.Record, dict[str, Any]]]:
        """The rows ``keep`` accepts (judged on current shapes), parsed, not decrypted."""
        with paused():
            parsed = [(row, _parsed(row)) for row in rows]
        judged: list[Mapping[str, Any]] = [doc for _, doc in parsed]
        old = [i for i, (row, doc) in enumerate(parsed) if self._old_shape(row, doc)]
        if old:  # one key read per page for the old shapes, not one per event
            upcast = await self._decode_parsed([parsed[i] for i in old], conn)
            for i, event in zip(old, upcast, strict=True):
                judged[i] = event.model_dump(mode="json")
        return [(row, doc) for (row, doc), shape in zip(parsed, judged, strict=True)
                if keep(row["stream_id"], shape)]

    def _old_shape(self, row: asyncpg.Record, doc: dict[str, Any]) -> bool:
        try:
            return self._upcasters.applies(doc["event_type"], doc["schema_version"])
        except Exception as err:
            raise _unreadable(row, doc, err) from err

    async def _decode(
        self, rows: Iterable[asyncpg.Record], db: Connection | None = None
    ) -> list[RecordedEvent]:
        with paused():  # see store/collector.py: a page's objects hold no cycles
            parsed = [(row, _parsed(row)) for row in rows]
        return await self._decode_parsed(parsed, db)

    async def _decode_parsed(
        self, parsed: list[tuple[asyncpg.Record, dict[str, Any]]], db: Connection | None = None
    ) -> list[RecordedEvent]:
        # Each payload is walked once: its personal values give the key ids to fetch, then
        # are opened in place; each key's cipher is set up once for the whole batch.
        with paused():
            found = [_personal(row, doc) for row, doc in parsed]
        key_ids = {node["key_id"] for nodes in found for _, node in nodes if "key_id" in node}
        keys: dict[int, bytes | None] = {}
        if key_ids:
            for k in await (self._pool if db is None else db).fetch(
                "SELECT key_id, subject_id, key_material FROM subject_keys "
                "WHERE key_id = ANY($1)",
                list(key_ids),
            ):
                material = k["key_material"]
                keys[k["key_id"]] = None if material is None else self._key_wrap.unwrap(
                    k["key_id"], k["subject_id"], bytes(material))
        with paused():
            return _recorded(parsed, found, keys, self._upcasters)
