"""How the worker runs workflow code: Temporal's sandbox, with the product's own modules
passed through.

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

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# This package (whatever it is installed as) and the third-party modules the domain imports
# lazily at call time (email-validator's syntax check; idna and dnspython behind it).
PRODUCT = __name__.partition(".")[0]
PASSED_THROUGH = (PRODUCT, "email_validator", "idna", "dns")


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox with Temporal's default restrictions, the product passed through."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH))
