"""Reports are filed under the organisation's published rulebook, never a caller's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.rulebook import RulebookActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.domain.case.events import ReportFiled
from dueprocess.domain.policy import Deadlines, PolicyDocument
from dueprocess.services.client import CommandRejected, DueProcessClient
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseInput, CaseWorkflow, CommandRequest, case_stream
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

LENIENT = Deadlines(
    acknowledge="P3650D", respond="PT1S", minimum_hearing_notice="PT1S",
    disclosure_lead_time="PT1S", appeal_window="PT1S",
    interim_suspension_review="PT1S", rejoin_continuity_window="PT1S")


async def test_the_filed_case_pins_the_published_rulebook(
    story: Story, store: EventStore
) -> None:
    # Given the sample is published (fixture) and a report without a rulebook
    await story.file()
    # Then the case pins the published versions in force on its dates
    filed = (await store.read_stream(case_stream(story.case_id)))[0]
    report = ReportFiled.model_validate(filed.payload)
    published = load_policy_file(None)
    assert report.policy_id == published.policy_id
    assert report.pinned_versions == [published.version_named("2023.1")]


async def test_the_client_refuses_a_report_carrying_a_rulebook(story: Story) -> None:
    report = await story.build_report()
    with pytest.raises(CommandRejected) as caught:
        await story.client.file_report(report.model_copy(update={"policy": _lenient()}),
                                       idempotency_key="own-rulebook")
    assert (caught.value.rule, caught.value.field) == ("published-rulebook-only", "policy")


async def test_the_workflow_refuses_a_rulebook_from_a_caller_that_skips_the_client(
    env: WorkflowEnvironment, story: Story, store: EventStore
) -> None:
    # Given a report with a lenient rulebook of its own, sent straight to Temporal
    report = (await story.build_report()).model_copy(update={"policy": _lenient()})
    start = WithStartWorkflowOperation(
        CaseWorkflow.run, CaseInput(case_id="raw-1"), id="raw-1", task_queue="case-tests",
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    # Then the update is refused naming the field, and nothing is recorded
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await env.client.execute_update_with_start_workflow(
            "decide", CommandRequest(command=report), start_workflow_operation=start)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidCommand"
    assert cause.details[0]["field"] == "policy"
    assert await store.read_stream(case_stream("raw-1")) == []


async def test_with_no_published_rulebook_a_report_is_refused_not_stuck(
    env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    async def nothing_published() -> PolicyDocument | None:
        return None

    notes = NotificationActivities(pool, store, FileSink(tmp_path), "t@localhost")
    activities = EventStoreActivities(store)
    async with Worker(env.client, task_queue="unpublished", workflows=[CaseWorkflow],
                      activities=[activities.append_events, activities.load_stream,
                                  notes.dispatch_notifications,
                                  RulebookActivities(nothing_published).load_rulebook]):
        story = Story(DueProcessClient(env.client, "unpublished"), load_policy_file(None),
                      clock=env.get_current_time)
        with pytest.raises(CommandRejected) as caught:
            await story.file()
    assert (caught.value.error_type, caught.value.field) == ("PolicyViolation", "policy")
    assert "dueprocess policy publish" in caught.value.message


def _lenient() -> Any:
    sample = load_policy_file(None)
    return sample.model_copy(update={"versions": [
        v.model_copy(update={"deadlines": LENIENT.model_copy()}) for v in sample.versions]})
