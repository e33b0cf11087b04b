"""The PostgreSQL event store: the system of record for every case and member.

Guarantees (each has a contract test in tests/activities/test_eventstore.py):
- optimistic concurrency per stream: a stale expected version raises ConcurrencyConflict
  and writes nothing;
- idempotent by event id: re-appending the same batch returns the stored positions; the
  same id with other content raises EventIdConflict;
- a gapless global order: ``read_all(after)`` never skips a committed event even with
  many concurrent writers, without a table lock (see migration 0001);
- a per-stream hash chain over the stored bytes (see activities/verify.py);
- personal data encrypted per data subject; erasure destroys the key.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from ..domain.base import Actor
from ..domain.encoding import NO_UPCASTERS, Upcasters, canonical_json
from ..domain.envelope import AppendResult, NewEvent, Position, PrincipalRecord, RecordedEvent
from . import crypto
from .db import Connection, Database, Pinned

_HEAD_CACHE_SIZE = 10_000
# One read-only round trip for what the caches lack: the subjects' live keys, the stream
# head, and ids for the keys of subjects that have none yet (reserved from the key
# sequence: an id is never handed out twice). Such keys are created by the append itself.
_LOOKUP = """
    SELECT 'key' AS kind, subject_id, key_id AS number, key_material AS material
      FROM subject_keys WHERE subject_id = ANY($1::text[]) AND destroyed_at IS NULL
    UNION ALL
    SELECT 'head', NULL, version, head_hash FROM streams WHERE stream_id = $2
    UNION ALL
    SELECT 'id', NULL, nextval(pg_get_serial_sequence('subject_keys', 'key_id')), NULL
      FROM generate_series(1, $3::int)
"""
_APPEND = "SELECT * FROM dueprocess_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
_REFUSAL = "SELECT * FROM dueprocess_append_refusal($1, $2, $3, $4, $5, $6, $7)"
# A stale head is refreshed at most this often per append (a second refresh only matters
# when the stream was created between the lookup and the append).
_HEAD_REFRESHES = 2
# Keys re-resolved at most this often per append: a key erased, or a subject's first key
# created by another process, while the batch was being appended.
_KEY_REFRESHES = 2
# The constraints a key created by the append can meet when another process won.
_KEY_CONSTRAINTS = frozenset({"subject_keys_one_live_key", "subject_keys_pkey"})
_READ_COLUMNS = "global_position, tx_id::text AS tx, stream_id, stream_version, data, hash"
# Every committed event in global order, paged inside one REPEATABLE READ snapshot (see
# select_all): unlike the gapless tail of read_all, it hides nothing that has committed.
_SCAN = f"""SELECT {_READ_COLUMNS} FROM events
             WHERE (tx_id, global_position) > ($1::text::xid8, $2)
             ORDER BY tx_id, global_position LIMIT $3"""


class EventStoreError(Exception):
    error_type = "EventStoreError"


class ConcurrencyConflict(EventStoreError):
    """Someone else appended to the stream first; reload and decide again."""

    error_type = "ConcurrencyConflict"

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is no longer at the expected version {expected_version}: "
            "another writer appended first; nothing was written"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version


class _StaleHead(Exception):
    """The cached head hash was not the stream's: refresh it and try again."""


class _KeyRace(Exception):
    """Another process created the first key of a subject this batch was sealed under a
    new key for (or the batch may be a retry sealed under such a key): look the keys up
    again, re-seal, retry."""


class _KeysDestroyed(Exception):
    """A key the batch was sealed under has been erased (by another process, whose erasure
    this store's key cache did not see): drop it, fetch the live key, re-seal, retry."""

    def __init__(self, key_ids: set[int]) -> None:
        super().__init__(f"subject key(s) {sorted(key_ids)} destroyed")
        self.key_ids = key_ids


def _destroyed_key_ids(err: asyncpg.UniqueViolationError) -> set[int]:
    detail = getattr(err, "detail", None) or ""
    try:
        return {int(part) for part in detail.split(",") if part.strip()}
    except ValueError:
        return set()


