"""Shredding personal data once its retention period is over (GDPR Art 5(1)(e)).

Run by the retention workflow's durable timer after a case closes, or a membership ends.
Each person the case holds personal data of (its parties and witnesses), or the member,
is judged over every record naming them (domain/retention.py); those due are erased
through the one erasure mechanism (``RecordsClient.erase_subject``: key destruction,
recorded as SubjectErased, refused while any case naming them is open), the others are
kept, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

from ..domain.base import SYSTEM_ACTOR
from ..domain.case.state import CaseState
from ..domain.policy import PolicyDocument, Retention
from ..domain.records import SubjectErased
from ..domain.retention import RetentionResult, kept_because, membership_retention
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
    for person in sorted(state.party_ids | state.witness_ids):
        await _shred(store, pool, person, retention, now, result, sinks,
                     f"retention period over (case {case_id}, GDPR Art 5(1)(e))",
                     procedure.authority("retention"))
    return result


async def shred_member_expired(store: EventStore, pool: Database, member_id: str,
                               now: datetime, policy: PolicyDocument | None,
                               sinks: Sequence[ForgettingSink] = ()) -> RetentionResult:
    """An ended membership's timer: the member is judged over every record naming them,
    as a case's timer judges its people. Kept while a case or appeal naming them is open;
    that case, once closed, starts its own timer, which judges them again."""
    result = RetentionResult(member_id=member_id)
    member, _ = await MemberService(store).load(member_id)
    retention = membership_retention(member, policy) if policy is not None else None
    if policy is None or retention is None:
        result.kept[member_id] = ("a member" if member.is_member else
                                  "no retention period for the membership in the rulebook")
        return result
    version = policy.version_on(member.left_at.date()) if member.left_at else None
    authority = version.authority("retention") if version else "GDPR Art 5(1)(e)"
    await _shred(store, pool, member_id, retention, now, result, sinks,
                 "retention period over (membership ended, GDPR Art 5(1)(e))", authority)
    return result


async def _shred(store: EventStore, pool: Database, person: str, retention: Retention,
                 now: datetime, result: RetentionResult, sinks: Sequence[ForgettingSink],
                 reason: str, authority: str) -> None:
    """Erase ``person`` if every record naming them is past its period, else say why not
    (in ``result``); one already erased is left alone."""
    if await _erased(store, person):
        return
    member, _ = await MemberService(store).load(person)
    why = kept_because(person, await _cases_of(store, person), member, retention, now)
    if why is None:
        try:
            await RecordsClient(store, pool).erase_subject(
                person, SYSTEM_ACTOR, sinks=sinks, reason=reason, authority=authority)
        except ErasureBlocked as blocked:
            why = blocked.message
        else:
            result.shredded.append(person)
            return
    result.kept[person] = why


async def _erased(store: EventStore, person: str) -> bool:
    return any(r.event_type == SubjectErased.__name__
               for r in await store.read_stream(subject_stream(person)))


async def _cases_of(store: EventStore, person: str) -> list[CaseState]:
    streams = [s for s in await store.person_streams(person) if is_case_stream(s)]
    records = sorted(await store.read_streams(streams),
                     key=lambda r: (r.stream_id, r.stream_version))
    return [case_state_from(list(events), case_id_of(stream) or stream)
            for stream, events in groupby(records, key=lambda r: r.stream_id)]
