"""The worker's sandbox (workflows/sandbox.py) passes the product's modules through: every
checked-in history still replays under it, and each workflow run executes the worker's own
CaseWorkflow class and domain, not a copy re-imported for that run (a copy each cached
case used to hold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dueprocess.domain import case as dc
from dueprocess.workflows.case import CaseWorkflow
from dueprocess.workflows.sandbox import workflow_runner
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    Replayer,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
HISTORY_TEXT = {p: p.read_text() for p in HISTORIES}
RAN: list[tuple[type, Any]] = []  # (workflow class, CaseState class) as each run saw them


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        domain = vars(input.type)["run"].__globals__["dc"]  # what the workflow's module imported
        RAN.append((input.type, domain.CaseState))
        return await super().execute_workflow(input)


class _Witness(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Inbound


async def _replay(path: Path, runner: SandboxedWorkflowRunner) -> None:
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter,
                        workflow_runner=runner, interceptors=[_Witness()])
    await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, HISTORY_TEXT[path]))


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_under_the_workers_sandbox(path: Path) -> None:
    await _replay(path, workflow_runner())


async def test_each_run_uses_the_workers_own_classes() -> None:
    # given the worker's sandbox
    RAN.clear()
    # when workflow runs are created (each replay is a new run in a new sandbox)
    for path in HISTORIES[:3]:
        await _replay(path, workflow_runner())
    # then each ran the process's CaseWorkflow and domain, not copies of them
    assert len(RAN) == 3
    assert all(cls is CaseWorkflow and state is dc.CaseState for cls, state in RAN)


async def test_the_default_sandbox_would_copy_the_workflow_module_per_run() -> None:
    # The contrast the worker's sandbox exists for (the tests' workers keep this one).
    RAN.clear()
    await _replay(HISTORIES[0], SandboxedWorkflowRunner())
    assert [cls is CaseWorkflow for cls, _ in RAN] == [False]
