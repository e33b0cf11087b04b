"""The stored form of an event: the envelope document that is hashed, and its bytes; and
whether a batch is already stored in exactly that form (also why an append wrote none of
a batch: ``refused_batch``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from ..domain.base import Actor
from ..domain.encoding import canonical_json
from ..domain.envelope import ImportRecord, NewEvent, PrincipalRecord
from ..domain.people import add_named_people, person_actor
from . import crypto
from .db import Database
from .errors import ConcurrencyConflict
from .group_commit import Batch


def _utc(value: datetime) -> datetime:
    # canonical_json writes it as isoformat() would: "2026-03-01T09:00:00+00:00".
    # NewEvent already holds UTC; the check is for instances built without validation.
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _actor_document(actor: Actor) -> dict[str, str]:
    return {"id": actor.id, "kind": actor.kind, "role": actor.role}  # sorted; kind: a StrEnum


def _principal_document(principal: PrincipalRecord) -> dict[str, Any]:
    return {  # sorted, like the envelope
        "auth_method": principal.auth_method,
        "auth_time": None if principal.auth_time is None else _utc(principal.auth_time),
        "issuer": principal.issuer,
        "request_id": principal.request_id,
        "subject": principal.subject,
        "token_id": principal.token_id,
    }


def _import_document(imported: ImportRecord) -> dict[str, Any]:
    return {  # sorted, like the envelope
        "historical_deadline": imported.historical_deadline,
        "import_id": imported.import_id,
        "importer": _actor_document(imported.importer),
        "known_at": None if imported.known_at is None else _utc(imported.known_at),
        "record": imported.record,
        "source": imported.source,
    }


def envelope_document(
    stream_id: str, version: int, event: NewEvent, sealed_payload: Any, actor: Any = None
) -> dict[str, Any]:
    """The stored form of one event: everything that is hashed. Keys are written in sorted
    order so ``envelope_bytes`` can skip sorting them (a test holds them sorted). An event
    without a principal has no "principal" key at all: the bytes (and so the hash chain)
    of events written before principals were recorded are exactly what they were.
    ``actor``: the actor's document when the caller has it already (see batch_documents)."""
    document = {
        "actor": _actor_document(event.actor) if actor is None else actor,
        "authority": event.authority,
        "causation_id": event.causation_id,
        "correlation_id": event.correlation_id,
        "effective_at": _utc(event.effective_at),
        "event_id": event.event_id,  # canonical_json writes the hyphenated lowercase form
        "event_type": event.event_type,
        "payload": sealed_payload,
        "recorded_at": _utc(event.recorded_at),
        "run_id": event.run_id,
        "schema_version": event.schema_version,
        "stream_id": stream_id,
        "stream_version": version,
        "workflow_id": event.workflow_id,
    }
    if event.principal is not None or event.imported is not None:
        # Neither key is written when absent: older envelopes' bytes are unchanged.
        if event.principal is not None:
            document["principal"] = _principal_document(event.principal)
        if event.imported is not None:
            document["imported"] = _import_document(event.imported)
        document = dict(sorted(document.items()))
    return document


