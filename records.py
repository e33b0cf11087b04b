"""The auditor's and data-protection officer's client, over the event store.

Every read of a case file or evidence goes through here and is itself recorded
(who, role, purpose, what). Subject access exports everything held about a person with
other people's personal data redacted; erasure destroys the person's key once no open
case holds it, and the log still verifies afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg

from .activities.eventstore import EventStore
from .activities.projections import case_state_from
from .activities.verify import verify_store
from .domain import case as dc
from .domain.base import Actor, DomainError, InvalidCommand, Model, NotPermitted
from .domain.envelope import NewEvent, Position, RecordedEvent, envelope_for
from .domain.records import (
    READER_ROLES,
    CaseFileAccessed,
    SubjectAccessExported,
    SubjectErased,
    access_stream,
    subject_stream,
)
from .workflows.case import case_stream


class ErasureBlocked(DomainError):
    error_type = "ErasureBlocked"


class CaseFile(Model):
    case_id: str
    state: dc.CaseState
    events: list[RecordedEvent]


class AccessEntry(Model):
    at: datetime
    reader: Actor
    purpose: str
    authority: str
    case_id: str
    evidence_ids: list[str]
    event_id: uuid.UUID


class ErasureResult(Model):
    subject_id: str
    keys_destroyed: int
    store_verifies: bool


def _require(value: str, field: str) -> str:
    if not value or not value.strip():
        raise InvalidCommand(f"{field} must be given: every access states why",
                             rule="access-purpose-required", field=field)
    return value


def _record(event: Any, stream_id: str) -> tuple[str, list[NewEvent]]:
    return stream_id, [envelope_for(event, event_id=uuid.uuid4(), recorded_at=datetime.now(UTC),
                                    correlation_id=getattr(event, "case_id", None))]


def _concerns(event: RecordedEvent, person_id: str) -> bool:
    from .activities.crypto import subjects_in

    if event.actor.id == person_id or person_id in subjects_in(event.payload):
        return True
    return person_id in _ids_in(event.payload)


def _ids_in(node: Any) -> set[str]:
    """Plain (non-personal) ids mentioned anywhere: person_id, member_id, witness_id..."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and (key.endswith("_id") or key == "attendees"):
                found.add(value)
            found |= _ids_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= {item} if isinstance(item, str) else _ids_in(item)
    return found


def redact_others(node: Any, person_id: str) -> Any:
    """Keep the person's own data; hide everyone else's (ids included)."""
    if isinstance(node, dict):
        if node.get("pii") is True and node.get("subject_id") != person_id:
            return {"pii": True, "subject_id": "[redacted]", "value": None, "redacted": True}
        return {k: redact_others(v, person_id) for k, v in node.items()}
    if isinstance(node, list):
        return [redact_others(v, person_id) for v in node]
    return node


