"""With a payload key, Temporal's history holds no personal data in clear."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story
from dueprocess.services.client import DueProcessClient
from dueprocess.services.codec import data_converter
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.search_attributes import register
from dueprocess.settings import ConfigError, Settings
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


async def test_sealed_payloads_keep_personal_data_out_of_history(
    pool: asyncpg.Pool, store: EventStore, tmp_path: Path, test_server_path: str,
    load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
) -> None:
    key = os.urandom(32)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path, data_converter=data_converter(key),
        test_server_startup_timeout=timedelta(seconds=60))
    try:
        await register(env.client)
        notes = NotificationActivities(pool, store, FileSink(tmp_path), "t@localhost")
        async with Worker(env.client, task_queue="sealed", workflows=[CaseWorkflow],
                          activities=[EventStoreActivities(store).append_events,
                                      EventStoreActivities(store).load_stream,
                                      notes.dispatch_notifications, load_rulebook,
                                      load_reporter_record, load_respondent_record]):
            story = Story(DueProcessClient(env.client, "sealed"), load_policy_file(None),
                          clock=env.get_current_time)
            await story.file()
            await story.acknowledge_and_investigate()
            state = await story.client.state(story.case_id)
            assert state.respondent is not None
            assert state.respondent.name.value == "Daniel Okafor"
            history = await env.client.get_workflow_handle(story.case_id).fetch_history()
    finally:
        await env.shutdown()
    raw = history.to_json()
    assert "Daniel Okafor" not in raw and "Priya Shah" not in raw
    assert "priya@example.org" not in raw


def test_payload_key_must_be_32_bytes_and_is_never_echoed() -> None:
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DUEPROCESS_PAYLOAD_KEY": short})
    assert "DUEPROCESS_PAYLOAD_KEY: must decode to 32 bytes" in str(caught.value)
    assert short not in str(caught.value)
    good = base64.b64encode(os.urandom(32)).decode()
    assert Settings.from_env({"DUEPROCESS_PAYLOAD_KEY": good}).payload_key_bytes() is not None
