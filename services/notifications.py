"""Where notifications go: the mail sinks (SMTP, or files in the data dir) and the
notification log's stream name. The dispatch activity (activities/notifications.py) uses them;
subject access and erasure read and forget what the file sink kept.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Collection
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from ..activities.contracts import OutgoingNotification


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
    channel = "smtp"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 25)
        self.user, self.password = parts.username, parts.password

    def _send(self, message: EmailMessage) -> None:
        cls = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with cls(self.host, self.port, timeout=30) as smtp:
            if self.user and self.password:
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
