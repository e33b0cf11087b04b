"""Recording membership facts and answering standing queries against the event store.

The member stream (``member-{member_id}``) is written here, outside any workflow: each
fact is a short read-decide-append with optimistic concurrency, retried when another
writer got there first. Business rejections (DomainError) pass through unchanged so the
client and CLI can show their rule and field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from ..domain.envelope import NewEvent, PrincipalRecord, RecordedEvent, envelope_for
from ..domain.membership.member import (
    MEMBER_EVENT_ADAPTER,
    MEMBER_EVENT_TYPES,
    MemberCommand,
    MemberEvent,
    MemberResigned,
    MembershipLapsed,
    MemberState,
    decide_member,
    evolve_member,
    fold_member,
    member_stream,
)
from ..domain.membership.standing import Knowledge, Standing, standing
from ..domain.policy import PolicyDocument
from ..domain.retention import membership_retention_end
from ..domain.streams import CASE_PREFIX
from ..store.db import Connection, Database
from ..store.errors import UnreadableEvent
from ..store.eventstore import ConcurrencyConflict, EventStore

MAX_ATTEMPTS = 5

# Starts (or keeps) an ended membership's retention timer: (member id, when it ended,
# retention end).
StartMemberTimer = Callable[[str, datetime, datetime], Awaitable[None]]


class MemberService:
    def __init__(
        self,
        store: EventStore,
        policy: PolicyDocument | None = None,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        new_id: Callable[[], UUID] = uuid4,
        retain: StartMemberTimer | None = None,
    ) -> None:
        """``retain``: starts the retention timer of a membership whose end is recorded
        (None: none is started here; ``dueprocess retention sweep`` starts it)."""
        if max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        self._store = store
        self._policy = policy  # needed to decide rejoins (the continuity window)
        self._max_attempts = max_attempts
        self._new_id = new_id
        self._retain = retain

    async def load(self, member_id: str) -> tuple[MemberState, int]:
        """The member's state and the stream version it was folded from."""
        records = await self._store.read_stream(member_stream(member_id))
        state = MemberState.empty(member_id)
        for event in _member_events(records):
            state = evolve_member(state, event)
        return state, records[-1].stream_version if records else 0

    async def record(
        self,
        member_id: str,
        command: MemberCommand,
        now: datetime,
        *,
        policy: PolicyDocument | None = None,
        correlation_id: str | None = None,
        principal: PrincipalRecord | None = None,
    ) -> list[NewEvent]:
        """Decide and append; returns the envelopes written ([] when it already happened).

        A ConcurrencyConflict means another writer appended first: reload and decide
        again, because the other fact may change the answer (e.g. a duplicate join).
        """
        chosen = policy or self._policy
        if chosen is None:
            raise ValueError("policy: a policy document is needed to record membership facts")
        stream = member_stream(member_id)
        for attempt in range(1, self._max_attempts + 1):
            state, version = await self.load(member_id)
            events = decide_member(state, command, now, chosen)
            if not events:
                return []
            envelopes = [self._envelope(e, now, correlation_id or stream, principal)
                         for e in events]
            try:
                await self._store.append(stream, version, envelopes)
            except ConcurrencyConflict:
                if attempt == self._max_attempts:
                    raise
                continue
            if any(isinstance(e, MembershipLapsed | MemberResigned) for e in events):
                await self._start_retention(fold_member(events, state), chosen)
            return envelopes
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _start_retention(self, state: MemberState, policy: PolicyDocument) -> None:
        # GDPR storage limitation: a membership that has just ended gets its durable timer
        # (workflows/retention.py), due its rulebook period after the end.
        end = membership_retention_end(state, policy)
        if end is not None and state.left_at is not None and self._retain is not None:
            await self._retain(state.member_id, state.left_at, end)

    def _envelope(self, event: MemberEvent, now: datetime, correlation_id: str,
                  principal: PrincipalRecord | None) -> NewEvent:
        # ``principal``: how the actor was authenticated (the API's verified token).
        return envelope_for(event, event_id=self._new_id(), recorded_at=now,
                            correlation_id=correlation_id, principal=principal)

    async def standing(
        self,
        member_id: str,
        policy: PolicyDocument,
        as_of: datetime,
        as_known_on: datetime | None = None,
        case_streams: Sequence[str] = (),
        knowledge: Knowledge = "asserted",
    ) -> Standing:
        """Standing from the member stream and the given case streams (the member's
        cases as respondent; see ``case_streams_for``)."""
        records = await self._store.read_streams([member_stream(member_id), *case_streams])
        return standing(member_id, records, policy, as_of, as_known_on, knowledge)


