"""RFC 9457 problem details: every error the API answers with, and how it is chosen.

A business rejection carries the rule broken and the field at fault exactly as the
decider named them. Nothing a client sends reaches a stack trace: anything unforeseen is
logged here with its traceback and answered with a problem that names no internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from ..domain.base import CaseClosed, DomainError, InvalidInput, NotPermitted
from ..services.client import ClientError, NotFound, ServiceUnavailable
from ..services.client_errors import is_bad_input
from ..services.identity import IssuerUnavailable, Unauthenticated
from ..store.errors import UnreadableEvent
from ..store.eventstore import ConcurrencyConflict

log = logging.getLogger("dueprocess.api")

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER = "5"  # seconds: a service that is down usually comes back soon
# Rules whose breach is a conflict with what is on record rather than bad input.
CONFLICT_RULES = frozenset({"case-already-reported", "closed-case-is-final",
                            "idempotency-key-reused"})


class FieldProblem(BaseModel):
    field: str | None
    rule: str | None
    message: str


class Problem(BaseModel):
    """An error (RFC 9457); ``rule`` and ``field`` name what was broken, when known."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    rule: str | None = None
    field: str | None = None
    error_type: str | None = None
    request_id: str | None = None
    record: str | None = None  # an import's record at fault, e.g. cases[0].steps[2]
    errors: list[FieldProblem] = []


class ApiProblem(Exception):
    """Raised by handlers for a problem of their own (not a domain or client error)."""

    def __init__(self, status: int, title: str, detail: str, *, rule: str | None = None,
                 field: str | None = None, headers: dict[str, str] | None = None,
                 error_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.rule = rule
        self.field = field
        self.headers = headers or {}
        self.error_type = error_type


def invalid_input(detail: str, *, rule: str, field: str | None = None) -> ApiProblem:
    """Bad input found by a handler: typed as every other invalid input is (422,
    urn:...:InvalidInput, error_type InvalidInput)."""
    return ApiProblem(422, "Invalid input", detail, rule=rule, field=field,
                      error_type=InvalidInput.error_type)


def problem_response(request: Request | None, status: int, title: str, detail: str, *,
                     rule: str | None = None, field: str | None = None,
                     error_type: str | None = None, errors: Sequence[FieldProblem] = (),
                     headers: dict[str, str] | None = None,
                     record: str | None = None) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    body = Problem(
        type=f"urn:dueprocess:problem:{error_type or _slug(title)}", title=title,
        status=status, detail=detail, instance=request.url.path if request else None,
        rule=rule, field=field, error_type=error_type, request_id=request_id,
        errors=list(errors), record=record)
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def _slug(title: str) -> str:
    return "-".join(title.lower().split())


def _status_for(error_type: str, rule: str | None) -> int:
    if error_type == "NotFound" or rule == "case-exists":
        return 404
    if error_type == NotPermitted.error_type:
        return 403
    if error_type == CaseClosed.error_type or rule in CONFLICT_RULES:
        return 409
    return 422


def _rejection(request: Request, err: ClientError | DomainError) -> JSONResponse:
    status = _status_for(err.error_type, err.rule)
    title = {404: "Not found", 403: "Not permitted", 409: "Conflict"}.get(
        status, "Invalid input" if is_bad_input(err) else "Rejected")
    return problem_response(request, status, title, err.message, rule=err.rule,
                            field=err.field, error_type=err.error_type,
                            record=getattr(err, "record", None))


def _unavailable(request: Request, detail: str, rule: str) -> JSONResponse:
    return problem_response(request, 503, "Service unavailable", detail, rule=rule,
                            error_type="ServiceUnavailable",
                            headers={"Retry-After": RETRY_AFTER})


def _loc(loc: Sequence[Any]) -> str:
    # FastAPI prefixes where the value came from ("body", "query", "header").
    return ".".join(str(x) for x in loc)


def _field(error: Any) -> str | None:
    # A command of no known type fails on the discriminator, at the top of the body.
    where = _loc(error.get("loc", ()))
    return where or ("type" if str(error.get("type", "")).startswith("union_tag") else None)


def validation_problem(request: Request, errors: Sequence[Any]) -> JSONResponse:
    problems = [FieldProblem(field=_field(e), rule=e.get("type"),
                             message=str(e.get("msg", "invalid")))
                for e in errors[:20]]
    first = problems[0] if problems else FieldProblem(field=None, rule=None, message="invalid")
    return problem_response(request, 422, "Invalid input",
                            f"{first.field or '(request)'}: {first.message}",
                            rule=first.rule, field=first.field, error_type="InvalidInput",
                            errors=problems)


def install(app: FastAPI) -> None:
    """Map every failure to a problem response."""

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, err: ApiProblem) -> JSONResponse:
        return problem_response(request, err.status, err.title, err.detail, rule=err.rule,
                                field=err.field, error_type=err.error_type,
                                headers=err.headers)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, err: Unauthenticated) -> JSONResponse:
        if isinstance(err, IssuerUnavailable):
            return _unavailable(request, f"the identity provider cannot be reached: {err}",
                                "issuer-reachable")
        return problem_response(
            request, 401, "Unauthenticated", str(err), rule="verified-token",
            field="Authorization", error_type="Unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="dueprocess", error="invalid_token"'})

    @app.exception_handler(ServiceUnavailable)
    async def _service(request: Request, err: ServiceUnavailable) -> JSONResponse:
        return _unavailable(request, err.message, "temporal-reachable")

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, err: NotFound) -> JSONResponse:
        return _rejection(request, err)

    @app.exception_handler(ClientError)
    async def _client(request: Request, err: ClientError) -> JSONResponse:
        return _rejection(request, err)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, err: DomainError) -> JSONResponse:
        return _rejection(request, err)

    @app.exception_handler(ConcurrencyConflict)
    async def _conflict(request: Request, err: ConcurrencyConflict) -> JSONResponse:
        return problem_response(request, 409, "Conflict", "another writer got there first: "
                                "send it again", rule="expected-version",
                                error_type="ConcurrencyConflict")

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, err: RequestValidationError) -> JSONResponse:
        return validation_problem(request, err.errors())

    @app.exception_handler(ValidationError)
    async def _model(request: Request, err: ValidationError) -> JSONResponse:
        return validation_problem(request, err.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed", 413: "Content too large"}.get(
            err.status_code, "Error")
        return problem_response(request, err.status_code, title, str(err.detail),
                                headers=dict(err.headers or {}))

    @app.exception_handler(UnreadableEvent)
    async def _odd_data(request: Request, err: UnreadableEvent) -> JSONResponse:
        # The server's stored record, not the request, is at fault: a finding, no traceback.
        log.warning("odd stored data: %s", err)
        return problem_response(request, 500, "Odd stored data", str(err),
                                rule="stored-record-readable",
                                error_type="UnreadableStoredData")

    @app.exception_handler(Exception)
    async def _anything(request: Request, err: Exception) -> JSONResponse:
        if isinstance(err, OSError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError
                      | asyncpg.exceptions.CannotConnectNowError | RPCError):
            log.warning("service unavailable: %s: %s", type(err).__name__, err)
            return _unavailable(request, "a service this request needs is unavailable",
                                "service-reachable")
        if isinstance(err, asyncpg.DataError):
            return problem_response(request, 422, "Invalid input",
                                    "the database refused a value in the request",
                                    rule="database-accepts-input", error_type="InvalidInput")
        log.error("unexpected failure on %s %s", request.method, request.url.path,
                  exc_info=err)
        return problem_response(request, 500, "Internal error",
                                "the request could not be completed; it is logged under "
                                "this request id", error_type="InternalError")
