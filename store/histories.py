"""What a runner's projections read, read and decoded once: the log's tail, and the recent
streams' histories.

A projection re-folds each stream its batch touches (the domain's one fold), so without
these it would decrypt each event once per projection for the batch, and then the stream's
whole history again at every batch that touches it: the cost of an event grew with its
case's length and with the number of projections. Both hold only what the log holds for
good: the gapless tail never changes once read (``EventReader.read_all``), and a stream's
events up to a version never change; so a cached answer is the answer the store would give.

Decrypted values are held for at most ``max_age`` seconds from their reading (an erasure
destroys a key; a projection then reads the stream again within ``max_age``), and only
ids leave through the read models.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from ..domain.envelope import Position, RecordedEvent
from .reader import EventReader

# Decrypted events are held this long at most (see the module doc).
MAX_AGE_SECONDS = 60.0

S = TypeVar("S")


def _key(position: Position) -> tuple[int, int]:
    return (position.tx_id, position.global_position)


class Tail:
    """The committed tail of the log after some position, decoded once and served to every
    projection whose checkpoint falls in it (one contiguous run of the global order)."""

    def __init__(
        self, store: EventReader, *, capacity: int = 2000, max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._max_age = max_age
        self._clock = clock
        self._base = (0, 0)  # the position just before _events[0]
        self._events: list[RecordedEvent] = []
        self._keys: list[tuple[int, int]] = []
        self._loaded_at = clock()
        # The store is asked once for what several projections want: the second waits for
        # the first's read and finds it here.
        self._lock = asyncio.Lock()

    async def read(self, after: Position, limit: int) -> list[RecordedEvent]:
        """What ``store.read_all(after, limit=limit)`` returns."""
        async with self._lock:
            at = _key(after)
            if at < self._base:  # a reader far behind: read for it alone, keep the rest
                return await self._store.read_all(after, limit=limit)
            if self._clock() - self._loaded_at > self._max_age or \
                    at > (self._keys[-1] if self._keys else self._base):
                self._reset(at)
            start = bisect_right(self._keys, at)
            if len(self._events) - start < limit:
                last = Position(tx_id=self._keys[-1][0], global_position=self._keys[-1][1]) \
                    if self._keys else after
                self._extend(await self._store.read_all(last, limit=limit), start)
                start = bisect_right(self._keys, at)
            return self._events[start:start + limit]

    def _reset(self, at: tuple[int, int]) -> None:
        self._base, self._events, self._keys, self._loaded_at = at, [], [], self._clock()

    def _extend(self, events: Sequence[RecordedEvent], keep: int) -> None:
        """Append what was read; beyond ``capacity``, drop the oldest, never the reader's
        (from index ``keep`` on)."""
        self._events.extend(events)
        self._keys.extend(_key(e.position) for e in events)
        if (excess := min(len(self._events) - self._capacity, keep)) > 0:
            self._base = self._keys[excess - 1]
            del self._events[:excess], self._keys[:excess]


class _Entry:
    __slots__ = ("events", "loaded_at")

    def __init__(self, events: list[RecordedEvent], loaded_at: float) -> None:
        self.events = events  # versions 1..len(events), no gap
        self.loaded_at = loaded_at


class StreamHistories:
    """Streams' histories from version 1, for the projections of one runner: a stream is
    read from the store once, then grows with the batches that touch it. Bounded: at most
    ``max_events`` events (least recently used streams go first), none older than
    ``max_age`` seconds."""

    def __init__(
        self, *, max_events: int = 10_000, max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._held = 0
        self._max_events = max_events
        self._max_age = max_age
        self._clock = clock
        self._swept = clock()

    async def read(
        self, store: EventReader, upto: Mapping[str, int],
        batch: Sequence[RecordedEvent] = (),
    ) -> dict[str, list[RecordedEvent]]:
        """Each stream of ``upto`` from version 1 to its version there: what
        ``store.read_stream(stream, to_version=v)`` returns. ``batch``: events just read
        (the projection's batch), used instead of reading them again."""
        now = self._clock()
        self._expire(now)
        for event in batch:
            self._add(event.stream_id, [event], event.stream_version, now)
        found: dict[str, list[RecordedEvent]] = {}
        missing: list[tuple[str, int, int]] = []
        for stream_id, version in upto.items():
            entry = self._fresh(stream_id, now)
            have = len(entry.events) if entry else 0
            if have >= version:
                found[stream_id] = entry.events[:version] if entry else []
                self._entries.move_to_end(stream_id)
            else:
                missing.append((stream_id, have + 1, version))
        read: dict[str, list[RecordedEvent]] = {}
        for event in await store.read_ranges(missing):
            read.setdefault(event.stream_id, []).append(event)
        for stream_id, first, version in missing:
            events = read.get(stream_id, [])
            self._add(stream_id, events, first, now)
            entry = self._entries.get(stream_id)
            found[stream_id] = entry.events[:version] if entry and len(
                entry.events) >= version else [*self._prefix(stream_id, first), *events]
        self._evict()
        return found

    def _prefix(self, stream_id: str, first: int) -> list[RecordedEvent]:
        entry = self._entries.get(stream_id)
        return entry.events[:first - 1] if entry else []

    def _add(self, stream_id: str, events: list[RecordedEvent], first: int, now: float) -> None:
        """Extend the stream's history with ``events`` (versions ``first``...) if they follow
        on from what is held; a stream not held starts only at version 1."""
        if not events or events[0].stream_version != first:
            return
        entry = self._fresh(stream_id, now)
        if entry is None and first == 1:
            entry = self._entries[stream_id] = _Entry([], now)
        if entry is None or len(entry.events) != first - 1:
            return
        entry.events.extend(events)
        self._held += len(events)
        self._entries.move_to_end(stream_id)

    def _fresh(self, stream_id: str, now: float) -> _Entry | None:
        entry = self._entries.get(stream_id)
        if entry is not None and now - entry.loaded_at > self._max_age:
            self._held -= len(self._entries.pop(stream_id).events)
            return None
        return entry

    def _expire(self, now: float) -> None:
        if now - self._swept <= self._max_age / 4:  # a sweep now and then, not every read
            return
        self._swept = now
        for stream_id in [s for s, e in self._entries.items()
                          if now - e.loaded_at > self._max_age]:
            self._held -= len(self._entries.pop(stream_id).events)

    def _evict(self) -> None:
        while self._held > self._max_events and self._entries:
            _, entry = self._entries.popitem(last=False)
            self._held -= len(entry.events)


class Folds(Generic[S]):
    """Per stream, a fold of its first n events, carried on as the stream grows: each event
    is folded once (``step``, the domain's fold), not once per batch that touches its
    stream. The last few versions' folds are kept, so projections a few batches apart can
    share one. Bounded as ``StreamHistories`` is (streams, age)."""

    def __init__(
        self, start: Callable[[str], S], step: Callable[[S, RecordedEvent], S], *,
        max_streams: int = 2000, max_age: float = MAX_AGE_SECONDS, keep: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._start = start
        self._step = step
        # stream -> (when first folded, [(version, fold)] oldest first)
        self._entries: OrderedDict[str, tuple[float, list[tuple[int, S]]]] = OrderedDict()
        self._max_streams = max_streams
        self._max_age = max_age
        self._keep = keep
        self._clock = clock
        self._swept = clock()

    def fold(self, stream_id: str, history: Sequence[RecordedEvent]) -> S:
        """The fold of ``history`` (the stream from version 1, no gap)."""
        now = self._clock()
        if now - self._swept > self._max_age / 4:  # drop what nothing asked for lately
            self._swept = now
            for old in [k for k, (t, _) in self._entries.items() if now - t > self._max_age]:
                del self._entries[old]
        since, held = self._entries.get(stream_id) or (now, [])
        if now - since > self._max_age:
            since, held = now, []
        best = max(((n, v) for n, v in held if n <= len(history)),
                   key=lambda nv: nv[0], default=None)
        # The empty fold only when nothing held fits: made eagerly (as ``max``'s default)
        # it cost an empty CaseState (0.4 ms, pydantic copies its defaults) on every call.
        folded, value = best if best is not None else (0, self._start(stream_id))
        for event in history[folded:]:
            value = self._step(value, event)
        if all(n != len(history) for n, _ in held):
            held = sorted([*held, (len(history), value)], key=lambda nv: nv[0])[-self._keep:]
        self._entries[stream_id] = (since, held)
        self._entries.move_to_end(stream_id)
        while len(self._entries) > self._max_streams:
            self._entries.popitem(last=False)
        return value
