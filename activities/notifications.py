"""Notification dispatch: outbox row, delivery (SMTP or a file sink), dispatch event.

Every step is idempotent by notification id, so a retried activity neither sends twice
after a recorded success nor records the dispatch twice.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import uuid
from collections.abc import Collection
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from temporalio import activity

from ..domain.base import SYSTEM_ACTOR
from ..domain.envelope import NewEvent
from ..store.db import Database
from ..store.eventstore import EventStore
from .contracts import DISPATCH_NOTIFICATIONS, DispatchInput, DispatchResult, OutgoingNotification

_NOTIFICATION_NS = uuid.UUID("6f1d1c9e-5a51-4a55-9a3e-2c54a1e0d6b1")


def notification_stream(case_id: str) -> str:
    return f"notifications-{case_id}"


class Sink(Protocol):
    channel: str

    async def send(self, message: EmailMessage) -> None: ...


class FileSink:
    """Default sink: one .eml file per notification in a directory (a local mailbox)."""

    channel = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(message["X-Notification-Id"]).replace(":", "_").replace("/", "_")
        await asyncio.to_thread((self.directory / f"{name}.eml").write_bytes, bytes(message))

    async def forget(self, subject_id: str, *, values: Collection[str] = ()) -> int:
        """Erasure of a data subject: delete the messages addressed to them (by the
        X-Subject-Id header, or for older files by a To address among ``values``) and
        replace their personal ``values`` in every other message by ``[erased]``.
        Returns how many files were deleted or rewritten."""
        return await asyncio.to_thread(self._forget, subject_id, tuple(values))

    def _forget(self, subject_id: str, values: tuple[str, ...]) -> int:
        if not self.directory.is_dir():
            return 0
        addresses = {v.strip().lower() for v in values}
        # Longest first, so a value containing another is replaced whole; very short
        # values would mangle unrelated text.
        redact = sorted({v for v in values if len(v.strip()) >= 3}, key=len, reverse=True)
        parser = BytesParser(policy=policy.default)
        forgotten = 0
        for path in sorted(self.directory.glob("*.eml")):
            message = parser.parsebytes(path.read_bytes())
            assert isinstance(message, EmailMessage)
            to = str(message.get("To", "")).strip().lower()
            if message.get("X-Subject-Id") == subject_id or (to and to in addresses):
                path.unlink(missing_ok=True)
                forgotten += 1
            elif self._redact(message, redact):
                scratch = path.with_suffix(".eml.tmp")
                scratch.write_bytes(bytes(message))
                scratch.replace(path)
                forgotten += 1
        return forgotten

    @staticmethod
    def _redact(message: EmailMessage, values: list[str]) -> bool:
        changed = False
        for part in message.walk():
            if part.is_multipart() or part.get_content_maintype() != "text":
                continue
            assert isinstance(part, EmailMessage)
            text = original = part.get_content()
            for value in values:
                text = text.replace(value, "[erased]")
            if text != original:
                part.set_content(text, subtype=part.get_content_subtype())
                changed = True
        return changed


class SmtpSink:
    """Delivery by SMTP. smtps:// speaks TLS from the start; smtp:// with credentials must
    upgrade with STARTTLS before it logs in, and refuses to send the password otherwise
    (a server that does not offer STARTTLS is a configuration error, not a reason to log
    in in clear). Certificates are verified against the system's trust store."""

    channel = "smtp"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 25)
        self.user, self.password = parts.username, parts.password

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp = (smtplib.SMTP_SSL(self.host, self.port, timeout=30, context=context)
                if self.tls else smtplib.SMTP(self.host, self.port, timeout=30))
        with smtp:
            if self.user and self.password:
                if not self.tls:
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise smtplib.SMTPNotSupportedError(
                            f"{self.host}:{self.port} does not offer STARTTLS: refusing to "
                            "send SMTP credentials in clear (use smtps:// or a TLS server)")
                    smtp.starttls(context=context)
                smtp.login(self.user, self.password)
            smtp.send_message(message)

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send, message)

    async def forget(self, subject_id: str, *, values: Collection[str] = ()) -> int:
        """Nothing to forget here: sent mail has left for the recipient's mailbox."""
        return 0


def compose(note: OutgoingNotification, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = note.address or f"{note.recipient_subject_id}@members.invalid"
    message["Subject"] = note.subject
    message["X-Notification-Id"] = note.notification_id
    message["X-Subject-Id"] = note.recipient_subject_id  # lets erasure find their copies
    message.set_content(note.body)
    return message


class NotificationActivities:
    def __init__(self, pool: Database, store: EventStore, sink: Sink, sender: str) -> None:
        self._pool = pool
        self._store = store
        self._sink = sink
        self._sender = sender

    @activity.defn(name=DISPATCH_NOTIFICATIONS)
    async def dispatch_notifications(self, request: DispatchInput) -> DispatchResult:
        result = DispatchResult(dispatched=[], already_sent=[])
        for note in request.notifications:
            if await self._claim(request, note):
                await self._sink.send(compose(note, self._sender))
                await self._record(request, note)
                await self._pool.execute(
                    "UPDATE outbox SET sent_at = now() WHERE notification_id = $1",
                    note.notification_id,
                )
                result.dispatched.append(note.notification_id)
            else:
                await self._record(request, note)  # sent before a crash: make sure it's recorded
                result.already_sent.append(note.notification_id)
        return result

    async def _claim(self, request: DispatchInput, note: OutgoingNotification) -> bool:
        """True when the notification still has to be sent."""
        sent_at = await self._pool.fetchval(
            """INSERT INTO outbox (notification_id, case_id, caused_by, recipient_role, channel)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (notification_id) DO UPDATE SET attempts = outbox.attempts + 1
               RETURNING sent_at""",
            note.notification_id, request.case_id, request.caused_by, note.recipient_role,
            self._sink.channel,
        )
        return sent_at is None

    async def _record(self, request: DispatchInput, note: OutgoingNotification) -> None:
        subject = note.recipient_subject_id
        event = NewEvent(
            event_id=uuid.uuid5(_NOTIFICATION_NS, note.notification_id),
            event_type="NotificationDispatched",
            payload={
                "notification_id": note.notification_id,
                "recipient_role": note.recipient_role,
                "recipient_subject_id": subject,
                "address": {"pii": True, "subject_id": subject, "value": note.address}
                if note.address else None,
                "subject": note.subject,
                "channel": self._sink.channel,
                "caused_by": str(request.caused_by),
            },
            actor=SYSTEM_ACTOR,
            authority="policy:notifications",
            recorded_at=request.requested_at,
            effective_at=request.requested_at,
            correlation_id=request.case_id,
            causation_id=str(request.caused_by),
            workflow_id=request.workflow_id,
            run_id=request.run_id,
        )
        await self._store.append_at_head(notification_stream(request.case_id), [event])
