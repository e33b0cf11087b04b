"""The PostgreSQL event store: the system of record for every case and member.

Guarantees (each has a contract test in tests/store/test_eventstore.py):
- optimistic concurrency per stream: a stale expected version raises ConcurrencyConflict;
- idempotent by event id: the same batch again returns the stored positions; the same id
  with other content raises EventIdConflict;
- a gapless global order: ``read_all(after)`` never skips a committed event even with
  many concurrent writers, without a table lock (see migration 0001);
- a per-stream hash chain over the stored bytes (see store/verify.py);
- personal data encrypted per data subject; erasure destroys the key.

Reading: reader.py (EventReader); stored form: documents.py; group commit: group_commit.py.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from ..domain.case.upcasters import CASE_UPCASTERS
from ..domain.encoding import Upcasters
from ..domain.envelope import AppendResult, NewEvent
from . import crypto, outbox
from .db import Connection, Database, Pinned
from .documents import (
    BatchKeys,
    batch_documents,
    batch_people,
    envelope_bytes,
    envelope_document,
    refused_batch,
    stored_as_v1,
    stored_batch,
)
from .erasure import Erasure, unlock_subject
from .errors import (
    ConcurrencyConflict,
    ErasedSubject,
    EventIdConflict,
    EventStoreError,
    KeyRace,
    KeysDestroyed,
    StaleHead,
    append_signal,
    map_violation,
)
from .group_commit import Batch, GroupCommit
from .head_append import append_at_head
from .outbox import Notices
from .reader import EventReader

# Re-exported: callers import the store's errors and stored form from here.
__all__ = ["ConcurrencyConflict", "ErasedSubject", "EventIdConflict", "EventReader", "EventStore",
           "EventStoreError", "envelope_bytes", "envelope_document"]

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
# A stale head is refreshed at most this often per append (a second: a stream created
# between the lookup and the append).
_HEAD_REFRESHES = 2
# Keys re-resolved at most this often per append: a key erased, or a subject's first key
# created by another process, while the batch was being appended.
_KEY_REFRESHES = 2


class EventStore(EventReader):
    def __init__(self, pool: Database, *, upcasters: Upcasters = CASE_UPCASTERS,
                 key_cache_seconds: float = 30.0,
                 key_wrap: crypto.KeyWrap = crypto.NO_KEY_WRAP,
                 group: GroupCommit | None = None) -> None:
        super().__init__(pool, upcasters=upcasters, key_wrap=key_wrap)
        self._key_cache_seconds = key_cache_seconds
        # Write keys only: reads always fetch keys (an erased subject is never decrypted).
        self._write_keys: dict[str, tuple[float, crypto.SubjectKey]] = {}
        # Last known (version, head hash) of streams this store wrote or read the head of:
        # saves a read per append for the single writer of a stream (a case workflow).
        # Only facts go in: a head read from the streams row, or a chain this store
        # computed from a head known to be at the version it appended at.
        self._heads: dict[str, tuple[int, bytes]] = {}
        # Key ids reserved by a lookup and not yet used (see _LOOKUP).
        self._spare_key_ids: list[int] = []
        self._group = group or GroupCommit(pool)

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent],
        notices: Notices | None = None,
    ) -> AppendResult:
        """``notices``: outbox rows queued with the batch (store/outbox.py)."""
        if expected_version < 0:
            raise ValueError("expected_version: must be >= 0 (0 means a new stream)")
        found = [crypto.personal_nodes(e.payload) for e in events]
        subjects = crypto.batch_subjects(found)
        people = batch_people(events, found)  # for the person index (migration 0013)
        keys, prev, trusted = await self._prepare(stream_id, expected_version, subjects)
        docs = batch_documents(stream_id, expected_version, events, found, keys.sealing)
        head_refreshes = key_refreshes = 0
        # Every attempt maps unique violations the same way; only a stale head hash and
        # keys that changed underneath (erased, or first created elsewhere) are retried,
        # each a bounded number of times.
        while True:
            try:
                rows, queued = await self._append_chained(
                    stream_id, expected_version, prev, trusted, events, docs, keys, people,
                    notices)
                break
            except StaleHead as err:
                self._heads.pop(stream_id, None)
                head_refreshes += 1
                if head_refreshes > _HEAD_REFRESHES:
                    raise EventStoreError(
                        f"stream {stream_id!r}: the stored head hash does not match the "
                        "head read back; run verify; nothing was written"
                    ) from err
                _, prev, trusted = await self._prepare(stream_id, expected_version, set())
                continue
            except KeysDestroyed as err:
                for subject, key in keys.sealing.items():
                    if key.key_id in err.key_ids or not err.key_ids:
                        self._write_keys.pop(subject, None)
                cause: Exception = err
            except KeyRace as err:
                cause = err
            except asyncpg.UniqueViolationError as err:
                stored = await stored_batch(self._pool, stream_id, events, docs) or await \
                    stored_as_v1(self._pool, stream_id, expected_version, events, keys.sealing)
                if stored is not None:
                    rows, queued = stored, False
                    break
                # Sealed under keys made for this batch, it cannot equal a copy stored by
                # an earlier attempt that was still in flight when this one looked keys up
                # (that copy is sealed under the keys that won): look once more.
                if not (keys.new and err.constraint_name == "events_event_id_key"
                        and key_refreshes == 0):
                    raise map_violation(err, stream_id, expected_version) from err
                cause = err
            key_refreshes += 1
            if key_refreshes > _KEY_REFRESHES:
                raise EventStoreError(
                    f"stream {stream_id!r}: the keys of this batch's data subjects kept "
                    "changing while it was being appended (erased, or created by another "
                    "process); nothing was written"
                ) from cause
            keys, prev, trusted = await self._prepare(stream_id, expected_version, subjects)
            docs = batch_documents(stream_id, expected_version, events, found, keys.sealing)
        if notices is not None and rows and not queued:  # a batch stored before: a retry
            await outbox.queue(self._pool, notices)
        version = rows[-1]["stream_version"] if rows else expected_version
        return AppendResult(
            stream_id=stream_id, version=version,
            global_positions=[r["global_position"] for r in rows],
        )

    async def _append_chained(
        self, stream_id: str, expected: int, prev: bytes, trusted: bool,
        events: Sequence[NewEvent], docs: list[bytes], keys: BatchKeys, people: list[str],
        notices: Notices | None,
    ) -> tuple[list[asyncpg.Record], bool]:
        """dueprocess_append, and on refusal dueprocess_append_refusal to learn why; and
        whether the statement queued ``notices`` (it does when it writes the batch: alone).
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
            batch = Batch(
                stream_id, expected, prev, ids, [e.event_type for e in events], docs, hashes,
                key_ids, [key.key_id for _, key in new], [subject for subject, _ in new],
                [self._key_wrap.wrap(key.key_id, subject, key.material) for subject, key in new],
                people)
            rows = await self._group.append(batch, notices) if docs else []
            if not rows:  # refused (or an empty batch, which only checks the version)
                return await refused_batch(self._pool, batch, events, keys.sealing), False
        except asyncpg.UniqueViolationError as err:
            signal = append_signal(err)
            if signal is None:
                raise
            raise signal from err
        now = time.monotonic()
        for subject, key in new:  # written with the events: live keys from now on
            self._write_keys[subject] = (now, key)
        if trusted and rows[-1]["stream_version"] == expected + len(docs):
            self._remember_head(stream_id, expected + len(docs), hashes[-1])
        return list(rows), True

    def _remember_head(self, stream_id: str, version: int, head: bytes) -> None:
        if stream_id not in self._heads and len(self._heads) >= _HEAD_CACHE_SIZE:
            self._heads.pop(next(iter(self._heads)))
        self._heads[stream_id] = (version, head)

    async def append_at_head(
        self, stream_id: str, events: Sequence[NewEvent], attempts: int = 20
    ) -> AppendResult:
        """Append wherever the stream's head is (see head_append.py)."""
        return await append_at_head(self, stream_id, events, attempts)

    async def _prepare(
        self, stream_id: str, expected: int, subjects: set[str]
    ) -> tuple[BatchKeys, bytes, bool]:
        """The keys to seal under (a subject without a live key gets a new one, which the
        append creates), the hash the batch chains from, and whether that hash is known to
        be the head at ``expected``. All usually come from memory; whatever is missing
        comes in ONE read-only query (_LOOKUP)."""
        now = time.monotonic()
        keys = BatchKeys()
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
                yield Erasure(self, self.pinned(conn), conn, subject_id)
            finally:
                await unlock_subject(conn, subject_id)

    def pinned(self, conn: Connection) -> EventStore:
        """This store (same upcasters and key wrapping) on one connection."""
        return EventStore(Pinned(conn), upcasters=self._upcasters, key_wrap=self._key_wrap,
                          key_cache_seconds=self._key_cache_seconds)

    def forget_key(self, subject_id: str) -> None:
        """Drop a cached write key (its subject is being erased)."""
        self._write_keys.pop(subject_id, None)
