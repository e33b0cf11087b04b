"""The direct client's case list (issue 15): ``DueProcessClient.cases`` reads the case list
read model from the database it is given, with the stage age and ``overdue`` judged at
read time, the same page the HTTP API answers."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.services.client import ClientError, CommandRejected, DueProcessClient
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from temporalio.testing import WorkflowEnvironment

QUEUE = "case-tests"  # the queue the shared worker fixture serves


async def test_the_direct_clients_case_list(
    story: Story, env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore,
) -> None:
    # Given a case at notice, projected into the case list
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    await ProjectionRunner(pool, store, default_projections(load_policy_file(None))).catch_up()
    listing = DueProcessClient(env.client, QUEUE, pool)
    # When the list is read now, then the case is there with its stage and its age
    [row] = (await listing.cases()).items
    assert (row.case_id, row.stage) == (story.case_id, dc.CaseStage.NOTICE_ISSUED)
    assert row.next_deadline_kind and row.next_deadline_at is not None
    assert row.stage_age_seconds is not None and row.stage_age_seconds >= 0
    # and read 40 days after its stage began, it is overdue and 40 days in its stage
    assert row.stage_entered_at is not None
    later = row.stage_entered_at + timedelta(days=40)
    [late] = (await listing.cases(overdue=True, as_of=later)).items
    assert late.overdue and late.stage_age_days == 40
    # and the filters narrow it
    assert (await listing.cases(stage=dc.CaseStage.CLOSED)).items == []
    assert (await listing.cases(person_id="m-nobody")).items == []
    assert [c.case_id for c in (await listing.cases(person_id=story.p.respondent)).items] == [
        story.case_id]
    # and a bad cursor or limit is refused naming the field
    with pytest.raises(CommandRejected) as caught:
        await listing.cases(cursor="%%%")
    assert (caught.value.rule, caught.value.field) == ("valid-cursor", "cursor")
    assert caught.value.error_type == "InvalidInput"  # typed as over HTTP: bad input
    with pytest.raises(CommandRejected) as caught:
        await listing.cases(limit=0)
    assert caught.value.field == "limit"
    # and a client given no database says it cannot list cases
    with pytest.raises(ClientError) as caught_list:
        await story.client.cases()
    assert caught_list.value.rule == "case-list-source"
