"""The authenticated principal on a recorded event: stored in the hashed document, read
back; events recorded before principals were kept read as "not recorded" and their bytes,
and so the hash chain and verify, are unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import orjson
from dueprocess.domain.envelope import PrincipalRecord
from dueprocess.store.eventstore import EventStore, envelope_bytes
from dueprocess.store.verify import verify_store
from fixtures.events import ev

WHO = PrincipalRecord(issuer="https://idp.example.org/realms/hr", subject="staff-7",
                      token_id="jti-1", auth_time=datetime(2026, 3, 1, 8, 55, tzinfo=UTC),
                      auth_method="pwd+otp", request_id="req-42")


async def test_the_principal_is_stored_and_read_back(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    # given an event recorded on behalf of an authenticated principal, after an old one
    old, new = ev(), ev(principal=WHO)
    await store.append("case-1", 0, [old])
    await store.append("case-1", 1, [new])
    # when the stream is read
    events = await store.read_stream("case-1")
    # then the new event names how its actor was authenticated; the old one says nothing
    assert events[1].principal == WHO
    assert events[0].principal is None
    # and the old event's stored document has no principal at all
    rows = await pool.fetch("SELECT data FROM events ORDER BY stream_version")
    assert "principal" not in orjson.loads(rows[0]["data"])
    assert orjson.loads(rows[1]["data"])["principal"]["subject"] == "staff-7"
    # and the chain over both verifies
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    assert report.ok and report.events == 2


async def test_a_retried_append_with_a_principal_is_recognised(store: EventStore) -> None:
    event = ev(principal=WHO)
    first = await store.append("case-2", 0, [event])
    again = await store.append("case-2", 0, [event])
    assert again.global_positions == first.global_positions


def test_an_event_without_a_principal_keeps_its_old_bytes() -> None:
    # the document written before principals existed, byte for byte
    event = ev()
    stored = envelope_bytes("s", 1, event, event.payload)
    assert b'"principal"' not in stored
    keys = list(orjson.loads(envelope_bytes("s", 1, ev(principal=WHO), {})))
    assert keys == sorted(keys) and "principal" in keys
