"""Subject keys for sealing outside the store (store/keyring.py, migration 0013), used as
the application role uses them."""

from __future__ import annotations

import os

import asyncpg
import pytest
from dueprocess.store import crypto
from dueprocess.store.db import Pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.keyring import SubjectKeyring
from fixtures.events import ev, pii


async def test_a_key_made_before_any_event_is_the_one_the_append_uses(app_pool: Pool) -> None:
    wrap = crypto.KeyWrap((os.urandom(32),))
    keyring = SubjectKeyring(app_pool, wrap)
    # Given a subject keyed before anything about them is recorded (and again: the same)
    first = (await keyring.sealing_keys(["p-1"]))["p-1"]
    assert first is not None and (await keyring.sealing_keys(["p-1"]))["p-1"] == first
    # When an event about them is appended, it is sealed under that key (no second key)
    store = EventStore(app_pool, key_wrap=wrap)
    await store.append("s", 0, [ev(payload={"who": pii("p-1", "Ada")})])
    assert await app_pool.fetchval(
        "SELECT count(*) FROM subject_keys WHERE subject_id = 'p-1'") == 1
    assert (await keyring.opening_keys([first[0]]))[first[0]] == first[1]
    # Then erasure destroys it: nothing opens, and the subject gets no new key
    assert await store.erase_subject("p-1") == 1
    assert await keyring.opening_keys([first[0]]) == {first[0]: None}
    assert await keyring.sealing_keys(["p-1", "p-2"]) == {
        "p-1": None, "p-2": (await keyring.sealing_keys(["p-2"]))["p-2"]}


async def test_an_erased_subject_never_keyed_gets_no_key(app_pool: Pool) -> None:
    store = EventStore(app_pool)
    await store.erase_subject("p-3")  # a tombstone: erased before any record named them
    assert await SubjectKeyring(app_pool).sealing_keys(["p-3"]) == {"p-3": None}
    with pytest.raises(asyncpg.UniqueViolationError):
        await app_pool.fetch("SELECT * FROM dueprocess_subject_key('p-3', 999, '\\x00')")
