"""The published rulebook in the event store: publish versions, read the current rulebook.

Publishing is a short read-decide-append on the ``rulebook`` stream with optimistic
concurrency, retried when another publisher got there first. Business rejections
(DomainError) pass through unchanged so the CLI can show their rule and field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

from ..domain.base import Actor, ActorKind
from ..domain.envelope import PrincipalRecord, envelope_for
from ..domain.policy import PolicyDocument
from ..domain.rulebook import (
    POLICY_ADMIN_ROLE,
    RULEBOOK_STREAM,
    PolicyVersionPublished,
    PublishPolicy,
    Rulebook,
    decide_publish,
    rulebook_from_payloads,
)
from ..store.eventstore import ConcurrencyConflict, EventStore
from .policyfile import load_policy_file

MAX_ATTEMPTS = 5
# Who publishes the shipped sample on an embedded stack that has no rulebook yet.
EMBEDDED_PUBLISHER = Actor(id="dueprocess-embedded-stack", role=POLICY_ADMIN_ROLE,
                           kind=ActorKind.SYSTEM)


class RulebookService:
    def __init__(self, store: EventStore, *, new_id: Callable[[], UUID] = uuid4,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._store = store
        self._new_id = new_id
        self._clock = clock

    async def load(self) -> tuple[Rulebook, int]:
        """The published rulebook and the stream version it was folded from."""
        records = await self._store.read_stream(RULEBOOK_STREAM)
        book = rulebook_from_payloads([r.payload for r in records])
        return book, records[-1].stream_version if records else 0

    async def current(self) -> PolicyDocument | None:
        """The rulebook cases are filed under now (None before any publication)."""
        book, _ = await self.load()
        return book.document()

    async def publish(self, document: PolicyDocument, actor: Actor, authority: str, *,
                      principal: PrincipalRecord | None = None,
                      ) -> list[PolicyVersionPublished]:
        """Publish the document's new versions; returns what was published (maybe none).
        ``principal``: how the publisher was authenticated, recorded on each event."""
        command = PublishPolicy(actor=actor, authority=authority, document=document)
        for attempt in range(MAX_ATTEMPTS):
            book, version = await self.load()
            now = self._clock()
            events = decide_publish(book, command, now)
            if not events:
                return []
            envelopes = [envelope_for(e, event_id=self._new_id(), recorded_at=now,
                                      principal=principal,
                                      correlation_id=f"publish:{document.policy_id}")
                         for e in events]
            try:
                await self._store.append(RULEBOOK_STREAM, version, envelopes)
            except ConcurrencyConflict:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                continue
            return events
        raise AssertionError("unreachable")  # pragma: no cover

    async def publish_sample_if_none(self) -> list[PolicyVersionPublished]:
        """An embedded stack starts with the shipped sample rulebook, published by the
        stack itself (visible as such in `dueprocess policy list`)."""
        if await self.current() is not None:
            return []
        return await self.publish(load_policy_file(None), EMBEDDED_PUBLISHER,
                                  "shipped sample rulebook (embedded stack default)")
