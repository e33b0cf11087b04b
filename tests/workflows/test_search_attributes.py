"""Cases in the Temporal UI: typed search attributes with procedure facts only.

The time-skipping test server accepts the upserts but keeps no visibility store
(ListWorkflowExecutions is unimplemented there, and describe shows no attributes), so the
upserts are read back from its history; listing cases by stage runs on the dev server
``dueprocess dev`` starts, with the attributes it registers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.devstack.stack import DevTemporal
from dueprocess.domain import case as dc
from dueprocess.services.client import DueProcessClient
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.search_attributes import register, require_registered
from dueprocess.settings import ConfigError
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows import search_attributes as sa
from dueprocess.workflows.case import CaseWorkflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import decode_typed_search_attributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# Polling the dev server's visibility store, which is updated after the workflow task:
# generous, and only a bound on a wait that ends as soon as the case is listed.
VISIBLE_WITHIN = 120


def test_the_dev_server_and_the_operator_register_the_same_typed_attributes() -> None:
    # Given the case attributes; then dev flags and operator commands name each with its type
    assert sa.registrations() == [
        ("DueProcessStage", "Keyword"), ("DueProcessNextDeadline", "Datetime"),
        ("DueProcessOverdue", "Bool"), ("DueProcessPolicyVersion", "Keyword"),
        ("DueProcessRulesCited", "KeywordList")]
    assert sa.start_dev_flags()[:2] == ["--search-attribute", "DueProcessStage=Keyword"]
    assert sa.operator_commands("discipline")[0] == (
        "temporal operator search-attribute create --namespace discipline "
        "--name DueProcessStage --type Keyword")
    assert "--search-attribute" in DevTemporal(Path("/nonexistent"), search_attributes=(
        sa.registrations())).command(7233, None)


def test_the_readme_gives_the_operator_step_for_every_attribute() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for command in sa.operator_commands("dueprocess"):
        assert command in readme


async def test_a_worker_refuses_a_namespace_without_the_attributes(tmp_path: Path) -> None:
    # Given a server where nobody registered the attributes
    async with DevTemporal(tmp_path, ui=False) as temporal:
        client = await Client.connect(temporal.address)
        # Then the worker's check names what is missing and the command that fixes it
        with pytest.raises(ConfigError, match="temporal operator search-attribute create"):
            await require_registered(client)
        # And once registered (as an operator does), it passes
        await register(client)
        await require_registered(client)


def test_only_changed_attributes_are_upserted_and_absent_ones_kept() -> None:
    empty = sa.case_attributes(dc.CaseState.empty("c"), None)
    assert sa.updates(empty, empty) == []
    assert {u.key.name for u in sa.updates(None, empty)} == {"DueProcessStage",
                                                              "DueProcessOverdue"}


async def test_a_case_publishes_its_stage_deadline_and_overdue_without_personal_data(
    story: Story, env: WorkflowEnvironment, record_history: Any,
) -> None:
    # Given a case taken up, noticed, and its respondent's answer overdue
    await story.file()
    await story.acknowledge_and_investigate()
    await story.notify_and_disclose()
    [respond] = [d for d in await story.client.deadlines(story.case_id) if d.kind == "respond"]
    await env.sleep((respond.due_at - await env.get_current_time()).total_seconds() + 60)
    # When the upserts are read back from the history
    published = await _upserted(env.client, story.case_id)
    # Then each step was published, the last one overdue, with procedure facts only
    stages = [p["DueProcessStage"] for p in published if "DueProcessStage" in p]
    assert stages[:2] == ["new", "reported"] and "notice_issued" in stages
    latest: dict[str, Any] = {}
    for p in published:
        latest.update(p)
    state = await story.client.state(story.case_id)
    assert latest["DueProcessOverdue"] is True and sa.overdue(state)
    assert latest["DueProcessPolicyVersion"] == state.report.procedure_version  # type: ignore[union-attr]
    assert latest["DueProcessRulesCited"] == ["R1"]
    text = repr(published)
    assert story.p.respondent not in text and story.p.complainant not in text
    await record_history(env, story.case_id, "response_overdue_search_attributes")


async def _upserted(client: Client, workflow_id: str) -> list[dict[str, Any]]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    found = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            attrs = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            typed = decode_typed_search_attributes(attrs)
            found.append({pair.key.name: pair.value for pair in typed})
    return found


async def test_cases_are_listed_by_stage_on_the_dev_server(
    tmp_path: Path, pool: asyncpg.Pool, store: EventStore, load_rulebook: Any,
    load_reporter_record: Any, load_respondent_record: Any,
) -> None:
    # Given the dev server `dueprocess dev` starts, with the attributes registered
    async with DevTemporal(tmp_path / "temporal", ui=False,
                           search_attributes=sa.registrations()) as temporal:
        client = await Client.connect(temporal.address, data_converter=pydantic_data_converter)
        notes = NotificationActivities(pool, store, FileSink(tmp_path / "out"), "t@localhost")
        activities = EventStoreActivities(store)
        async with Worker(client, task_queue="ui", workflows=[CaseWorkflow],
                          activities=[activities.append_events, activities.load_stream,
                                      notes.dispatch_notifications, load_rulebook,
                                      load_reporter_record, load_respondent_record]):
            story = Story(DueProcessClient(client, "ui"), load_policy_file(None))
            # When a case is taken up
            await story.file()
            await story.acknowledge_and_investigate()
            # Then staff find it by stage, with its next deadline and not overdue
            query = (f"WorkflowId = '{story.case_id}' AND "
                     "DueProcessStage = 'under_investigation' AND DueProcessOverdue = false")
            listed = await _listed(client, query)
            assert [w.id for w in listed] == [story.case_id]
            attrs = listed[0].typed_search_attributes
            assert attrs.get(sa.POLICY_VERSION) == "2023.1"
            assert attrs.get(sa.NEXT_DEADLINE) is not None


async def _listed(client: Client, query: str) -> list[Any]:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + VISIBLE_WITHIN
    while True:
        found = [w async for w in client.list_workflows(query)]
        if found or loop.time() > give_up:
            return found
        await asyncio.sleep(0.2)
