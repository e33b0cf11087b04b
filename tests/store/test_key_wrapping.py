"""Subject keys wrapped by a key-encryption key (KEK) held outside the database (0009):
the database alone no longer reveals personal data, keys stored before still read,
`keys wrap` moves them (and keys of a retired KEK) under the current one, and a key that
cannot be unwrapped is an error, never shown as erased."""

from __future__ import annotations

import os
from typing import Any, cast

import asyncpg
import pytest
from dueprocess.store import crypto
from dueprocess.store.eventstore import EventStore
from dueprocess.store.keys import WrapResult, key_status, wrap_keys
from dueprocess.store.verify import verify_store
from fixtures.events import ev, pii

OLD, NEW = os.urandom(32), os.urandom(32)


async def _stored_key(pool: asyncpg.Pool, subject: str) -> bytes:
    material = await pool.fetchval(
        "SELECT key_material FROM subject_keys WHERE subject_id = $1 AND destroyed_at IS NULL",
        subject)
    assert material is not None
    return bytes(material)


async def _append_about(store: EventStore, stream: str, subject: str, value: str) -> None:
    await store.append(stream, 0, [ev(payload={"who": pii(subject, value)})])


async def _verified(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return (await verify_store(conn)).ok


async def _value(store: EventStore, stream: str) -> str:
    [event] = await store.read_stream(stream)
    value: str = event.payload["who"]["value"]
    return value


# -- the wrapping itself ---------------------------------------------------------------------


def test_a_wrapped_key_opens_only_for_its_own_row_and_kek() -> None:
    wrap = crypto.KeyWrap((NEW,))
    key = crypto.new_key()
    stored = wrap.wrap(7, "p-1", key)
    assert crypto.is_wrapped(stored) and key not in stored
    assert len(stored) == crypto.WRAPPED_LENGTH
    assert wrap.unwrap(7, "p-1", stored) == key
    for key_id, subject in ((8, "p-1"), (7, "p-2")):  # copied onto another row
        with pytest.raises(crypto.KeyUnavailable, match="altered or moved"):
            wrap.unwrap(key_id, subject, stored)
    with pytest.raises(crypto.KeyUnavailable, match="DUEPROCESS_KEY_ENCRYPTION_KEYS"):
        crypto.KeyWrap((OLD,)).unwrap(7, "p-1", stored)
    with pytest.raises(crypto.KeyUnavailable, match="was not given"):
        crypto.NO_KEY_WRAP.unwrap(7, "p-1", stored)


def test_a_kek_being_rolled_out_unwraps_before_anything_wraps() -> None:
    rolling = crypto.KeyWrap((NEW,), wrap_new=False)
    key = crypto.new_key()
    assert rolling.wrap(1, "p", key) == key and rolling.current is None
    assert rolling.unwrap(1, "p", crypto.KeyWrap((NEW,)).wrap(1, "p", key)) == key
    assert not rolling.needs_wrapping(key)


def test_keys_in_clear_stay_readable_and_the_first_kek_wraps() -> None:
    key = crypto.new_key()
    assert crypto.NO_KEY_WRAP.wrap(1, "p", key) == key  # no KEK: stored as before 0009
    rotated = crypto.KeyWrap((NEW, OLD))
    assert rotated.unwrap(1, "p", key) == key
    by_old = crypto.KeyWrap((OLD,)).wrap(1, "p", key)
    assert rotated.unwrap(1, "p", by_old) == key
    assert rotated.needs_wrapping(key) and rotated.needs_wrapping(by_old)
    assert not rotated.needs_wrapping(rotated.wrap(1, "p", key))
    assert not crypto.NO_KEY_WRAP.needs_wrapping(key)
    assert rotated.current == crypto.kek_fingerprint(NEW).hex()


# -- in the store ----------------------------------------------------------------------------


async def test_keys_created_with_a_kek_are_stored_wrapped_and_read_back(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool, key_wrap=crypto.KeyWrap((NEW,)))
    await _append_about(store, "s", "p-1", "Ada Lovelace")
    stored = await _stored_key(pool, "p-1")
    assert crypto.is_wrapped(stored)
    assert stored[4:12] == crypto.kek_fingerprint(NEW)
    reader = EventStore(pool, key_wrap=crypto.KeyWrap((NEW,)))
    assert await _value(reader, "s") == "Ada Lovelace"
    # The same key, unwrapped, seals the subject's next events (from the lookup too).
    later = EventStore(pool, key_wrap=crypto.KeyWrap((NEW,)))
    await later.append("s", 1, [ev(payload={"who": pii("p-1", "Ada again")})])
    assert await pool.fetchval("SELECT count(*) FROM subject_keys") == 1
    assert await _verified(pool)


async def test_a_key_that_cannot_be_unwrapped_is_an_error_not_an_erasure(
    pool: asyncpg.Pool,
) -> None:
    await _append_about(EventStore(pool, key_wrap=crypto.KeyWrap((NEW,))), "s", "p-1", "Ada")
    for wrap in (crypto.NO_KEY_WRAP, crypto.KeyWrap((OLD,))):
        with pytest.raises(crypto.KeyUnavailable):
            await EventStore(pool, key_wrap=wrap).read_stream("s")
        with pytest.raises(crypto.KeyUnavailable):  # nor sealed under: nothing written
            await EventStore(pool, key_wrap=wrap).append(
                "s", 1, [ev(payload={"who": pii("p-1", "Ada")})])
    assert await pool.fetchval("SELECT count(*) FROM events") == 1


async def test_keys_wrap_moves_clear_and_retired_keys_under_the_current_kek(
    pool: asyncpg.Pool,
) -> None:
    await _append_about(EventStore(pool), "clear", "p-clear", "stored before 0009")
    await _append_about(EventStore(pool, key_wrap=crypto.KeyWrap((OLD,))), "old", "p-old",
                        "wrapped by a KEK being retired")
    await _append_about(EventStore(pool), "gone", "p-gone", "erased")
    await EventStore(pool).erase_subject("p-gone")
    rotated = crypto.KeyWrap((NEW, OLD))
    before = await key_status(pool, rotated)
    assert (before.live_in_clear, before.destroyed, before.needing_wrap) == (1, 1, 2)
    assert before.live_wrapped == {crypto.kek_fingerprint(OLD).hex(): 1}

    assert await wrap_keys(pool, rotated) == WrapResult(wrapped=2, failed={})
    assert (await wrap_keys(pool, rotated)).wrapped == 0  # re-run: nothing left
    after = await key_status(pool, rotated)
    assert after.needing_wrap == 0 and after.live_in_clear == 0 and after.destroyed == 1
    assert after.live_wrapped == {crypto.kek_fingerprint(NEW).hex(): 2}
    # Only the new KEK is needed from now on; the data reads back, erased stays erased.
    only_new = EventStore(pool, key_wrap=crypto.KeyWrap((NEW,)))
    assert await _value(only_new, "clear") == "stored before 0009"
    assert await _value(only_new, "old") == "wrapped by a KEK being retired"
    [gone] = await only_new.read_stream("gone")
    assert gone.payload["who"]["erased"] is True
    assert await _verified(pool)


async def test_keys_wrap_needs_a_kek(pool: asyncpg.Pool) -> None:
    with pytest.raises(crypto.KeyUnavailable, match="DUEPROCESS_KEY_ENCRYPTION_KEYS"):
        await wrap_keys(pool, crypto.NO_KEY_WRAP)


async def test_a_live_key_may_only_be_wrapped_or_destroyed(pool: asyncpg.Pool) -> None:
    await _append_about(EventStore(pool), "s", "p-1", "Ada")
    clear = await _stored_key(pool, "p-1")
    key_id = await pool.fetchval("SELECT key_id FROM subject_keys")
    update = "UPDATE subject_keys SET key_material = $2 WHERE key_id = $1"
    # Replacing a key by another in clear would re-key (and so erase) data silently.
    for refused in (os.urandom(32), b"dpw1" + os.urandom(10), clear + b"x",
                    b"dpw2" + os.urandom(crypto.WRAPPED_LENGTH - 4)):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="wrapped or destroyed"):
            await pool.execute(update, key_id, refused)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("UPDATE subject_keys SET subject_id = 'p-2', key_material = $2 "
                           "WHERE key_id = $1", key_id,
                           crypto.KeyWrap((NEW,)).wrap(key_id, "p-2", clear))
    wrapped = crypto.KeyWrap((NEW,)).wrap(key_id, "p-1", clear)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the row's history is fixed
        await pool.execute("UPDATE subject_keys SET key_material = $2, created_at = now() "
                           "- interval '1 day' WHERE key_id = $1", key_id, wrapped)
    await pool.execute(update, key_id, wrapped)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # never back to clear
        await pool.execute(update, key_id, clear)
    assert await _value(EventStore(pool, key_wrap=crypto.KeyWrap((NEW,))), "s") == "Ada"


