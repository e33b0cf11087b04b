"""Where notifications go: an outbox of .eml files (the default) or SMTP. Each letter records
whose it is and where other people's details sit in it, so erasure forgets by subject id,
never by matching values.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import smtplib
import ssl
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..activities.contracts import OutgoingNotification
from ..domain.streams import notification_stream as notification_stream


class Sink(Protocol):
    channel: str

    async def send(self, message: EmailMessage) -> None: ...


class FileSink:
    """Default sink: one .eml file per notification in a directory (a local mailbox).

    The directory is 0700 and every file 0600: the letters hold personal data. Each file
    records whose personal data it holds (see ``compose``), and erasure forgets by those
    ids, never by matching values: two people may share an address or a name."""

    channel = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        name = str(message["X-Notification-Id"]).replace(":", "_").replace("/", "_")
        await asyncio.to_thread(self._write, self.directory / f"{name}.eml", bytes(message))

    def _write(self, path: Path, data: bytes) -> None:
        private_directory(self.directory)
        write_private(path, data)

    async def forget(self, subject_id: str) -> int:
        """Erasure of a data subject: delete the messages addressed to them (the
        X-Subject-Id header) and replace their personal data in every other message by
        ``[erased]`` at the places recorded for them (X-Personal-Data). Returns how many
        files were deleted or rewritten."""
        return await asyncio.to_thread(self._forget, subject_id)

    def _forget(self, subject_id: str) -> int:
        if not self.directory.is_dir():
            return 0
        parser = BytesParser(policy=policy.default)
        forgotten = 0
        for path in sorted(self.directory.glob("*.eml")):
            message = parser.parsebytes(path.read_bytes())
            assert isinstance(message, EmailMessage)
            if message.get("X-Subject-Id") == subject_id:
                path.unlink(missing_ok=True)
                forgotten += 1
                continue
            redacted = _redact(message, subject_id)
            if redacted is None:  # holds their data where it was not recorded: drop it
                path.unlink(missing_ok=True)
                forgotten += 1
            elif redacted:
                write_private(path, bytes(message))
                forgotten += 1
        return forgotten


def private_directory(directory: Path) -> None:
    """Create ``directory`` (and missing parents) accessible to its owner only."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:
        directory.chmod(0o700)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by its owner only (0600)."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a leftover scratch file may have had other bits
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(data)
    finally:
        os.close(fd)
    scratch.replace(path)


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

    async def forget(self, subject_id: str) -> int:
        """Nothing to forget here: sent mail has left for the recipient's mailbox."""
        return 0


# Where the personal data of people other than the addressee sits in a message's text:
# a JSON list of [subject id, start, end, sha256 of the text] (offsets in characters).
PERSONAL_DATA_HEADER = "X-Personal-Data"


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _ParsedOnce(HeaderRegistry):
    """email's header registry, the headers every letter carries alike (the sender, the
    MIME and content headers) parsed once per value: parsing is most of composing a
    letter (From 125 us, the content headers set_content adds 200 us; a letter 1.1 ms,
    measured 2026-12-02). Only those: a recipient's address, the subject and the
    personal-data record are personal data, which a process-wide cache would keep past
    an erasure. Parsed headers are immutable (str) values, so letters can share them."""

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if isinstance(value, str) and name.lower() in _ALIKE:
            return _parsed(name, value)
        return super().__call__(name, value)


_ALIKE = frozenset({"from", "mime-version", "content-type", "content-transfer-encoding"})
_REGISTRY = HeaderRegistry()


@functools.lru_cache(maxsize=64)
def _parsed(name: str, value: str) -> BaseHeader:
    return _REGISTRY(name, value)


# email's default policy (what the letters have always been written and read with), its
# headers parsed through the cache above: the same bytes.
LETTERS = policy.default.clone(header_factory=_ParsedOnce())


def compose(note: OutgoingNotification, sender: str) -> EmailMessage:
    """The letter: its body, then one line per personal detail. Records the addressee
    (X-Subject-Id: the whole message is theirs) and where each detail sits and whose it
    is (X-Personal-Data), so erasure can forget by subject id."""
    body = "\n".join(note.body.splitlines())  # one line ending: offsets stay exact
    spans: list[list[str | int]] = []
    if note.details:
        body += "\n"
        for detail in note.details:
            text = _one_line(detail.text())
            body += "\n- "
            spans.append([detail.subject_id, len(body), len(body) + len(text), _digest(text)])
            body += text
    message = EmailMessage(policy=LETTERS)
    message["From"] = sender
    message["To"] = note.address or f"{note.recipient_subject_id}@members.invalid"
    message["Subject"] = note.subject
    message["X-Notification-Id"] = note.notification_id
    message["X-Subject-Id"] = note.recipient_subject_id  # lets erasure find their copies
    message[PERSONAL_DATA_HEADER] = json.dumps(spans)  # spaces: the header folds there
    message.set_content(body)
    return message


def _redact(message: EmailMessage, subject_id: str) -> bool | None:
    """Replace the subject's recorded details in ``message`` by ``[erased]``: True when
    it did, False when the message records none of theirs, None when a record does not
    match the text (the file was changed): the copy cannot be trusted to be free of it."""
    try:
        spans = json.loads(str(message.get(PERSONAL_DATA_HEADER) or "[]"))
        theirs = sorted((s for s in spans if s[0] == subject_id), key=lambda s: -int(s[1]))
    except (ValueError, TypeError, IndexError, KeyError):
        return None
    if not theirs:
        return False
    text = message.get_content()
    for _, start, end, digest in theirs:
        if _digest(text[start:end]) != digest:
            return None
        text = text[:start] + "[erased]" + text[end:]
    kept = []  # the others' spans, shifted by what was replaced before them
    for other in (s for s in spans if s[0] != subject_id):
        shift = sum(len("[erased]") - (e - b) for _, b, e, _ in theirs if e <= other[1])
        kept.append([other[0], other[1] + shift, other[2] + shift, other[3]])
    message.replace_header(PERSONAL_DATA_HEADER, json.dumps(kept))
    message.set_content(text)
    return True