class RecordsClient:
    def __init__(self, store: EventStore, pool: asyncpg.Pool) -> None:
        self._store = store
        self._pool = pool

    # -- reading, always on the record ---------------------------------------------------

    async def read_case_file(
        self, case_id: str, reader: Actor, *, purpose: str, authority: str,
        evidence_ids: list[str] | None = None,
    ) -> CaseFile:
        """The case's events and folded state; records who read it and why first."""
        _require(purpose, "purpose")
        _require(authority, "authority")
        events = await self._store.read_stream(case_stream(case_id))
        if not events:
            raise InvalidCommand(f"no case {case_id!r}", rule="case-exists", field="case_id")
        state = case_state_from(events, case_id)
        shown = self._permitted_evidence(state, reader, evidence_ids)
        access = CaseFileAccessed(
            actor=reader, authority=authority, effective_at=datetime.now(UTC),
            case_id=case_id, purpose=purpose, evidence_ids=shown,
        )
        await self._store.append_at_head(*_record(access, access_stream(case_id)))
        return CaseFile(case_id=case_id, state=state, events=events)

    async def read_evidence(
        self, case_id: str, evidence_id: str, reader: Actor, *, purpose: str, authority: str
    ) -> dc.EvidenceItem:
        file = await self.read_case_file(case_id, reader, purpose=purpose, authority=authority,
                                         evidence_ids=[evidence_id])
        return file.state.evidence[evidence_id]

    @staticmethod
    def _permitted_evidence(
        state: dc.CaseState, reader: Actor, wanted: list[str] | None
    ) -> list[str]:
        if reader.role == "respondent":
            if state.respondent is None or reader.id != state.respondent.person_id:
                raise NotPermitted("only the respondent of this case may read it as respondent",
                                   rule="role-permission", field="reader")
            allowed = set(state.disclosed_at)
        elif reader.role in READER_ROLES:
            allowed = set(state.evidence)
        else:
            raise NotPermitted(f"role {reader.role!r} may not read case files",
                               rule="role-permission", field="reader.role")
        ids = sorted(allowed) if wanted is None else wanted
        for evidence_id in ids:
            if evidence_id not in allowed:
                raise NotPermitted(
                    f"evidence {evidence_id!r} is not available to this reader "
                    "(unknown, or not disclosed to the respondent)",
                    rule="evidence-access", field="evidence_ids")
        return ids

    async def access_log(self, case_id: str) -> list[AccessEntry]:
        entries = []
        for event in await self._store.read_stream(access_stream(case_id)):
            p = event.payload
            entries.append(AccessEntry(
                at=event.recorded_at, reader=event.actor, purpose=p["purpose"],
                authority=event.authority, case_id=p["case_id"],
                evidence_ids=p.get("evidence_ids", []), event_id=event.event_id,
            ))
        return entries

    # -- subject rights ------------------------------------------------------------------

    async def _all_events(self) -> AsyncIterator[RecordedEvent]:
        position = Position()
        while page := await self._store.read_all(position, limit=1000):
            for event in page:
                yield event
            position = page[-1].position

    async def events_concerning(self, person_id: str) -> list[RecordedEvent]:
        """Events naming the person, plus every event of a case against them: a decision
        is about the respondent even where it does not repeat their id."""
        events = [e async for e in self._all_events()]
        own_cases = {e.stream_id for e in events if e.event_type == "ReportFiled"
                     and (e.payload.get("respondent") or {}).get("person_id") == person_id}
        return [e for e in events if e.stream_id in own_cases or _concerns(e, person_id)]

    async def export_subject(
        self, person_id: str, requester: Actor, *, authority: str
    ) -> dict[str, Any]:
        """Everything held about a person (GDPR Art 15), others' data redacted."""
        _require(person_id, "person_id")
        events = await self.events_concerning(person_id)
        document = {
            "subject_id": person_id,
            "exported_at": datetime.now(UTC).isoformat(),
            "events": [
                {**e.model_dump(mode="json", exclude={"payload"}),
                 "payload": redact_others(e.payload, person_id)}
                for e in events
            ],
        }
        record = SubjectAccessExported(actor=requester, authority=authority,
                                       effective_at=datetime.now(UTC), subject_id=person_id,
                                       events_included=len(events))
        await self._store.append_at_head(*_record(record, subject_stream(person_id)))
        return document

    async def open_cases_of(self, person_id: str) -> list[str]:
        """Cases that still hold the person: any case naming them that is not closed."""
        streams = sorted({e.stream_id for e in await self.events_concerning(person_id)
                          if e.stream_id.startswith("case-")})
        open_cases = []
        for stream in streams:
            case_id = stream.removeprefix("case-")
            state = case_state_from(await self._store.read_stream(stream), case_id)
            if state.stage is not dc.CaseStage.CLOSED:
                open_cases.append(case_id)
        return open_cases

    async def erase_subject(
        self, person_id: str, actor: Actor, *, reason: str, authority: str
    ) -> ErasureResult:
        _require(reason, "reason")
        blocking = await self.open_cases_of(person_id)
        if blocking:
            raise ErasureBlocked(
                f"{person_id} is named in open case(s) {', '.join(blocking)}: erasure waits "
                "until they (and any appeal) are closed",
                rule="erasure-blocked-by-open-case", field="person_id")
        destroyed = await self._store.erase_subject(person_id)
        record = SubjectErased(actor=actor, authority=authority, effective_at=datetime.now(UTC),
                               subject_id=person_id, reason=reason, keys_destroyed=destroyed)
        await self._store.append_at_head(*_record(record, subject_stream(person_id)))
        async with self._pool.acquire() as conn:
            report = await verify_store(conn)
        return ErasureResult(subject_id=person_id, keys_destroyed=destroyed,
                             store_verifies=report.ok)
