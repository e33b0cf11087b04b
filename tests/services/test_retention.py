"""Retention against a real PostgreSQL: once every record naming a person is past its
period and none is open, the person is shredded through erasure (SubjectErased); an open
case or a current membership keeps them, with the reason."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.base import SYSTEM_ACTOR
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.policy import Retention
from dueprocess.domain.records import SubjectErased
from dueprocess.domain.streams import case_stream, subject_stream
from dueprocess.services.retention import shred_expired
from dueprocess.store.eventstore import EventStore
from fixtures import case_examples as ex
from fixtures import reporter_examples as rx

PERIOD = timedelta(days=30)
SHORT = Retention(dismissed=PERIOD, not_upheld=PERIOD, sanctioned=PERIOD, membership=PERIOD)
OFFICER = ex.actor("case_officer")


def with_retention() -> dc.FileReport:
    base = rx.policy()
    policy = base.model_copy(update={"versions": [
        v.model_copy(update={"retention": SHORT}) for v in base.versions]})
    return ex.file_report(policy=policy)


async def record(store: EventStore, case_id: str, steps: list[tuple[object, datetime]]) -> None:
    state = dc.CaseState.empty(case_id)
    for command, at in steps:
        events = dc.decide(state, command, at)  # type: ignore[arg-type]
        await store.append(case_stream(case_id), state.events_folded, [
            envelope_for(e, event_id=uuid.uuid4(), recorded_at=at, correlation_id=case_id)
            for e in events])
        state = dc.fold(events, state)


def dismissal(at: datetime) -> list[tuple[object, datetime]]:
    return [(with_retention(), ex.T0),
            (dc.TriageCase(actor=OFFICER, authority=ex.AUTHORITY, outcome=dc.TriageOutcome.DISMISS,
                           reasons="Out of scope.",
                           dismissal_reason=dc.DismissalReason.NO_CASE_TO_ANSWER), at),
            (dc.CloseCase(actor=OFFICER, authority=ex.AUTHORITY), at)]


async def erased(store: EventStore, person: str) -> bool:
    return any(r.event_type == SubjectErased.__name__
               for r in await store.read_stream(subject_stream(person)))


async def test_everyone_past_retention_is_shredded_and_recorded(
        pool: asyncpg.Pool, store: EventStore) -> None:
    # given a dismissed case closed a day after it was filed
    closed_at = ex.T0 + timedelta(days=1)
    await record(store, "r-1", dismissal(closed_at))
    # when its retention timer fires before and after the period
    early = await shred_expired(store, pool, "r-1", closed_at + PERIOD - timedelta(days=1))
    assert early.shredded == [] and "kept until" in early.kept[ex.COMPLAINANT_ID]
    due = await shred_expired(store, pool, "r-1", closed_at + PERIOD)
    # then its parties (and the witness) are shredded, each recorded as SubjectErased
    assert due.shredded == sorted([ex.COMPLAINANT_ID, ex.RESPONDENT_ID, ex.WITNESS_ID])
    assert all([await erased(store, p) for p in due.shredded])
    again = await shred_expired(store, pool, "r-1", closed_at + PERIOD)
    assert again.shredded == [] and again.kept == {}  # already shredded: nothing twice


async def test_an_open_case_keeps_its_people(pool: asyncpg.Pool, store: EventStore) -> None:
    closed_at = ex.T0 + timedelta(days=1)
    await record(store, "r-2", dismissal(closed_at))
    await record(store, "r-3", [(with_retention(), ex.T0)])  # the same people, still open
    result = await shred_expired(store, pool, "r-2", closed_at + 2 * PERIOD)
    assert result.shredded == []
    assert "r-3 is open" in result.kept[ex.RESPONDENT_ID]
    assert not await erased(store, ex.RESPONDENT_ID)
    _ = SYSTEM_ACTOR
