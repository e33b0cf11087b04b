"""The worker's sandbox (workflows/sandbox.py) passes the product's modules through: every
checked-in history still replays under it, and each workflow run executes the worker's own
CaseWorkflow class and domain, not a copy re-imported for that run (a copy each cached
case used to hold). With the product's data converter it is wrapped so no serialization
context is computed in the sandbox: every history replays under that too, and a converter
that takes context keeps the plain sandbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from dueprocess.domain import case as dc
from dueprocess.services.codec import PAYLOADS, SharedPayloadConverter, data_converter
from dueprocess.workflows.case import CaseWorkflow
from dueprocess.workflows.sandbox import ContextFreeRunner, context_free, workflow_runner
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    Replayer,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowRunner,
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


async def _replay(path: Path, runner: WorkflowRunner,
                  converter: DataConverter = pydantic_data_converter) -> None:
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=converter,
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


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_under_the_context_free_runner(path: Path) -> None:
    # given the runner the worker composes with the product's converter
    runner = workflow_runner(PAYLOADS)
    assert isinstance(runner, ContextFreeRunner)
    # when / then the history replays with that converter (the replayer raises on any
    # nondeterminism)
    await _replay(path, runner, PAYLOADS)


class _NoKeys:
    async def sealing_keys(self, subjects: Sequence[str]) -> dict[str, tuple[int, bytes] | None]:
        return {}

    async def opening_keys(self, key_ids: Sequence[int]) -> dict[int, bytes | None]:
        return {}


class _ContextCodec(PayloadCodec, WithSerializationContext):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    def with_context(self, context: SerializationContext) -> _ContextCodec:
        return _ContextCodec()


def test_only_a_converter_that_ignores_context_skips_asking_for_it() -> None:
    assert context_free(PAYLOADS) and context_free(data_converter(b"k" * 32))
    assert context_free(data_converter(b"k" * 32, _NoKeys()))  # what the worker composes
    assert context_free(pydantic_data_converter)
    # a codec that takes context must get it: the plain sandbox asks for each payload
    takes_context = dataclasses.replace(PAYLOADS, payload_codec=_ContextCodec())
    assert not context_free(takes_context)
    assert isinstance(workflow_runner(takes_context), SandboxedWorkflowRunner)
    assert isinstance(workflow_runner(), SandboxedWorkflowRunner)


async def test_the_shared_payload_converter_writes_the_pydantic_converters_bytes() -> None:
    # given a value the workflow exchanges (a case's state, as its query answers)
    value = dc.CaseState.empty("case-1")
    # when both converters encode it
    ours, theirs = await PAYLOADS.encode([value]), await pydantic_data_converter.encode([value])
    # then the bytes are the same, and every instance shares one set of encodings
    assert ours == theirs
    assert (await PAYLOADS.decode(ours, [dc.CaseState]))[0] == value
    first, second = SharedPayloadConverter(), SharedPayloadConverter()
    assert all(a is b for a, b in zip(first.converters.values(),
                                      second.converters.values(), strict=True))