class ErasedSubject(EventStoreError):
    """The batch names (seals personal data of) a data subject who was erased: nothing
    about them is written again. Never a retry."""

    error_type = "ErasedSubject"

    def __init__(self, subject_ids: list[str]) -> None:
        super().__init__(
            f"data subject(s) {', '.join(subject_ids) or '?'} were erased: appends naming "
            "them are refused; nothing was written")
        self.subject_ids = subject_ids


class EventIdConflict(EventStoreError):
    """An event id was reused for different content: never a retry, always a bug."""

    error_type = "EventIdConflict"


def _utc(value: datetime) -> datetime:
    # canonical_json writes it as isoformat() would: "2026-03-01T09:00:00+00:00".
    # NewEvent already holds UTC; the check is for instances built without validation.
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _actor_document(actor: Actor) -> dict[str, str]:
    return {"id": actor.id, "kind": actor.kind, "role": actor.role}  # sorted; kind: a StrEnum


def _principal_document(principal: PrincipalRecord) -> dict[str, Any]:
    return {  # sorted, like the envelope
        "auth_method": principal.auth_method,
        "auth_time": None if principal.auth_time is None else _utc(principal.auth_time),
        "issuer": principal.issuer,
        "request_id": principal.request_id,
        "subject": principal.subject,
        "token_id": principal.token_id,
    }


def envelope_document(
    stream_id: str, version: int, event: NewEvent, sealed_payload: Any
) -> dict[str, Any]:
    """The stored form of one event: everything that is hashed. Keys are written in sorted
    order so ``envelope_bytes`` can skip sorting them (a test holds them sorted). An event
    without a principal has no "principal" key at all: the bytes (and so the hash chain)
    of events written before principals were recorded are exactly what they were."""
    document = {
        "actor": _actor_document(event.actor),
        "authority": event.authority,
        "causation_id": event.causation_id,
        "correlation_id": event.correlation_id,
        "effective_at": _utc(event.effective_at),
        "event_id": event.event_id,  # canonical_json writes the hyphenated lowercase form
        "event_type": event.event_type,
        "payload": sealed_payload,
        "recorded_at": _utc(event.recorded_at),
        "run_id": event.run_id,
        "schema_version": event.schema_version,
        "stream_id": stream_id,
        "stream_version": version,
        "workflow_id": event.workflow_id,
    }
    if event.principal is not None:
        document["principal"] = _principal_document(event.principal)
        document = dict(sorted(document.items()))
    return document


