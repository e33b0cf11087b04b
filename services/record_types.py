"""What the records client (services/records.py) answers with: case files, access-log
entries, erasure results, and the error and sink protocol of erasure."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from ..domain import case as dc
from ..domain.base import Actor, DomainError, Model
from ..domain.envelope import RecordedEvent


class ErasureBlocked(DomainError):
    error_type = "ErasureBlocked"


class CaseFile(Model):
    case_id: str
    state: dc.CaseState
    events: list[RecordedEvent]


# The basis of a read, as the API records it at the head of the read's authority (see
# api/access.py); reads recorded otherwise (the CLI, older records) have none.
ACCESS_BASES = ("party", "assigned", "auditor", "break-glass", "break-glass-refused")
# Flagged in the access log: reads of a case the reader has no part in, and refused tries.
FLAGGED_BASES = frozenset({"break-glass", "break-glass-refused"})


def access_basis(authority: str) -> str | None:
    head = authority.split(":", 1)[0].strip()
    return head if head in ACCESS_BASES else None


class AccessEntry(Model):
    at: datetime
    reader: Actor
    purpose: str
    authority: str
    case_id: str
    evidence_ids: list[str]
    event_id: uuid.UUID
    # party / assigned / auditor / break-glass / break-glass-refused; None: not recorded
    basis: str | None = None
    flagged: bool = False  # break-glass: someone read (or tried to) a case not theirs
    refused: bool = False  # a refused break-glass attempt: nothing was shown


class ErasureResult(Model):
    subject_id: str
    keys_destroyed: int
    store_verifies: bool  # the chains of every stream naming the person still verify
    sent_messages_forgotten: int = 0  # copies of sent notices deleted or redacted in sinks


class ForgettingSink(Protocol):
    """A notification sink that keeps copies of what it sent (a file outbox) and can
    forget a data subject: drop the messages addressed to them and redact their data in
    the others, found by the subject ids recorded with each message (never by value)."""

    async def forget(self, subject_id: str) -> int: ...
