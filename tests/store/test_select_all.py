"""EventStore.select_all: a scan in global order that judges each event on its stored
document (ids in clear, personal values sealed) and decodes only the events it keeps:
how subject access and erasure find a person's events without decrypting everyone's."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import asyncpg
import pytest
from dueprocess.domain.encoding import Upcasters
from dueprocess.store import crypto
from dueprocess.store.eventstore import EventStore
from fixtures.events import ev, pii


def _about(subject: str) -> Any:
    def keep(stream_id: str, doc: Mapping[str, Any]) -> bool:
        who = doc["payload"].get("who")
        return isinstance(who, dict) and who.get("subject_id") == subject
    return keep


async def test_only_the_kept_events_are_decrypted(pool: asyncpg.Pool) -> None:
    locked = crypto.KeyWrap((os.urandom(32),))  # a KEK the reader below is not given
    await EventStore(pool, key_wrap=locked).append(
        "a", 0, [ev(payload={"who": pii("p-locked", "Locked")}) for _ in range(3)])
    await EventStore(pool).append("b", 0, [ev(payload={"who": pii("p-2", "Bea")}), ev()])
    reader = EventStore(pool)
    with pytest.raises(crypto.KeyUnavailable):  # everything: needs every key
        await reader.read_all()
    seen: list[dict[str, Any]] = []

    def keep(stream_id: str, doc: Mapping[str, Any]) -> bool:
        seen.append(dict(doc["payload"]))
        return bool(_about("p-2")(stream_id, doc))

    [bea] = await reader.select_all(keep)
    assert bea.payload["who"]["value"] == "Bea" and bea.stream_id == "b"
    assert len(seen) == 5
    assert all("value" not in p["who"] and "ct" in p["who"] for p in seen if "who" in p)


async def test_global_order_across_pages(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    for n in range(5):
        await store.append(f"s{n % 2}", n // 2, [ev(payload={"who": pii("p-1", f"v{n}")})])
    got = await store.select_all(_about("p-1"), page=2)
    assert [e.payload["who"]["value"] for e in got] == [f"v{n}" for n in range(5)]
    everything = await store.read_all(limit=100)
    assert [e.position for e in got] == [e.position for e in everything]
    assert await store.select_all(_about("p-9"), page=2) == []


async def test_old_shapes_are_judged_as_current_ones(pool: asyncpg.Pool) -> None:
    upcasters = Upcasters()

    @upcasters.register("WitnessNamed", 1)
    def _v1_to_v2(p: dict[str, Any]) -> dict[str, Any]:
        return {"who": p["witness"]}  # the field was renamed

    await EventStore(pool).append(
        "s", 0, [ev("WitnessNamed", {"witness": pii("p-1", "Wes")}), ev()])
    [got] = await EventStore(pool, upcasters=upcasters).select_all(_about("p-1"))
    assert got.payload["who"]["value"] == "Wes" and got.schema_version == 2
    assert await EventStore(pool).select_all(_about("p-1")) == []  # without it: old shape
