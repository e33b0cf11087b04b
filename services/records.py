"""The auditor's and data-protection officer's client, over the event store.

Every read of a case file or evidence goes through here and is itself recorded
(who, role, purpose, and exactly which evidence was shown); a respondent sees only what
was disclosed to them and nobody else's personal data. Subject access exports everything
held about a person with other people's personal data redacted and their ids
pseudonymised; erasure destroys the person's key once no open case holds it (and has
notification sinks forget their copies), and the log still verifies afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..domain import case as dc
from ..domain.base import Actor, InvalidCommand, NotPermitted
from ..domain.envelope import NewEvent, RecordedEvent, envelope_for
from ..domain.records import (
    READER_ROLES,
    CaseFileAccessed,
    SubjectAccessExported,
    SubjectErased,
    access_stream,
    subject_stream,
)
from ..domain.streams import case_id_of, case_stream
from ..store.db import Database
from ..store.eventstore import EventStore
from ..store.projections import case_state_from
from ..store.verify import verify_streams
from .record_types import (
    ACCESS_BASES,
    FLAGGED_BASES,
    AccessEntry,
    CaseFile,
    ErasureBlocked,
    ErasureResult,
    ForgettingSink,
    access_basis,
)
from .redaction import (
    Pseudonyms,
    concerns,
    event_person_ids,
    evidence_ids_in,
    redact_others,
    respondent_view,
)

__all__ = [
    "ACCESS_BASES", "AccessEntry", "CaseFile", "ErasureBlocked", "ErasureResult",
    "ForgettingSink", "RecordsClient", "access_basis",
]


def _require(value: str, field: str) -> str:
    if not value or not value.strip():
        raise InvalidCommand(f"{field} must be given: every access states why",
                             rule="access-purpose-required", field=field)
    return value


def _record(event: Any, stream_id: str) -> tuple[str, list[NewEvent]]:
    return stream_id, [envelope_for(event, event_id=uuid.uuid4(), recorded_at=datetime.now(UTC),
                                    correlation_id=getattr(event, "case_id", None))]


class RecordsClient:
    def __init__(self, store: EventStore, pool: Database) -> None:
        self._store = store
        self._pool = pool

    # -- reading, always on the record ---------------------------------------------------

    async def read_case_file(
        self, case_id: str, reader: Actor, *, purpose: str, authority: str,
        evidence_ids: list[str] | None = None,
    ) -> CaseFile:
        """The case file as the reader may see it; records who read it, why, and exactly
        which evidence it showed, before returning it.

        Staff and auditors get the whole file: every event and the folded state. The
        respondent gets no raw events and a state holding only the evidence disclosed to
        them (``evidence_ids``, when given, narrows it further) and nobody else's
        personal data.
        """
        _require(purpose, "purpose")
        _require(authority, "authority")
        events, state = await self._case(case_id)
        allowed = self._permitted_evidence(state, reader)
        wanted = self._checked(allowed, evidence_ids)
        if reader.role == "respondent":
            file = CaseFile(case_id=case_id, events=[],
                            state=respondent_view(state, reader.id, wanted))
        else:
            file = CaseFile(case_id=case_id, state=state, events=events)
        await self._log_access(case_id, reader, purpose, authority, evidence_ids_in(
            file.model_dump(mode="json", include={"state", "events"})))
        return file

    async def read_evidence(
        self, case_id: str, evidence_id: str, reader: Actor, *, purpose: str, authority: str
    ) -> dc.EvidenceItem:
        """One evidence item, and only that item on the record as read."""
        _require(purpose, "purpose")
        _require(authority, "authority")
        _, state = await self._case(case_id)
        self._checked(self._permitted_evidence(state, reader), [evidence_id])
        if reader.role == "respondent":
            item = respondent_view(state, reader.id, [evidence_id]).evidence[evidence_id]
        else:
            item = state.evidence[evidence_id]
        await self._log_access(case_id, reader, purpose, authority, {evidence_id})
        return item

    async def _case(self, case_id: str) -> tuple[list[RecordedEvent], dc.CaseState]:
        events = await self._store.read_stream(case_stream(case_id))
        if not events:
            raise InvalidCommand(f"no case {case_id!r}", rule="case-exists", field="case_id")
        return events, case_state_from(events, case_id)

    async def record_read(self, case_id: str, reader: Actor, *, purpose: str, authority: str,
                          evidence_ids: Collection[str]) -> None:
        """Put on the record a read made elsewhere (the API's timeline)."""
        _require(purpose, "purpose")
        _require(authority, "authority")
        await self._log_access(case_id, reader, purpose, authority, evidence_ids)

    async def _log_access(self, case_id: str, reader: Actor, purpose: str, authority: str,
                          evidence_ids: Collection[str]) -> None:
        access = CaseFileAccessed(
            actor=reader, authority=authority, effective_at=datetime.now(UTC),
            case_id=case_id, purpose=purpose, evidence_ids=sorted(evidence_ids),
        )
        await self._store.append_at_head(*_record(access, access_stream(case_id)))

    @staticmethod
    def _permitted_evidence(state: dc.CaseState, reader: Actor) -> set[str]:
        """The evidence the reader may see; refuses readers who may not read the file."""
        if reader.role == "respondent":
            if state.respondent is None or reader.id != state.respondent.person_id:
                raise NotPermitted("only the respondent of this case may read it as respondent",
                                   rule="role-permission", field="reader")
            return set(state.disclosed_at) & set(state.evidence)
        if reader.role in READER_ROLES:
            return set(state.evidence)
        raise NotPermitted(f"role {reader.role!r} may not read case files",
                           rule="role-permission", field="reader.role")

    @staticmethod
    def _checked(allowed: set[str], wanted: list[str] | None) -> set[str]:
        if wanted is None:
            return allowed
        for evidence_id in wanted:
            if evidence_id not in allowed:
                raise NotPermitted(
                    f"evidence {evidence_id!r} is not available to this reader "
                    "(unknown, or not disclosed to the respondent)",
                    rule="evidence-access", field="evidence_ids")
        return set(wanted)

    async def access_log(self, case_id: str) -> list[AccessEntry]:
        """Who read the case; an unknown case is refused (case-exists), never an empty
        log that reads as "nobody looked"."""
        entries = []
        for event in await self._store.read_stream(access_stream(case_id)):
            p = event.payload
            basis = access_basis(event.authority)
            entries.append(AccessEntry(
                basis=basis, flagged=basis in FLAGGED_BASES,
                refused=basis == "break-glass-refused",
                at=event.recorded_at, reader=event.actor, purpose=p["purpose"],
                authority=event.authority, case_id=p["case_id"],
                evidence_ids=p.get("evidence_ids", []), event_id=event.event_id,
            ))
        if not entries and not await self._store.version(case_stream(case_id)):
            raise InvalidCommand(f"no case {case_id!r}", rule="case-exists", field="case_id")
        return entries

    # -- subject rights ------------------------------------------------------------------

    async def events_concerning(self, person_id: str) -> list[RecordedEvent]:
        """Events naming the person, plus every event of a case against them: a decision
        is about the respondent even where it does not repeat their id. Judged on the
        stored documents (ids are in clear; personal values stay sealed), so only these
        events are decrypted."""
        own_cases: set[str] = set()

        def keep(stream_id: str, doc: Mapping[str, Any]) -> bool:
            payload = doc["payload"]
            # A case's report is its first event: its stream's later events follow it in
            # global order.
            if (doc["event_type"] == "ReportFiled"
                    and (payload.get("respondent") or {}).get("person_id") == person_id):
                own_cases.add(stream_id)
            return stream_id in own_cases or concerns(doc, person_id)

        # Only the streams that name the person (the person index, written by the append
        # from the same ids ``concerns`` reads): every event kept here is in one of them,
        # and a case against the person names them in its report.
        return await self._store.select_person(person_id, keep)

    async def export_subject(
        self, person_id: str, requester: Actor, *, authority: str
    ) -> dict[str, Any]:
        """Everything held about a person (GDPR Art 15), others' data redacted."""
        _require(person_id, "person_id")
        events = await self.events_concerning(person_id)
        dumped = [e.model_dump(mode="json") for e in events]
        pseudonyms = Pseudonyms(person_id)
        for doc in dumped:  # numbered in order of first appearance
            pseudonyms.add(event_person_ids(doc))
        document = {
            "subject_id": person_id,
            "exported_at": datetime.now(UTC).isoformat(),
            "events": [redact_others(e, person_id, pseudonyms) for e in dumped],
        }
        record = SubjectAccessExported(actor=requester, authority=authority,
                                       effective_at=datetime.now(UTC), subject_id=person_id,
                                       events_included=len(events))
        await self._store.append_at_head(*_record(record, subject_stream(person_id)))
        return document

    async def open_cases_of(self, person_id: str) -> list[str]:
        """Cases that still hold the person: any case naming them that is not closed."""
        return await self._open_cases_in(await self.events_concerning(person_id))

    async def _open_cases_in(self, events: Sequence[RecordedEvent]) -> list[str]:
        cases = sorted({c for c in (case_id_of(e.stream_id) for e in events) if c is not None})
        open_cases = []
        for case_id in cases:
            stream = case_stream(case_id)
            state = case_state_from(await self._store.read_stream(stream), case_id)
            if state.stage is not dc.CaseStage.CLOSED:
                open_cases.append(case_id)
        return open_cases

    async def erase_subject(
        self, person_id: str, actor: Actor, *, reason: str, authority: str,
        sinks: Sequence[ForgettingSink] = (),
    ) -> ErasureResult:
        """Destroy the person's key (their data in the log reads back erased), then have
        each sink forget the copies of notices it kept: those sent to the person go, and
        their data is redacted from those sent to others."""
        _require(reason, "reason")
        # Under the subject's lock, appends sealing the person's data wait (and are refused
        # once the key is gone), so no case can open between the check and the shredding;
        # the check reads every committed event, however long other transactions run.
        async with self._store.erasure(person_id) as erasure:
            locked = RecordsClient(erasure.store, self._pool)
            concerning = await locked.events_concerning(person_id)
            blocking = await locked._open_cases_in(concerning)
            if blocking:
                raise ErasureBlocked(
                    f"{person_id} is named in open case(s) {', '.join(blocking)}: erasure "
                    "waits until they (and any appeal) are closed",
                    rule="erasure-blocked-by-open-case", field="person_id")
            destroyed = await erasure.destroy()
        record = SubjectErased(actor=actor, authority=authority, effective_at=datetime.now(UTC),
                               subject_id=person_id, reason=reason, keys_destroyed=destroyed)
        await self._store.append_at_head(*_record(record, subject_stream(person_id)))
        forgotten = 0
        for sink in sinks:
            forgotten += await sink.forget(person_id)
        # Erasure changed only the person's keys and their subject stream: re-check the
        # chains of the streams that name them (a whole-store verify grows with the log;
        # `dueprocess verify` does that).
        touched = [*await self._store.person_streams(person_id), subject_stream(person_id)]
        async with self._pool.acquire() as conn:
            report = await verify_streams(conn, touched)
        return ErasureResult(subject_id=person_id, keys_destroyed=destroyed,
                             store_verifies=report.ok, sent_messages_forgotten=forgotten)