def envelope_bytes(
    stream_id: str, version: int, event: NewEvent, sealed_payload: dict[str, Any]
) -> bytes:
    """``canonical_json(envelope_document(...))`` at about half the cost: only the payload
    needs its keys sorted; the envelope's own keys already are."""
    try:
        payload = orjson.Fragment(orjson.dumps(sealed_payload, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # a shape only the standard library writes (see canonical_json)
        return canonical_json(envelope_document(stream_id, version, event, sealed_payload))
    return orjson.dumps(envelope_document(stream_id, version, event, payload))


def _documents(
    stream_id: str, expected: int, events: Sequence[NewEvent], found: list[crypto.Found],
    keys: dict[str, crypto.SubjectKey],
) -> list[bytes]:
    """The stored bytes of a batch: each envelope with its personal values sealed."""
    return [
        envelope_bytes(
            stream_id, expected + i, event,
            crypto.seal_found(event.payload, personal, crypto.uuid_text(event.event_id), keys)
            if personal else event.payload,
        )
        for i, (event, personal) in enumerate(zip(events, found, strict=True), start=1)
    ]


@dataclass
class _BatchKeys:
    """The keys a batch is sealed under, by subject; ``new`` are those the append creates
    (subjects that had no live key)."""

    sealing: dict[str, crypto.SubjectKey] = field(default_factory=dict)
    new: dict[str, crypto.SubjectKey] = field(default_factory=dict)


class EventStore:
    def __init__(
        self,
        pool: Database,
        *,
        upcasters: Upcasters = NO_UPCASTERS,
        key_cache_seconds: float = 30.0,
        key_wrap: crypto.KeyWrap = crypto.NO_KEY_WRAP,
    ) -> None:
        self._pool = pool
        self._upcasters = upcasters
        self._key_wrap = key_wrap
        self._key_cache_seconds = key_cache_seconds
        # Write keys only: reads always fetch keys so an erased subject is never decrypted
        # from a stale cache.
        self._write_keys: dict[str, tuple[float, crypto.SubjectKey]] = {}
        # Last known (version, head hash) of streams this store wrote or read the head of:
        # saves a read per append for the single writer of a stream (a case workflow).
        # Only facts go in: a head read from the streams row, or a chain this store
        # computed from a head known to be at the version it appended at.
        self._heads: dict[str, tuple[int, bytes]] = {}
        # Key ids reserved by a lookup and not yet used (see _LOOKUP).
        self._spare_key_ids: list[int] = []

    # -- writing -----------------------------------------------------------------------

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> AppendResult:
        if expected_version < 0:
            raise ValueError("expected_version: must be >= 0 (0 means a new stream)")
        found = [crypto.personal_nodes(e.payload) for e in events]
        subjects = set().union(*map(crypto.subjects_of, found))
        keys, prev, trusted = await self._prepare(stream_id, expected_version, subjects)
        docs = _documents(stream_id, expected_version, events, found, keys.sealing)
        head_refreshes = key_refreshes = 0
        # Every attempt maps unique violations the same way; only a stale head hash and
        # keys that changed underneath (erased, or first created elsewhere) are retried,
        # each a bounded number of times.
        while True:
            try:
                rows = await self._append_chained(
                    stream_id, expected_version, prev, trusted, events, docs, keys)
                break
            except _StaleHead as err:
                self._heads.pop(stream_id, None)
                head_refreshes += 1
                if head_refreshes > _HEAD_REFRESHES:
                    raise EventStoreError(
                        f"stream {stream_id!r}: the stored head hash does not match the "
                        "head read back; run verify; nothing was written"
                    ) from err
                _, prev, trusted = await self._prepare(stream_id, expected_version, set())
                continue
            except _KeysDestroyed as err:
                for subject, key in keys.sealing.items():
                    if key.key_id in err.key_ids or not err.key_ids:
                        self._write_keys.pop(subject, None)
                cause: Exception = err
            except _KeyRace as err:
                cause = err
            except asyncpg.UniqueViolationError as err:
                stored = await self._already_stored(stream_id, events, docs)
                if stored is not None:
                    rows = stored
                    break
                # Sealed under keys made for this batch, it cannot equal a copy stored by
                # an earlier attempt that was still in flight when this one looked keys up
                # (that copy is sealed under the keys that won): look once more.
                if not (keys.new and err.constraint_name == "events_event_id_key"
                        and key_refreshes == 0):
                    raise self._map_violation(err, stream_id, expected_version) from err
                cause = err
            key_refreshes += 1
            if key_refreshes > _KEY_REFRESHES:
                raise EventStoreError(
                    f"stream {stream_id!r}: the keys of this batch's data subjects kept "
                    "changing while it was being appended (erased, or created by another "
                    "process); nothing was written"
                ) from cause
            keys, prev, trusted = await self._prepare(stream_id, expected_version, subjects)
            docs = _documents(stream_id, expected_version, events, found, keys.sealing)
        version = rows[-1]["stream_version"] if rows else expected_version
        return AppendResult(
            stream_id=stream_id, version=version,
            global_positions=[r["global_position"] for r in rows],
        )

    async def _append_chained(
        self, stream_id: str, expected: int, prev: bytes, trusted: bool,
        events: Sequence[NewEvent], docs: list[bytes], keys: _BatchKeys,
    ) -> list[asyncpg.Record]:
        """dueprocess_append, and on refusal dueprocess_append_refusal to learn why.
        ``trusted``: ``prev`` is known to be the head hash at version ``expected``; only
        then are the computed hashes the stream's and worth remembering (the refusal may
        instead return an already stored batch, chained from the real head)."""
        hashes = []
        link = prev
        for doc in docs:
            link = hashlib.sha256(link + doc).digest()
            hashes.append(link)
        ids = [e.event_id for e in events]
        key_ids = [key.key_id for key in keys.sealing.values()]
        new = list(keys.new.items())
        try:
            rows = await self._pool.fetch(
                _APPEND, stream_id, expected, prev, ids, [e.event_type for e in events],
                docs, hashes, key_ids, [key.key_id for _, key in new],
                [subject for subject, _ in new],
                [self._key_wrap.wrap(key.key_id, subject, key.material) for subject, key in new],
            ) if docs else []
            if not rows:
                # Refused (or an empty batch, which only checks the version): why? Stored
                # rows mean a retry; nothing wrong any more (a competing first append
                # rolled back) is a conflict like any other: the caller decides again.
                stored = await self._pool.fetch(
                    _REFUSAL, stream_id, expected, prev, ids, docs, key_ids,
                    [subject for subject, _ in new])
                if stored or not docs:
                    return list(stored)
                raise ConcurrencyConflict(stream_id, expected)
        except asyncpg.UniqueViolationError as err:
            if err.constraint_name == "streams_head_hash":
                raise _StaleHead from err
            if err.constraint_name == "subject_keys_destroyed":
                raise _KeysDestroyed(_destroyed_key_ids(err)) from err
            if err.constraint_name == "subject_erased":
                detail = getattr(err, "detail", None) or ""
                raise ErasedSubject([s for s in detail.split(",") if s]) from err
            if err.constraint_name in _KEY_CONSTRAINTS:
                raise _KeyRace from err
            raise
        now = time.monotonic()
        for subject, key in new:  # written with the events: live keys from now on
            self._write_keys[subject] = (now, key)
        if trusted and rows[-1]["stream_version"] == expected + len(docs):
            self._remember_head(stream_id, expected + len(docs), hashes[-1])
        return list(rows)

    def _remember_head(self, stream_id: str, version: int, head: bytes) -> None:
        if stream_id not in self._heads and len(self._heads) >= _HEAD_CACHE_SIZE:
            self._heads.pop(next(iter(self._heads)))
        self._heads[stream_id] = (version, head)

    async def append_at_head(
        self, stream_id: str, events: Sequence[NewEvent], attempts: int = 20
    ) -> AppendResult:
        """Append wherever the stream's head is, for logs with many independent writers
        (access logs, dispatch records) where no decision depends on the prior state.
        Idempotent by event id: a batch whose first event is stored is not appended again.
        """
        for _ in range(attempts):
            if events and await self.contains(stream_id, events[0].event_id):
                return AppendResult(stream_id=stream_id, version=await self.version(stream_id),
                                    global_positions=[])
            try:
                return await self.append(stream_id, await self.version(stream_id), events)
            except ConcurrencyConflict:
                await asyncio.sleep(0.005)
        raise ConcurrencyConflict(stream_id, -1)

    async def _already_stored(
        self, stream_id: str, events: Sequence[NewEvent], docs: list[bytes]
    ) -> list[asyncpg.Record] | None:
        """The stored rows when this exact batch is already in the stream (a retry that
        raced ahead of, or arrived at, the head); None when anything differs."""
        rows = await self._pool.fetch(
            """SELECT e.global_position, e.stream_version
                 FROM unnest($2::uuid[], $3::bytea[]) AS u(id, d)
                 JOIN events e ON e.event_id = u.id AND e.data = u.d AND e.stream_id = $1
                ORDER BY e.stream_version""",
            stream_id, [e.event_id for e in events], docs,
        )
        return list(rows) if events and len(rows) == len(events) else None

    @staticmethod
    def _map_violation(
        err: asyncpg.UniqueViolationError, stream_id: str, expected: int
    ) -> EventStoreError:
        constraint = err.constraint_name
        if constraint == "events_event_id_key":
            return EventIdConflict(
                f"an event id in this batch is already stored with different content or at "
                f"another position in stream {stream_id!r}; nothing was written"
            )
        if constraint == "events_stream_version_key":
            return ConcurrencyConflict(stream_id, expected)
        return EventStoreError(f"unexpected unique violation on {constraint}: {err}")

    async def _prepare(
        self, stream_id: str, expected: int, subjects: set[str]
    ) -> tuple[_BatchKeys, bytes, bool]:
        """The keys to seal under (a subject without a live key gets a new one, which the
        append creates), the hash the batch chains from, and whether that hash is known to
        be the head at ``expected``. All usually come from memory; whatever is missing
        comes in ONE read-only query (_LOOKUP)."""
        now = time.monotonic()
        keys = _BatchKeys()
        missing: list[str] = []
        for subject in sorted(subjects):
            cached = self._write_keys.get(subject)
            if cached and now - cached[0] < self._key_cache_seconds:
                keys.sealing[subject] = cached[1]
            else:
                missing.append(subject)
        head = self._heads.get(stream_id)
        prev = b"" if expected == 0 else head[1] if head and head[0] == expected else None
        if not missing and prev is not None:
            return keys, prev, True
        trusted = prev is not None
        # Spare ids are taken before the await, so concurrent appends never share one.
        spare = self._spare_key_ids
        ids = [spare.pop() for _ in range(min(len(missing), len(spare)))]
        rows = await self._pool.fetch(
            _LOOKUP, missing, stream_id if prev is None else None, len(missing) - len(ids))
        for row in rows:
            if row["kind"] == "key":
                keys.sealing[row["subject_id"]] = key = crypto.SubjectKey(
                    row["number"], self._key_wrap.unwrap(
                        row["number"], row["subject_id"], bytes(row["material"])))
                self._write_keys[row["subject_id"]] = (now, key)
            elif row["kind"] == "id":
                ids.append(row["number"])
            else:
                # The stored head, whatever its version: true for that version, so worth
                # remembering. At another version the append will conflict or is a retry
                # (the function decides which before it looks at the hash); then the hash
                # is sent but the resulting chain is not trusted.
                version, head_hash = row["number"], bytes(row["material"])
                self._remember_head(stream_id, version, head_hash)
                if version == expected:
                    prev, trusted = head_hash, True
                elif prev is None:
                    prev = head_hash
        for subject in missing:
            if subject not in keys.sealing:
                keys.sealing[subject] = keys.new[subject] = crypto.SubjectKey(
                    ids.pop(), crypto.new_key())
        spare.extend(ids)
        return keys, prev if prev is not None else b"", trusted

    async def erase_subject(self, subject_id: str) -> int:
        """Destroy the subject's key(s), with no check; returns how many were destroyed.
        Appends naming the subject are refused from then on."""
        async with self.erasure(subject_id) as erasure:
            return await erasure.destroy()

    @asynccontextmanager
    async def erasure(self, subject_id: str) -> AsyncIterator[Erasure]:
        """Hold the subject's erasure lock: appends that seal data of the subject wait
        until it is released (and are then refused if the key was destroyed). Check what
        must be checked through ``erasure.store`` (it reads every committed event, on the
        locked connection), then ``erasure.destroy()``."""
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT dueprocess_lock_subject($1)", subject_id)
            try:
                yield Erasure(self, conn, subject_id)
            finally:
                await _unlock(conn, subject_id)

    # -- reading -----------------------------------------------------------------------

    async def contains(self, stream_id: str, event_id: UUID) -> bool:
        return bool(await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND event_id = $2)",
            stream_id, event_id,
        ))

    async def version(self, stream_id: str) -> int:
        value = await self._pool.fetchval(
            "SELECT version FROM streams WHERE stream_id = $1", stream_id
        )
        return int(value or 0)

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

    async def read_all(
        self, after: Position | None = None, *, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The next committed events in global order, strictly after ``after``.

        Only rows written by transactions older than every transaction still running are
        returned, so a transaction that commits later can never land behind the reader.
        """
        return await self._decode(await self._page(after or Position(), limit))

    def pinned(self, conn: Connection) -> EventStore:
        """This store (same upcasters and key wrapping) on one connection."""
        return EventStore(Pinned(conn), upcasters=self._upcasters, key_wrap=self._key_wrap,
                          key_cache_seconds=self._key_cache_seconds)

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

    async def _select(
        self, conn: Connection, keep: Callable[[str, Mapping[str, Any]], bool], page: int
    ) -> list[RecordedEvent]:
        kept: list[tuple[asyncpg.Record, dict[str, Any]]] = []
        after = Position()
        while rows := await conn.fetch(_SCAN, str(after.tx_id), after.global_position, page):
            parsed = [(row, orjson.loads(row["data"])) for row in rows]
            judged: list[Mapping[str, Any]] = [doc for _, doc in parsed]
            old = [i for i, (_, doc) in enumerate(parsed)
                   if self._upcasters.applies(doc["event_type"], doc["schema_version"])]
            if old:  # one key read per page for the old shapes, not one per event
                upcast = await self._decode_parsed([parsed[i] for i in old], conn)
                for i, event in zip(old, upcast, strict=True):
                    judged[i] = event.model_dump(mode="json")
            for (row, doc), shape in zip(parsed, judged, strict=True):
                if keep(row["stream_id"], shape):
                    kept.append((row, doc))
            last = rows[-1]
            after = Position(tx_id=int(last["tx"]), global_position=last["global_position"])
        return await self._decode_parsed(kept, conn)

    async def _decode(self, rows: Iterable[asyncpg.Record]) -> list[RecordedEvent]:
        return await self._decode_parsed([(row, orjson.loads(row["data"])) for row in rows])

    async def _decode_parsed(
        self, parsed: list[tuple[asyncpg.Record, dict[str, Any]]], db: Connection | None = None
    ) -> list[RecordedEvent]:
        key_ids = set().union(*(crypto.key_ids_in(doc["payload"]) for _, doc in parsed)) \
            if parsed else set()
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
        return [self._to_recorded(row, doc, keys) for row, doc in parsed]

    def _to_recorded(
        self, row: asyncpg.Record, doc: dict[str, Any], keys: dict[int, bytes | None]
    ) -> RecordedEvent:
        payload = crypto.unseal(doc["payload"], doc["event_id"], keys)
        version, payload = self._upcasters.upcast(
            doc["event_type"], doc["schema_version"], payload
        )
        return RecordedEvent(
            event_id=doc["event_id"],
            event_type=doc["event_type"],
            schema_version=version,
            payload=payload,
            actor=doc["actor"],
            authority=doc["authority"],
            recorded_at=doc["recorded_at"],
            effective_at=doc["effective_at"],
            correlation_id=doc["correlation_id"],
            causation_id=doc["causation_id"],
            workflow_id=doc["workflow_id"],
            run_id=doc["run_id"],
            principal=doc.get("principal"),  # absent before principals were recorded
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            position=Position(tx_id=int(row["tx"]), global_position=row["global_position"]),
            hash=bytes(row["hash"]).hex(),
        )


class Erasure:
    """A subject's erasure under way: the subject's lock is held (see EventStore.erasure)."""

    def __init__(self, store: EventStore, conn: Connection, subject_id: str) -> None:
        self.subject_id = subject_id
        self.store = store.pinned(conn)  # reads every committed event, on the locked conn
        self._owner = store
        self._conn = conn

    async def destroy(self) -> int:
        """Destroy the subject's key(s) (or mark a never-keyed subject erased); returns
        how many keys were destroyed."""
        self._owner._write_keys.pop(self.subject_id, None)
        destroyed = await self._conn.fetchval(
            "SELECT dueprocess_erase_subject($1)", self.subject_id)
        self._owner._write_keys.pop(self.subject_id, None)  # in case it raced a lookup
        return int(destroyed)


async def _unlock(conn: Connection, subject_id: str) -> None:
    """Release the session lock; a connection that cannot say it did is closed (which
    releases it) rather than returned to the pool still holding it."""
    try:
        if await conn.fetchval("SELECT dueprocess_unlock_subject($1)", subject_id):
            return
    except BaseException:
        conn.terminate()
        raise
    conn.terminate()
