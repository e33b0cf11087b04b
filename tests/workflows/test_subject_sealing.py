"""Personal values travel through Temporal sealed under their subject's own key, so an
erasure reaches Temporal's history and workflow state too (services/sealing.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import RB, Story
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor
from dueprocess.domain.case.values import DismissalReason, TriageOutcome
from dueprocess.services.client import DueProcessClient
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.records import RecordsClient
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow
from fixtures.sealed_temporal import history_payloads, sealed_environment
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

QUEUE = "sealed-subjects"
DPO = Actor(id="dpo-1", role="data_protection_officer")
# What the demo report says about the respondent (name, contact, particulars, evidence).
RESPONDENT = ("Daniel Okafor", "daniel@example.org", "vermin", "Screenshot of the public post")
COMPLAINANT = ("Priya Shah", "priya@example.org")


@pytest.fixture
async def sealed_env(pool: asyncpg.Pool, test_server_path: str) -> AsyncIterator[
        WorkflowEnvironment]:
    # No payload key: only the subjects' keys keep personal values out of the history.
    async with sealed_environment(test_server_path, None, pool) as env:
        yield env


async def _dismissed_and_closed(story: Story) -> None:
    await story.file()
    await story.send(dc.AcknowledgeReport(actor=story.officer, authority=f"{RB} s.3.2"))
    await story.send(dc.TriageCase(
        actor=story.officer, authority=f"{RB} s.3.3", outcome=TriageOutcome.DISMISS,
        dismissal_reason=DismissalReason.NO_CASE_TO_ANSWER, reasons="No rule is engaged."))
    await story.close()


async def _decoded_history(env: WorkflowEnvironment, history: WorkflowHistory) -> str:
    """Every payload of the history as this client would decode it, as one text."""
    codec = env.client.data_converter.payload_codec
    assert codec is not None
    found = history_payloads(history)
    assert found
    return "\n".join(p.data.decode() for p in await codec.decode(found))


async def test_erasure_reaches_temporal_history_and_case_state(
    sealed_env: WorkflowEnvironment, pool: asyncpg.Pool, store: EventStore, tmp_path: Path,
    load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
) -> None:
    env = sealed_env
    activities = EventStoreActivities(store)
    notes = NotificationActivities(pool, store, FileSink(tmp_path), "t@localhost")
    async with Worker(env.client, task_queue=QUEUE, workflows=[CaseWorkflow],
                      activities=[activities.append_events, activities.load_stream,
                                  notes.dispatch_notifications, load_rulebook,
                                  load_reporter_record, load_respondent_record]):
        # Given a case filed, dismissed and closed
        story = Story(DueProcessClient(env.client, QUEUE), load_policy_file(None),
                      clock=env.get_current_time)
        await _dismissed_and_closed(story)
        await env.client.get_workflow_handle(story.case_id).result()
        history = await env.client.get_workflow_handle(story.case_id).fetch_history()
        # The server holds no personal value in clear; this client reads them all.
        raw = history.to_json()
        assert [s for s in RESPONDENT + COMPLAINANT if s in raw] == []
        readable = await _decoded_history(env, history)
        assert all(s in readable for s in RESPONDENT + COMPLAINANT)

        # When the respondent is erased
        await RecordsClient(store, pool).erase_subject(
            story.p.respondent, DPO, reason="Art 17 request", authority="GDPR Art 17")

        # Then neither the history nor the case's state shows anything of theirs
        history = await env.client.get_workflow_handle(story.case_id).fetch_history()
        readable = await _decoded_history(env, history)
        assert [s for s in RESPONDENT if s in readable] == []
        assert all(s in readable for s in COMPLAINANT)  # only the erased person's values go
        state = await story.client.state(story.case_id)
    assert state.respondent is not None and state.respondent.name.erased
    text = state.model_dump_json()
    assert [s for s in RESPONDENT if s in text] == []
    assert "Priya Shah" in text
