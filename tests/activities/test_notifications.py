"""Notification dispatch: outbox, delivery, and the dispatch event, exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from dueprocess.activities.contracts import DispatchInput, OutgoingNotification
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.services.notifications import FileSink, SmtpSink, notification_stream
from dueprocess.store.eventstore import EventStore


def _request(case_id: str = "c1") -> DispatchInput:
    return DispatchInput(
        case_id=case_id, caused_by=uuid.uuid4(), requested_at=datetime.now(UTC),
        notifications=[OutgoingNotification(
            notification_id=f"{uuid.uuid4()}:respondent", recipient_role="respondent",
            recipient_subject_id="m-1", recipient_name="Daniel Okafor",
            address="daniel@example.org", subject="Notice of allegations",
            body="You are invited to respond by 5 March.")],
    )


async def test_a_retried_dispatch_sends_once_and_records_once(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    activities = NotificationActivities(pool, store, FileSink(tmp_path), "dp@example.org")
    request = _request()
    first = await activities.dispatch_notifications(request)
    again = await activities.dispatch_notifications(request)  # Temporal retried it
    assert len(first.dispatched) == 1 and again.already_sent == first.dispatched
    [mail] = await asyncio.to_thread(lambda: [p.read_text() for p in tmp_path.glob("*.eml")])
    assert "Notice of allegations" in mail
    [event] = await store.read_stream(notification_stream("c1"))
    assert event.event_type == "NotificationDispatched"
    assert event.payload["address"]["value"] == "daniel@example.org"  # stored encrypted
    assert await pool.fetchval("SELECT sent_at IS NOT NULL FROM outbox") is True


class _SmtpPeer:
    """A minimal SMTP server on loopback that accepts and keeps messages."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 test ESMTP\r\n")
        while line := await reader.readline():
            verb = line.decode().strip().upper()
            if verb.startswith(("EHLO", "HELO")):
                writer.write(b"250 test\r\n")
            elif verb == "DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                body = []
                while (data := await reader.readline()) != b".\r\n":
                    body.append(data.decode())
                self.messages.append("".join(body))
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()


@pytest.fixture
async def smtp_peer() -> AsyncIterator[tuple[_SmtpPeer, int]]:
    peer = _SmtpPeer()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield peer, port


async def test_smtp_delivery_when_configured(
    store: EventStore, pool: asyncpg.Pool, smtp_peer: tuple[_SmtpPeer, int]
) -> None:
    peer, port = smtp_peer
    sink = SmtpSink(f"smtp://127.0.0.1:{port}")
    activities = NotificationActivities(pool, store, sink, "dp@example.org")
    result = await activities.dispatch_notifications(_request("c2"))
    assert len(result.dispatched) == 1
    [message] = peer.messages
    assert "To: daniel@example.org" in message and "Notice of allegations" in message
    [event] = await store.read_stream(notification_stream("c2"))
    assert event.payload["channel"] == "smtp"
