"""The typed errors of the case clients, and how Temporal's failures become them: a
business rejection as ``CommandRejected`` (type, rule, field as the decider raised them),
an unknown case as ``NotFound``, Temporal unreachable as ``ServiceUnavailable``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from ..domain.base import DomainError, InvalidInput

_UNAVAILABLE = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                          RPCStatusCode.CANCELLED, RPCStatusCode.UNKNOWN,
                          RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.INTERNAL})


class ClientError(Exception):
    """Base of what the client raises: a stable ``error_type``, the ``rule`` and
    ``field`` when one is at fault, and ``details`` for machines."""

    def __init__(self, error_type: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.rule: str | None = details.get("rule")
        self.field: str | None = details.get("field")
        self.details = details


class CommandRejected(ClientError):
    """The case (or the model) refused the command: nothing was recorded."""


class NotFound(CommandRejected):
    """No such case."""

    def __init__(self, case_id: str) -> None:
        super().__init__("NotFound", f"no case {case_id!r}",
                         {"rule": "case-exists", "field": "case_id", "case_id": case_id})


def is_bad_input(err: ClientError | DomainError) -> bool:
    """Bad input, not a refused step (exit 2, "Invalid input"): the domain says so, or
    the API did (it answers InvalidInput)."""
    if isinstance(err, DomainError):
        return err.bad_input
    return err.error_type == InvalidInput.error_type


class ServiceUnavailable(ClientError):
    """Temporal could not be reached, or went away during the call. The command may or may
    not have been recorded: send it again (commands are idempotent)."""

    def __init__(self, message: str) -> None:
        super().__init__("ServiceUnavailable", message, {"rule": "temporal-reachable"})


def rejected(err: WorkflowUpdateFailedError) -> Exception:
    cause: BaseException | None = err.cause
    while isinstance(cause, ActivityError):  # a store failure surfaced without mapping
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.type:
        details = cause.details[0] if cause.details else {}
        return CommandRejected(cause.type, cause.message, details if isinstance(details, dict)
                               else {})
    return CommandRejected("UpdateFailed", str(cause or err), {"rule": "recorded-or-rejected"})


def closed_case(case_id: str, field: str) -> CommandRejected:
    return CommandRejected("CaseClosed", f"case {case_id} is closed: its record is final", {
        "rule": "closed-case-is-final", "field": field, "case_id": case_id})


def domain_rejection(err: DomainError) -> CommandRejected:
    return CommandRejected(err.error_type, err.message, err.details())


@contextmanager
def rpc_errors(case_id: str) -> Iterator[None]:
    """Raw RPC failures as the client's typed errors."""
    try:
        yield
    except (RPCTimeoutOrCancelledError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        raise ServiceUnavailable(f"Temporal did not answer in time: {err}") from err
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise NotFound(case_id) from err
        if err.status in _UNAVAILABLE:
            raise ServiceUnavailable(f"Temporal unavailable: {err.message}") from err
        raise
