"""A decision is decided once (issue 14): the Update's validator runs decide() and the
handler, in the same activation on the same state, records those events instead of
deciding again. Replay runs no validators, so the handler decides there, to the same
events: the history replays unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.workflows.case import CaseWorkflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer


async def test_each_decision_is_decided_once_and_its_history_replays(
    story: Story, env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a filed case, and a count of the decider's runs (the domain is passed
    # through the workflow sandbox, so the workflow calls this very function)
    await story.file()
    calls: list[type[Any]] = []
    decide = dc.decide

    def counted(state: dc.CaseState, command: dc.CaseCommand, now: Any) -> list[dc.CaseEvent]:
        calls.append(type(command))
        return decide(state, command, now)

    monkeypatch.setattr(dc, "decide", counted)
    # When three staff decisions are made
    await story.acknowledge_and_investigate()
    # Then each was decided once (by its validator), not again by its handler
    assert calls == [dc.AcknowledgeReport, dc.TriageCase, dc.AssignInvestigator]
    # And the history, whose handlers reused the validators' events, replays without them
    monkeypatch.setattr(dc, "decide", decide)
    history = await env.client.get_workflow_handle(story.case_id).fetch_history()
    await Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter
                   ).replay_workflow(history)