def envelope_bytes(
    stream_id: str, version: int, event: NewEvent, sealed_payload: dict[str, Any],
    actor: orjson.Fragment | None = None,
) -> bytes:
    """``canonical_json(envelope_document(...))`` at about half the cost: only the payload
    needs its keys sorted; the envelope's own keys already are. ``actor``: the actor's
    document already written (``actor_json``)."""
    try:
        payload = orjson.Fragment(orjson.dumps(sealed_payload, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # a shape only the standard library writes (see canonical_json)
        return canonical_json(envelope_document(stream_id, version, event, sealed_payload))
    return orjson.dumps(envelope_document(stream_id, version, event, payload, actor))


def actor_json(actor: Actor) -> orjson.Fragment:
    """An actor's document, written once for the events of a batch that share it. Issue 14,
    batch_documents as measured for batch_people, three runs each (load 3-5): 8.2-9.3 ->
    7.7 us per event."""
    return orjson.Fragment(orjson.dumps(_actor_document(actor)))


def batch_documents(
    stream_id: str, expected: int, events: Sequence[NewEvent], found: list[crypto.Found],
    keys: dict[str, crypto.SubjectKey], cipher: int = crypto.CIPHER,
) -> list[bytes]:
    """The stored bytes of a batch: each envelope with its personal values sealed."""
    docs = []
    last: Actor | None = None
    actor = None
    for i, (event, personal) in enumerate(zip(events, found, strict=True), start=1):
        if event.actor is not last:  # a batch's events usually share one actor object
            last = event.actor
            actor = actor_json(last)
        docs.append(envelope_bytes(
            stream_id, expected + i, event,
            crypto.seal_found(event.payload, personal, crypto.uuid_text(event.event_id), keys,
                              cipher)
            if personal else event.payload, actor))
    return docs


def batch_people(events: Sequence[NewEvent], found: list[crypto.Found]) -> list[str]:
    """Everyone the batch's events name (``domain.people``), for the person index."""
    # One dict for the batch, the actor judged once per actor object (a batch's events
    # usually share one). Issue 14, bench/eventstore.py's events with personal data, batch
    # by batch, process time, min of 9 passes, two runs each (load 3-5): 3.4-3.7 -> 2.5-2.7
    # us per event.
    people: dict[str, None] = {}
    last: Actor | None = None
    actor: str | None = None
    for event, personal in zip(events, found, strict=True):
        if event.actor is not last:
            last = event.actor
            actor = person_actor({"id": last.id, "kind": last.kind.value})
        add_named_people(people, event.event_type, actor, event.payload,
                         [node["subject_id"] for _, node in personal])
    return list(people)


@dataclass
class BatchKeys:
    """The keys a batch is sealed under, by subject; ``new`` are those the append creates
    (subjects that had no live key)."""

    sealing: dict[str, crypto.SubjectKey] = field(default_factory=dict)
    new: dict[str, crypto.SubjectKey] = field(default_factory=dict)


async def stored_batch(
    db: Database, stream_id: str, events: Sequence[NewEvent], docs: list[bytes]
) -> list[asyncpg.Record] | None:
    """The stored rows when this exact batch (these ids with these documents) is already in
    the stream (a retry that raced ahead of, or arrived at, the head); None when anything
    differs."""
    rows = await db.fetch(
        """SELECT e.global_position, e.stream_version
             FROM unnest($2::uuid[], $3::bytea[]) AS u(id, d)
             JOIN events e ON e.event_id = u.id AND e.data = u.d AND e.stream_id = $1
            ORDER BY e.stream_version""",
        stream_id, [e.event_id for e in events], docs,
    )
    return list(rows) if events and len(rows) == len(events) else None


async def stored_as_v1(
    db: Database, stream_id: str, expected: int, events: Sequence[NewEvent],
    keys: dict[str, crypto.SubjectKey],
) -> list[asyncpg.Record] | None:
    """``stored_batch`` for the batch sealed with cipher version 1: a retry of an append an
    older worker made (before AES-GCM-SIV) stored that form. None when the batch has no
    personal data (both forms are the same bytes) or was not stored so."""
    found = [crypto.personal_nodes(e.payload) for e in events]
    if not any(found):
        return None
    return await stored_batch(db, stream_id, events, batch_documents(
        stream_id, expected, events, found, keys, crypto.CIPHER_GCM_HMAC_NONCE))


_REFUSAL = "SELECT * FROM dueprocess_append_refusal($1, $2, $3, $4, $5, $6, $7)"


async def refused_batch(
    db: Database, batch: Batch, events: Sequence[NewEvent],
    keys: dict[str, crypto.SubjectKey],
) -> list[asyncpg.Record]:
    """Why the append wrote no rows of ``batch``: the stored rows when it is a retry (or an
    empty batch); else dueprocess_append_refusal raises what refused it, or, nothing wrong
    any more (a competing first append rolled back), ConcurrencyConflict like any other:
    the caller decides again."""
    stored = await db.fetch(_REFUSAL, batch.stream_id, batch.expected, batch.prev_hash,
                            batch.ids, batch.docs, batch.key_ids, batch.new_subjects)
    if stored or not batch.docs:
        return list(stored)
    # A retry of a batch an older worker stored sealed with cipher version 1?
    if (v1 := await stored_as_v1(db, batch.stream_id, batch.expected, events, keys)) is None:
        raise ConcurrencyConflict(batch.stream_id, batch.expected)
    return v1