def _member_events(records: Sequence[RecordedEvent]) -> list[MemberEvent]:
    # Unlike the standing fold, an unreadable fact raises here: deciding on a partial
    # history could, say, accept a second join.
    return [MEMBER_EVENT_ADAPTER.validate_python({**r.payload, "type": r.event_type})
            for r in records if r.event_type in MEMBER_EVENT_TYPES]


def party_case_streams(party: str, person: str = "$1") -> str:
    """SQL for the case streams in which $1 is the report's ``party`` (``respondent`` or
    ``complainant``): the person's streams from the person index (migration 0013), then each
    case's report, so it costs the person's own streams, never the log (tested by EXPLAIN).
    Party ids are plain ids, never sealed."""
    if party not in ("respondent", "complainant"):
        raise ValueError(f"party: {party!r} is not a party of a report")
    return f"""
    SELECT DISTINCT sp.stream_id
      FROM stream_people sp
      JOIN events e ON e.stream_id = sp.stream_id
     WHERE sp.person_id = {person} AND sp.stream_id LIKE '{CASE_PREFIX}%'
       AND e.event_type = 'ReportFiled'
       AND convert_from(e.data, 'UTF8')::jsonb #>> '{{payload,{party},person_id}}' = {person}
     ORDER BY sp.stream_id"""


CASE_STREAMS = party_case_streams("respondent")
# The same for several members at once ($1: their ids): one query per projection batch.
CASE_STREAMS_OF_MANY = f"""SELECT m.id AS member_id, s.stream_id
  FROM unnest($1::text[]) AS m(id)
  CROSS JOIN LATERAL ({party_case_streams("respondent", "m.id")}) AS s"""


async def case_streams_for(
    pool: Database | Connection, member_id: str
) -> list[str]:
    """Case streams in which ``member_id`` is the respondent.

    Reads the respondent id straight from the stored JSON: it is a plain id, never
    encrypted, so no one's personal data is decrypted just to find a member's cases. Only
    the streams that name the member are looked at (a respondent is named by the report).
    """
    return await party_streams(pool, CASE_STREAMS, member_id)


async def case_streams_of(
    pool: Database | Connection, member_ids: Sequence[str]
) -> dict[str, list[str]]:
    """``case_streams_for`` of each of ``member_ids``, in one query."""
    found: dict[str, list[str]] = {m: [] for m in member_ids}
    try:
        rows = await pool.fetch(CASE_STREAMS_OF_MANY, list(member_ids))
    except (asyncpg.CharacterNotInRepertoireError,
            asyncpg.InvalidTextRepresentationError) as err:  # stored bytes, not JSON text
        raise UnreadableEvent(f"a stored report of a case naming one of {list(member_ids)!r} "
                              f"is not JSON text ({err})") from err
    for row in rows:
        found[row["member_id"]].append(row["stream_id"])
    return {m: sorted(set(streams)) for m, streams in found.items()}


async def party_streams(pool: Database | Connection, sql: str, person_id: str) -> list[str]:
    """The stream ids ``sql`` (a ``party_case_streams`` query) finds for ``person_id``; a
    stored report that is not JSON text is odd stored data, never a raw database error."""
    try:
        rows = await pool.fetch(sql, person_id)
    except (asyncpg.CharacterNotInRepertoireError,
            asyncpg.InvalidTextRepresentationError) as err:  # stored bytes, not JSON text
        raise UnreadableEvent(f"a stored report of a case naming {person_id!r} is not JSON "
                              f"text ({err})") from err
    return [row["stream_id"] for row in rows]
