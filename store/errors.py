"""The event store's errors (``error_type`` is the stable name that crosses Temporal), the
mapping of unique violations to them by constraint name, and the signals an append
retries on (internal to the store)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from ..domain.base import DomainError


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


def map_violation(
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


class StaleHead(Exception):
    """The cached head hash was not the stream's: refresh it and try again."""


class KeyRace(Exception):
    """Another process created the first key of a subject this batch was sealed under a
    new key for (or the batch may be a retry sealed under such a key): look the keys up
    again, re-seal, retry."""


class KeysDestroyed(Exception):
    """A key the batch was sealed under has been erased (by another process, whose erasure
    this store's key cache did not see): drop it, fetch the live key, re-seal, retry."""

    def __init__(self, key_ids: set[int]) -> None:
        super().__init__(f"subject key(s) {sorted(key_ids)} destroyed")
        self.key_ids = key_ids


def destroyed_key_ids(err: asyncpg.UniqueViolationError) -> set[int]:
    detail = getattr(err, "detail", None) or ""
    try:
        return {int(part) for part in detail.split(",") if part.strip()}
    except ValueError:
        return set()


# The constraints a key created by the append can meet when another process won.
_KEY_CONSTRAINTS = frozenset({"subject_keys_one_live_key", "subject_keys_pkey"})


def append_signal(err: asyncpg.UniqueViolationError) -> Exception | None:
    """What a unique violation raised by dueprocess_append means: a signal the append
    retries on, an erased subject (never retried), or None (not one of these: re-raise)."""
    if err.constraint_name == "streams_head_hash":
        return StaleHead()
    if err.constraint_name == "subject_keys_destroyed":
        return KeysDestroyed(destroyed_key_ids(err))
    if err.constraint_name == "subject_erased":
        detail = getattr(err, "detail", None) or ""
        return ErasedSubject([s for s in detail.split(",") if s])
    if err.constraint_name in _KEY_CONSTRAINTS:
        return KeyRace()
    return None


class UnreadableEvent(EventStoreError):
    """Stored data this code cannot read: an event that does not parse, decrypt, upcast or
    fit its model (written by another version, or altered). Readers report it as a finding
    naming the event, never as a traceback; ``verify`` says whether it was tampered with."""

    error_type = "UnreadableStoredData"

    def __init__(self, reason: str, *, stream_id: str | None = None,
                 stream_version: int | None = None, event_id: str | None = None) -> None:
        where = (f"stored event {stream_id} v{stream_version}" if stream_id
                 else "stored data")
        super().__init__(f"{where}{f' ({event_id})' if event_id else ''} cannot be read: "
                         f"{reason}")
        self.stream_id = stream_id
        self.stream_version = stream_version
        self.event_id = event_id


def reason(err: BaseException) -> str:
    """One line for an error met reading stored data (a validation error's first lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {'; '.join(lines[:3]) or 'no detail'}"


# What reading and folding stored events raises when their shape is not one this code
# reads; the store's own typed errors (and a key not given, a configuration matter) pass.
ODD_DATA = (ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeError)


@contextmanager
def stored_data(what: str) -> Iterator[None]:
    """Errors met while folding or rendering stored events, as ``UnreadableEvent``."""
    try:
        yield
    except (EventStoreError, DomainError):  # typed already; a rejection is no odd data
        raise
    except ODD_DATA as err:
        raise UnreadableEvent(f"{what}: {reason(err)}") from err