async def test_a_key_that_does_not_unwrap_is_reported_and_the_rest_are_wrapped(
    pool: asyncpg.Pool,
) -> None:
    await _append_about(EventStore(pool, key_wrap=crypto.KeyWrap((OLD,))), "a", "p-a", "A")
    await _append_about(EventStore(pool), "b", "p-b", "B")
    lost_kek = await pool.fetchval("SELECT key_id FROM subject_keys WHERE subject_id = 'p-a'")
    result = await wrap_keys(pool, crypto.KeyWrap((NEW,)))  # OLD is not listed
    assert result.wrapped == 1 and list(result.failed) == [lost_kek]
    assert "was not given" in result.failed[lost_kek]
    status = await key_status(pool, crypto.KeyWrap((NEW,)))
    assert status.needing_wrap == 1 and status.live_in_clear == 0


async def test_an_erasure_during_wrapping_wins(pool: asyncpg.Pool) -> None:
    await _append_about(EventStore(pool), "s", "p-1", "Ada")

    class ErasedMeanwhile:
        """Erases the subject between wrap_keys reading the key and writing it back."""

        def fetch(self, *args: Any) -> Any:
            return pool.fetch(*args)

        async def fetchval(self, *args: Any) -> Any:  # the write: dueprocess_wrap_key
            await EventStore(pool).erase_subject("p-1")
            return await pool.fetchval(*args)

    result = await wrap_keys(cast(asyncpg.Pool, ErasedMeanwhile()), crypto.KeyWrap((NEW,)))
    assert result == WrapResult(wrapped=0, failed={})
    row = await pool.fetchrow("SELECT key_material, destroyed_at FROM subject_keys")
    assert row is not None and row["key_material"] is None and row["destroyed_at"] is not None


async def test_an_erased_key_cannot_come_back_wrapped(pool: asyncpg.Pool) -> None:
    await _append_about(EventStore(pool), "s", "p-1", "Ada")
    row = await pool.fetchrow("SELECT key_id, key_material FROM subject_keys")
    assert row is not None
    key_id, clear = row
    await EventStore(pool).erase_subject("p-1")
    wrapped = crypto.KeyWrap((NEW,)).wrap(key_id, "p-1", bytes(clear))
    for sql in ("UPDATE subject_keys SET key_material = $2 WHERE key_id = $1",
                "UPDATE subject_keys SET key_material = $2, destroyed_at = NULL "
                "WHERE key_id = $1"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute(sql, key_id, wrapped)
    [event] = await EventStore(pool).read_stream("s")
    assert event.payload["who"]["erased"] is True
