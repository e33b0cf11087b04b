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
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from ..domain import case as dc
from ..domain.base import Actor, ActorKind, DomainError, InvalidCommand, Model, NotPermitted
from ..domain.envelope import NewEvent, RecordedEvent, envelope_for
from ..domain.records import (
    READER_ROLES,
    CaseFileAccessed,
    SubjectAccessExported,
    SubjectErased,
    access_stream,
    subject_stream,
)
from ..store.crypto import is_personal
from ..store.db import Database
from ..store.eventstore import EventStore
from ..store.projections import case_state_from
from ..store.verify import verify_store
from ..workflows.case import case_stream


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
    sent_messages_forgotten: int = 0  # copies of sent notices deleted or redacted in sinks


class ForgettingSink(Protocol):
    """A notification sink that keeps copies of what it sent (a file outbox) and can
    forget a data subject: drop the messages addressed to them and redact their data in
    the others, found by the subject ids recorded with each message (never by value)."""

    async def forget(self, subject_id: str) -> int: ...


def _require(value: str, field: str) -> str:
    if not value or not value.strip():
        raise InvalidCommand(f"{field} must be given: every access states why",
                             rule="access-purpose-required", field=field)
    return value


def _record(event: Any, stream_id: str) -> tuple[str, list[NewEvent]]:
    return stream_id, [envelope_for(event, event_id=uuid.uuid4(), recorded_at=datetime.now(UTC),
                                    correlation_id=getattr(event, "case_id", None))]


def _concerns(doc: Mapping[str, Any], person_id: str) -> bool:
    """``doc``: an event's stored document or its JSON form (actor, payload)."""
    return doc["actor"]["id"] == person_id or person_id in _person_ids_in(doc["payload"])


# Keys whose string values (or list items) are person ids: parties, witnesses, panels,
# staff who acted, notification recipients. An actor's ``id`` is one when it is a person.
_PERSON_ID_KEYS = frozenset({
    "person_id", "witness_id", "member_id", "investigator_id", "replaces", "reviewed_by",
    "captured_by", "recipient_subject_id", "from_person_id", "subject_id", "respondent_id",
    "complainant_id",
})
_PERSON_ID_LIST_KEYS = frozenset({"attendees"})
# Keys that never hold a person id, whatever their value looks like.
_NOT_PERSON_KEYS = frozenset({
    "event_id", "case_id", "evidence_id", "allegation_id", "notification_id", "causation_id",
    "caused_by", "rule_id", "policy_id", "hash", "content_hash", "type", "event_type",
})
# Keys naming a stream ("member-<id>", "subject-<id>"), which may embed a person id.
_STREAM_KEYS = frozenset({"stream_id", "correlation_id", "workflow_id"})


def _is_person_actor(key: str, node: Any) -> bool:
    return (key in ("actor", "reader") and isinstance(node, dict)
            and isinstance(node.get("id"), str)
            and node.get("kind", ActorKind.PERSON.value) == ActorKind.PERSON.value)


def _person_ids_in(node: Any) -> list[str]:
    """Person ids mentioned anywhere, in order of first mention."""
    found: dict[str, None] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _PERSON_ID_KEYS and isinstance(item, str):
                    found.setdefault(item)
                elif key in _PERSON_ID_LIST_KEYS and isinstance(item, list):
                    found.update((i, None) for i in item if isinstance(i, str))
                elif _is_person_actor(key, item):
                    found.setdefault(item["id"])
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return list(found)


class Pseudonyms:
    """Stable stand-ins for other people's ids within one export: the same person is
    ``person-N`` wherever they appear, so the subject can tell who acted twice without
    learning who they are."""

    def __init__(self, subject_id: str) -> None:
        self.subject_id = subject_id
        self.names: dict[str, str] = {}

    def add(self, person_ids: Iterable[str]) -> None:
        for person_id in person_ids:
            if person_id != self.subject_id and person_id not in self.names:
                self.names[person_id] = f"person-{len(self.names) + 1}"

    def __call__(self, person_id: str) -> str:
        self.add([person_id])
        return self.names.get(person_id, person_id)

    def stream(self, stream_id: str) -> str:
        prefix, sep, rest = stream_id.partition("-")
        return f"{prefix}-{self.names[rest]}" if sep and rest in self.names else stream_id


