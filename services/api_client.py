"""The typed client over HTTP: the same methods and the same typed errors as
``DueProcessClient`` (services/client.py), spoken to `dueprocess api` (or `dev`) with an
access token, so a caller needs neither Temporal nor database access.

Problem responses (RFC 9457) become the client's errors: 404 on a case ``NotFound``,
503 or no answer at all ``ServiceUnavailable`` (the command may or may not have been
recorded: commands are idempotent, send it again), every other refusal
``CommandRejected`` with the error type, rule and field the API named.

Who acts is the token's subject, never the body: ``token`` is one bearer token, or a
function giving the token for an actor (the demo and tests act as several people; a
read asks for ``None``, the reader).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from ..domain import case as dc
from ..domain.base import Actor
from ..domain.envelope import PrincipalRecord
from ..workflows.case_contracts import DecisionResult
from .case_list import CasePage
from .client import ClientError, CommandRejected, NotFound, ServiceUnavailable

TokenSource = Callable[[Actor | None], str]
M = TypeVar("M", bound=BaseModel)

ROLE_HEADER = "X-Dueprocess-Role"
BREAK_GLASS_HEADER = "X-Break-Glass-Purpose"
PURPOSE_HEADER = "X-Purpose"
_DEADLINES = TypeAdapter(list[dc.Deadline])


class Unauthenticated(CommandRejected):
    """The API did not accept the token (missing, expired, of another issuer...)."""


def _problem(response: httpx.Response, case_id: str | None) -> ClientError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"detail": f"HTTP {response.status_code} {response.reason_phrase}"}
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    details = {k: body[k] for k in ("rule", "field", "request_id", "errors", "instance")
               if body.get(k) is not None}
    details["status"] = response.status_code
    error_type = str(body.get("error_type") or body.get("title") or "HttpError")
    status = response.status_code
    if status == 503 or status >= 500:
        return ServiceUnavailable(f"the API answered {status}: {detail}"
                                  + (f" (retry after {response.headers['retry-after']} s)"
                                     if "retry-after" in response.headers else ""))
    if status == 404 and case_id is not None and body.get("rule") == "case-exists":
        return NotFound(case_id)
    if status == 401:
        return Unauthenticated("Unauthenticated", detail, details)
    return CommandRejected(error_type, detail, details)


class ApiClient:
    """``DueProcessClient``'s interface over the HTTP API; a context manager."""

    def __init__(self, base_url: str, token: str | TokenSource, *, role: str | None = None,
                 timeout: float = 60.0, http: httpx.AsyncClient | None = None,
                 break_glass: str | None = None, purpose: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._role = role  # the role to act in, when the token holds several
        self._break_glass = break_glass
        self._purpose = purpose
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # -- the client's interface ------------------------------------------------------------

    async def file_report(
        self, command: dc.FileReport, *, idempotency_key: str, correlation_id: str | None = None,
        principal: PrincipalRecord | None = None,
    ) -> DecisionResult:
        """``correlation_id`` and ``principal`` are the API's to set (from the request and
        the token); they are accepted for the same signature and not sent."""
        if not idempotency_key.strip():
            raise CommandRejected("InvalidCommand", "the idempotency key must not be blank",
                                  {"rule": "idempotency-key", "field": "idempotency_key"})
        body = command.model_dump(mode="json")
        found = await self._json("POST", "/cases", actor=command.actor, json=body,
                                 headers={"Idempotency-Key": idempotency_key})
        return DecisionResult.model_validate(found)

    async def send(
        self, case_id: str, command: dc.CaseCommand, *, correlation_id: str | None = None,
        causation_id: str | None = None, principal: PrincipalRecord | None = None,
    ) -> DecisionResult:
        found = await self._json("POST", f"/cases/{_seg(case_id)}/commands", case_id=case_id,
                                 actor=command.actor, json=command.model_dump(mode="json"))
        return DecisionResult.model_validate(found)

    async def state(self, case_id: str) -> dc.CaseState:
        found = await self.get(f"/cases/{_seg(case_id)}", case_id=case_id)
        return dc.CaseState.model_validate(found["state"])

    async def deadlines(self, case_id: str) -> list[dc.Deadline]:
        found = await self.get(f"/cases/{_seg(case_id)}/deadlines", case_id=case_id)
        return _DEADLINES.validate_python(found)

    async def cases(
        self, *, stage: dc.CaseStage | None = None, overdue: bool = False,
        person_id: str | None = None, cursor: str | None = None, limit: int = 50,
        as_of: datetime | None = None,
    ) -> CasePage:
        found = await self.get("/cases", {
            "stage": None if stage is None else str(stage), "overdue": overdue or None,
            "person": person_id, "cursor": cursor, "limit": limit,
            "as_of": as_of.isoformat() if as_of else None})
        return CasePage.model_validate(found)

    # -- everything else the API answers -------------------------------------------------------

    async def timeline(self, case_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.get(f"/cases/{_seg(case_id)}/timeline",
                                                     case_id=case_id)
        return found

    async def record_fact(self, member_id: str, command: BaseModel) -> list[dict[str, Any]]:
        """A membership fact (MemberCommand); the events written ([] when on record)."""
        found: list[dict[str, Any]] = await self._json(
            "POST", f"/members/{_seg(member_id)}/facts", actor=getattr(command, "actor", None),
            json=command.model_dump(mode="json"))
        return found

    async def get(self, path: str, params: Mapping[str, Any] | None = None, *,
                  case_id: str | None = None) -> Any:
        """GET ``path`` as the reader; the answer's JSON (None-valued params left out)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return await self._json("GET", path, params=query, case_id=case_id)

    async def post(self, path: str, params: Mapping[str, Any] | None = None, *,
                   json: Any = None, actor: Actor | None = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return await self._json("POST", path, params=query, json=json, actor=actor)

    # -- the wire ------------------------------------------------------------------------------

    def _headers(self, actor: Actor | None) -> dict[str, str]:
        token = self._token if isinstance(self._token, str) else self._token(actor)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        role = actor.role if actor is not None else self._role
        if role:
            headers[ROLE_HEADER] = role
        if self._break_glass:
            headers[BREAK_GLASS_HEADER] = self._break_glass
        if self._purpose:
            headers[PURPOSE_HEADER] = self._purpose
        return headers

    async def _json(self, method: str, path: str, *, case_id: str | None = None,
                    actor: Actor | None = None, headers: Mapping[str, str] | None = None,
                    **kwargs: Any) -> Any:
        sent = {**self._headers(actor), **(headers or {})}
        try:
            response = await self._http.request(method, path, headers=sent, **kwargs)
        except httpx.TimeoutException as err:
            raise ServiceUnavailable(f"the API at {self.base_url} did not answer in time "
                                     f"({type(err).__name__})") from err
        except httpx.TransportError as err:
            raise ServiceUnavailable(f"cannot reach the API at {self.base_url} "
                                     f"({type(err).__name__}: {err})") from err
        if response.is_success:
            try:
                return response.json()
            except ValueError as err:
                raise ServiceUnavailable(f"the API at {self.base_url} answered {path} with "
                                         "something other than JSON") from err
        raise _problem(response, case_id)


def _seg(value: str) -> str:
    """One path segment: an id never splits a path or smuggles a query."""
    return quote(value, safe="")
