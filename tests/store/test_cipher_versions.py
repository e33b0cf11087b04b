"""Cipher versions of sealed personal values: new events use AES-GCM-SIV (version 2), events
sealed before (version 1: HMAC nonce + AES-GCM) stay readable, retryable and erasable."""

from __future__ import annotations

import base64
import functools
from typing import Any

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag
from dueprocess.store import crypto, eventstore
from dueprocess.store.documents import batch_documents
from dueprocess.store.eventstore import EventStore
from dueprocess.store.verify import verify_store
from fixtures.events import ev, pii

# Sealed by the version-1 code (before AES-GCM-SIV) under key 7 = bytes(range(32)), event
# 0b6f7c5e-...: checked in as bytes, so a change that stops reading them fails here.
V1_EVENT = "0b6f7c5e-8d1b-4a8e-9e4f-0f2f1b9f6b2a"
V1_MATERIAL = bytes(range(32))
V1_PAYLOAD: dict[str, Any] = {
    "who": {"pii": True, "subject_id": "p-1", "key_id": 7,
            "ct": "FPc94Jk/elQVLQQzAGE+ciGuDSVH5vy+GXSiaIbCuOzQ2zSjMR1p7A=="},
    "list": [{"pii": True, "subject_id": "p-1", "key_id": 7,
              "ct": "WDby9JLaXLh8HD3aJ5/mdaM3iN+/otDKIvTJdsFNDgtzR+bnYd297NB9rA=="}],
    "rule": "R2",
}
PLAIN: dict[str, Any] = {"who": pii("p-1", "Ada Lovelace"),
                         "list": [pii("p-1", "ada@example.org")], "rule": "R2"}


def test_a_value_sealed_with_version_1_still_opens() -> None:
    opened = crypto.unseal(V1_PAYLOAD, V1_EVENT, {7: V1_MATERIAL})
    assert opened["who"]["value"] == "Ada Lovelace"
    assert opened["list"][0]["value"] == "ada@example.org"


def test_version_1_sealing_is_still_byte_identical_for_retries() -> None:
    key = crypto.SubjectKey(7, V1_MATERIAL)
    assert crypto.seal(PLAIN, V1_EVENT, {"p-1": key}, crypto.CIPHER_GCM_HMAC_NONCE) == V1_PAYLOAD


def test_new_values_are_tagged_version_2_and_deterministic() -> None:
    key = crypto.SubjectKey(7, V1_MATERIAL)
    sealed = crypto.seal(PLAIN, V1_EVENT, {"p-1": key})
    assert sealed["who"]["cv"] == crypto.CIPHER_GCM_SIV == crypto.CIPHER
    # No stored nonce (derived from the AAD): just the ciphertext and the 16-byte tag.
    assert len(base64.b64decode(sealed["who"]["ct"])) == len(b"Ada Lovelace") + 16
    assert crypto.seal(PLAIN, V1_EVENT, {"p-1": key}) == sealed  # a retry: same bytes
    assert crypto.unseal(sealed, V1_EVENT, {7: V1_MATERIAL})["who"]["value"] == "Ada Lovelace"


def test_a_version_label_changed_or_removed_does_not_open() -> None:
    key = crypto.SubjectKey(7, V1_MATERIAL)
    sealed = crypto.seal(PLAIN, V1_EVENT, {"p-1": key})
    relabelled = dict(sealed, who={k: v for k, v in sealed["who"].items() if k != "cv"})
    with pytest.raises(InvalidTag):
        crypto.unseal(relabelled, V1_EVENT, {7: V1_MATERIAL})
    downgraded = dict(V1_PAYLOAD, who=dict(V1_PAYLOAD["who"], cv=2))
    with pytest.raises(InvalidTag):
        crypto.unseal(downgraded, V1_EVENT, {7: V1_MATERIAL})
    with pytest.raises(ValueError, match="cipher version"):
        crypto.unseal(dict(sealed, who=dict(sealed["who"], cv=9)), V1_EVENT, {7: V1_MATERIAL})


def test_a_destroyed_key_redacts_both_versions() -> None:
    key = crypto.SubjectKey(7, V1_MATERIAL)
    v2 = crypto.seal(PLAIN, V1_EVENT, {"p-1": key})
    for payload in (V1_PAYLOAD, v2):
        opened = crypto.unseal(payload, V1_EVENT, {7: None})
        assert opened["who"] == {"pii": True, "subject_id": "p-1", "value": None,
                                 "erased": True}


@pytest.fixture
def older_worker(monkeypatch: pytest.MonkeyPatch) -> Any:
    """While active, the store seals with version 1, as a worker from before this change."""

    def use_v1() -> None:
        monkeypatch.setattr(eventstore, "batch_documents", functools.partial(
            batch_documents, cipher=crypto.CIPHER_GCM_HMAC_NONCE))

    return use_v1


async def test_a_stream_of_both_versions_reads_verifies_and_erases(
    store: EventStore, pool: asyncpg.Pool, older_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    older_worker()
    await store.append("s", 0, [ev(payload={"name": pii("p-1", "Jane")})])
    monkeypatch.undo()
    await store.append("s", 1, [ev(payload={"name": pii("p-1", "Jane again")})])
    raw = [bytes(r["data"]) for r in await pool.fetch(
        "SELECT data FROM events ORDER BY global_position")]
    assert b'"cv"' not in raw[0] and b'"cv":2' in raw[1]
    assert [e.payload["name"]["value"] for e in await store.read_stream("s")] == [
        "Jane", "Jane again"]
    await store.erase_subject("p-1")
    assert [e.payload["name"] for e in await store.read_stream("s")] == [
        {"pii": True, "subject_id": "p-1", "value": None, "erased": True}] * 2
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


async def test_a_retry_of_a_batch_an_older_worker_stored_returns_its_positions(
    store: EventStore, older_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = [ev(payload={"who": pii("p-1", "Ada")}), ev()]
    older_worker()
    first = await store.append("s", 0, batch)
    monkeypatch.undo()
    # At the head (the ids collide), and after the stream moved on (the append refuses).
    assert (await EventStore(store._pool).append("s", 0, batch)).global_positions == \
        first.global_positions
    await store.append("s", 2, [ev()])
    assert (await EventStore(store._pool).append("s", 0, batch)).global_positions == \
        first.global_positions
    assert len(await store.read_stream("s")) == 3