def redact_others(node: Any, person_id: str, pseudonyms: Pseudonyms | None = None) -> Any:
    """Keep the person's own data; hide everyone else's: their personal values are
    dropped and their ids (plain fields, actors, data subjects) replaced by pseudonyms."""
    names = pseudonyms if pseudonyms is not None else Pseudonyms(person_id)
    names.add(_person_ids_in(node))

    def walk(value: Any, key: str | None = None) -> Any:
        if is_personal(value) and value["subject_id"] != person_id:
            return {"pii": True, "subject_id": names(value["subject_id"]), "value": None,
                    "redacted": True}
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and key not in _NOT_PERSON_KEYS:
            if key in _STREAM_KEYS:
                return names.stream(value)
            return names.names.get(value, value)
        return value

    return walk(node)


def _is_evidence_item(node: Any) -> bool:
    return isinstance(node, dict) and {"evidence_id", "description", "content_hash"} <= set(node)


def evidence_ids_in(node: Any) -> set[str]:
    """The ids of the evidence items (not mere references) anywhere in a document."""
    if _is_evidence_item(node):
        return {node["evidence_id"]}
    if isinstance(node, dict):
        return set().union(*(evidence_ids_in(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(evidence_ids_in(v) for v in node))
    return set()


_EVIDENCE_KEYED = frozenset({"inadmissible", "withheld", "disclosed_at"})


def _only_evidence(node: Any, shown: Collection[str], known: Collection[str]) -> Any:
    """Drop every evidence item not in ``shown``, wherever it sits (the evidence map, the
    report, events folded into the state), and every reference (admissibility rulings,
    withholding and redaction notes) to evidence the reader has not been told of."""
    if isinstance(node, dict):
        kept: dict[str, Any] = {}
        for key, value in node.items():
            if _is_evidence_item(value) and value["evidence_id"] not in shown:
                continue
            if key in _EVIDENCE_KEYED and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k in known}
            kept[key] = _only_evidence(value, shown, known)
        return kept
    if isinstance(node, list):
        return [_only_evidence(v, shown, known) for v in node
                if not (isinstance(v, dict) and "evidence_id" in v
                        and v["evidence_id"] not in (shown if _is_evidence_item(v) else known))]
    return node


def _erase_others(node: Any, keep: str) -> Any:
    """Every personal value not about ``keep`` replaced by the redaction marker."""
    if is_personal(node):
        if node["subject_id"] == keep:
            return node
        return {"pii": True, "subject_id": node["subject_id"], "value": None, "erased": True}
    if isinstance(node, dict):
        return {k: _erase_others(v, keep) for k, v in node.items()}
    if isinstance(node, list):
        return [_erase_others(v, keep) for v in node]
    return node


def _replace_id(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: _replace_id(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_id(v, old, new) for v in node]
    return new if node == old else node


UNNAMED_COMPLAINANT = "complainant-not-named"


def respondent_view(
    state: dc.CaseState, respondent_id: str, shown: Collection[str]
) -> dc.CaseState:
    """The case as the respondent may see it: only the evidence in ``shown`` (disclosed
    to them), no reference to evidence they were never told of, nobody else's personal
    data, and the complainant's id too while the complainant is not named to them."""
    known = set(state.disclosed_at) | set(state.withheld)
    data = _erase_others(_only_evidence(state.model_dump(mode="json"), shown, known),
                         respondent_id)
    complainant = state.complainant
    named = state.notice is not None and state.notice.complainant_identified
    if complainant is not None and not named and complainant.person_id != respondent_id:
        data = _replace_id(data, complainant.person_id, UNNAMED_COMPLAINANT)
    return dc.CaseState.model_validate(data)


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
            return stream_id in own_cases or _concerns(doc, person_id)

        return await self._store.select_all(keep)

    async def export_subject(
        self, person_id: str, requester: Actor, *, authority: str
    ) -> dict[str, Any]:
        """Everything held about a person (GDPR Art 15), others' data redacted."""
        _require(person_id, "person_id")
        events = await self.events_concerning(person_id)
        dumped = [e.model_dump(mode="json") for e in events]
        pseudonyms = Pseudonyms(person_id)
        pseudonyms.add(_person_ids_in(dumped))  # numbered in order of first appearance
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
        streams = sorted({e.stream_id for e in events if e.stream_id.startswith("case-")})
        open_cases = []
        for stream in streams:
            case_id = stream.removeprefix("case-")
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
        async with self._pool.acquire() as conn:
            report = await verify_store(conn)
        return ErasureResult(subject_id=person_id, keys_destroyed=destroyed,
                             store_verifies=report.ok, sent_messages_forgotten=forgotten)
