"""How the worker runs workflow code: Temporal's sandbox, with the product's own modules
passed through, and the SDK's per-payload serialization-context question answered outside
the sandbox when the data converter ignores that context.

By default the sandbox re-imports, for every workflow run it creates (each new case, and
each case replayed after leaving the cache), the workflow's module and every module not
passed through: here workflows/case.py, its package and search_attributes.py, and
email-validator's lazily imported parts (compiled from source again when no bytecode is
cached, e.g. under PYTHONDONTWRITEBYTECODE). Each cached case then kept its own copies of
those modules' code and classes: measured with memray, about a quarter of what a cached
case held (bench/memory.py), and a compilation per new run.

Passing them through is sound here because nothing they hold changes after import: the
domain is pure (tests/test_architecture.py), and the workflow modules keep no module-level
state (a case's state lives on its workflow instance). Determinism is still guarded where
it is checked: the test suite's workers and the history replayer use Temporal's default,
reloading sandbox, and tests/workflows/test_sandbox.py replays every checked-in history
under this one too. See temporalio's README, "Passthrough modules" and
``passthrough_all_modules`` (sdk-python PR 737).
"""

from __future__ import annotations

from collections.abc import Sequence

import temporalio.workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    SerializationContext,
    StorageDriverStoreContext,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# This package (whatever it is installed as) and the third-party modules the domain imports
# lazily at call time (email-validator's syntax check; idna and dnspython behind it).
PRODUCT = __name__.partition(".")[0]
PASSED_THROUGH = (PRODUCT, "email_validator", "idna", "dns")


def workflow_runner(converter: DataConverter | None = None) -> WorkflowRunner:
    """The sandbox with Temporal's default restrictions, the product passed through; given
    the worker's data converter, and when that converter ignores serialization context,
    wrapped so the context is not computed inside the sandbox (see ContextFreeRunner)."""
    sandbox = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH))
    if converter is not None and context_free(converter):
        return ContextFreeRunner(sandbox)
    return sandbox


def context_free(converter: DataConverter) -> bool:
    """Whether every serialization context gives back this very converter: no part of it
    (payload converter, codec, failure converter) takes context, and no external storage
    (whose store context is bound the same way)."""
    probes: tuple[SerializationContext, ...] = (
        WorkflowSerializationContext(namespace="probe", workflow_id="probe"),
        ActivitySerializationContext(
            namespace="probe", activity_id="probe", activity_type="probe",
            activity_task_queue="probe", workflow_id="probe", workflow_type="probe",
            is_local=True))
    return converter.external_storage is None and all(
        converter.with_context(probe) is converter for probe in probes)


class ContextFreeRunner(WorkflowRunner):
    """A runner whose instances say "no context" for every payload.

    For every payload it encodes or decodes (three passes each way per activation), the SDK
    asks the workflow instance which serialization context applies; a sandboxed instance
    answers by compiling and running code inside the sandbox with its import hooks applied:
    about 0.13 ms a question, measured with py-spy as 15% of the worker's main-thread CPU
    in bench/decisions.py (a decision carries payloads in its Update, its local append's
    input and result, and its answer). The SDK then picks the context-free converter or
    ``converter.with_context(context)``; ``workflow_runner`` uses this wrapper only when
    that is the same converter for every context (``context_free``), so the answer cannot
    change a byte. Only the public WorkflowRunner/WorkflowInstance interfaces are used.
    The converter given must be the one the worker (or replayer) is given. Wrapped, the
    runner is no longer a SandboxedWorkflowRunner to the SDK's own checks (its debug mode
    and OpenTelemetry plugin relax the sandbox they find); the product uses neither."""

    def __init__(self, inner: WorkflowRunner) -> None:
        self._inner = inner

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        self._inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFreeInstance(self._inner.create_instance(det))

    def set_worker_level_failure_exception_types(
            self, types: Sequence[type[BaseException]]) -> None:
        self._inner.set_worker_level_failure_exception_types(types)


class _ContextFreeInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance) -> None:
        self._inner = inner

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._inner.activate(act)

    def get_serialization_context(self, command_info: object) -> SerializationContext | None:
        return None

    def get_external_store_context(self, command_info: object) -> StorageDriverStoreContext:
        return StorageDriverStoreContext(target=None)

    def get_info(self) -> temporalio.workflow.Info:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()
