"""GDPR storage limitation for memberships, on the time-skipping server: when a membership
ends, its durable timer (the same RetentionWorkflow as a closed case's) is started, and
when it fires the former member is shredded (SubjectErased) unless a case naming them is
still open; the sweep starts the timer of an ended membership that has none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from dueprocess.activities.retention import RetentionActivities
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.membership.member import RecordJoined, RecordResigned
from dueprocess.domain.policy import PolicyDocument
from dueprocess.domain.records import SubjectErased
from dueprocess.domain.retention import RetentionResult
from dueprocess.domain.streams import subject_stream
from dueprocess.services.client import DueProcessClient
from dueprocess.services.members import MemberService, StartMemberTimer
from dueprocess.services.notifications import FileSink
from dueprocess.services.retention_sweep import sweep_retention
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.retention import RetentionWorkflow, member_retention_workflow_id
from fixtures import reporter_examples as rx
from fixtures.retention import PERIOD, short_retention
from fixtures.skipped_time import result_after
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

QUEUE = "member-retention-tests"
ADMIN = Actor(id="backoffice-1", role="membership_admin")


@pytest.fixture
async def client(env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore,
                 tmp_path: Path) -> AsyncIterator[DueProcessClient]:
    async def rulebook() -> PolicyDocument:
        return short_retention()

    shred = RetentionActivities(store, pool, [FileSink(tmp_path / "outbox")], rulebook)
    async with Worker(env.client, task_queue=QUEUE, workflows=[RetentionWorkflow],
                      activities=[shred.shred_for_retention]):
        yield DueProcessClient(env.client, QUEUE)


async def resigned(env: WorkflowEnvironment, store: EventStore, member: str,
                   retain: StartMemberTimer | None) -> datetime:
    """The member joins a year ago and resigns now; returns when the membership ended."""
    now = await env.get_current_time()
    service = MemberService(store, short_retention(), retain=retain)
    await service.record(member, RecordJoined(
        actor=ADMIN, authority="bylaws", membership_number=f"N-{member}",
        joined_on=(now - timedelta(days=365)).date()), now)
    await service.record(member, RecordResigned(actor=ADMIN, authority="bylaws",
                                                in_protest=False), now)
    state, _ = await service.load(member)
    assert state.left_at is not None
    return state.left_at


def timer(env: WorkflowEnvironment, member: str,
          ended_at: datetime) -> WorkflowHandle[object, RetentionResult]:
    return env.client.get_workflow_handle(member_retention_workflow_id(member, ended_at),
                                          result_type=RetentionResult)


async def fired(env: WorkflowEnvironment, handle: WorkflowHandle[object, RetentionResult],
                ) -> RetentionResult:
    """The timer's result once its period has passed on the time-skipping server."""
    return await result_after(env, handle, PERIOD + timedelta(days=1))


async def erased(store: EventStore, person: str) -> bool:
    return any(r.event_type == SubjectErased.__name__
               for r in await store.read_stream(subject_stream(person)))


async def test_an_ended_memberships_timer_shreds_the_former_member(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore) -> None:
    member = f"m-left-{uuid.uuid4().hex[:6]}"
    # given a member whose resignation is recorded (which starts the membership's timer)
    ended = await resigned(env, store, member, client.start_member_retention)
    handle = timer(env, member, ended)
    assert (await handle.describe()).task_queue == QUEUE
    # when the membership's retention period passes (the server skips time to the timer)
    result = await fired(env, handle)
    # then the former member, named by no other record, is shredded as SubjectErased
    assert result.member_id == member and result.shredded == [member]
    assert await erased(store, member)


async def test_an_open_case_refuses_the_membership_shredding(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore) -> None:
    run = uuid.uuid4().hex[:6]
    member, reporter = f"m-left-{run}", f"m-rep-{run}"
    # given a case against the member, still open
    report = rx.member_report(reporter, member).model_copy(update={"policy": rx.policy()})
    opened = dc.decide(dc.CaseState.empty(f"open-{run}"), report,
                       await env.get_current_time())
    await store.append(f"case-open-{run}", 0, [
        envelope_for(e, event_id=uuid.uuid4(), recorded_at=e.effective_at,
                     correlation_id=run) for e in opened])
    # when the member resigns and the membership's period passes
    ended = await resigned(env, store, member, client.start_member_retention)
    result = await fired(env, timer(env, member, ended))
    # then the shredding is refused, the reason recorded in the timer's result, and the
    # case, once closed, starts its own timer, which judges the member again
    assert result.shredded == [] and "open" in result.kept[member]
    assert not await erased(store, member)


async def test_the_sweep_starts_the_timer_of_an_ended_membership_that_has_none(
        env: WorkflowEnvironment, client: DueProcessClient, pool: asyncpg.Pool,
        store: EventStore) -> None:
    member = f"m-swept-{uuid.uuid4().hex[:6]}"
    # given a resignation recorded where no timer could be started (the CLI, Temporal down)
    ended = await resigned(env, store, member, None)
    # when the retention sweep runs (a dry run first: it starts nothing)
    dry = await sweep_retention(pool, store, None, policy=short_retention())
    assert dry.members_timed[member] == ended + PERIOD
    report = await sweep_retention(pool, store, client.start_retention,
                                   policy=short_retention(),
                                   start_member=client.start_member_retention)
    # then the membership's timer runs, due the period after it ended, and shreds
    assert report.members_timed[member] == ended + PERIOD
    handle = timer(env, member, ended)
    result = await fired(env, handle)
    assert result.shredded == [member] and await erased(store, member)
    # and sweeping again keeps the timer that ran: nothing is started twice
    ran = (await handle.describe()).run_id
    again = await sweep_retention(pool, store, client.start_retention,
                                  policy=short_retention(),
                                  start_member=client.start_member_retention)
    assert member in again.members_timed and (await handle.describe()).run_id == ran
