"""Shredding personal data once its retention period is over (GDPR Art 5(1)(e)).

Run by the retention workflow's durable timer after a case closes. Each person the case
holds personal data of (its parties and witnesses) is judged over every record naming
them (domain/retention.py); those due are erased through the one erasure mechanism
(``RecordsClient.erase_subject``: key destruction, recorded as SubjectErased, refused
while any case naming them is open), the others are kept, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

from ..domain.base import SYSTEM_ACTOR
from ..domain.case.state import CaseState
from ..domain.records import SubjectErased
from ..domain.retention import RetentionResult, kept_because
from ..domain.streams import case_id_of, case_stream, is_case_stream, subject_stream
from ..store.db import Database
from ..store.eventstore import EventStore
from ..store.projections import case_state_from
from .members import MemberService
from .record_types import ErasureBlocked, ForgettingSink
from .records import RecordsClient


async def shred_expired(store: EventStore, pool: Database, case_id: str, now: datetime,
                        sinks: Sequence[ForgettingSink] = ()) -> RetentionResult:
    state = case_state_from(await store.read_stream(case_stream(case_id)), case_id)
    procedure = state.procedure
    retention = procedure.retention if procedure else None
    result = RetentionResult(case_id=case_id)
    if procedure is None or retention is None:
        return result
    records = RecordsClient(store, pool)
    members = MemberService(store)
    for person in sorted(state.party_ids | state.witness_ids):
        if await _erased(store, person):
            continue
        cases = await _cases_of(store, person)
        member, _ = await members.load(person)
        why = kept_because(person, cases, member, retention, now)
        if why is None:
            try:
                await records.erase_subject(
                    person, SYSTEM_ACTOR, sinks=sinks,
                    reason=f"retention period over (case {case_id}, GDPR Art 5(1)(e))",
                    authority=procedure.authority("retention"))
            except ErasureBlocked as blocked:
                why = blocked.message
            else:
                result.shredded.append(person)
                continue
        result.kept[person] = why
    return result


async def _erased(store: EventStore, person: str) -> bool:
    return any(r.event_type == SubjectErased.__name__
               for r in await store.read_stream(subject_stream(person)))


async def _cases_of(store: EventStore, person: str) -> list[CaseState]:
    streams = [s for s in await store.person_streams(person) if is_case_stream(s)]
    records = sorted(await store.read_streams(streams),
                     key=lambda r: (r.stream_id, r.stream_version))
    return [case_state_from(list(events), case_id_of(stream) or stream)
            for stream, events in groupby(records, key=lambda r: r.stream_id)]
