"""What handlers are given: the services, the configuration, and the authenticated caller.

Identity comes only from the verified bearer token (services/identity.py); the role a
request acts in is one the token holds, picked with the ``X-Dueprocess-Role`` header (or
the ``act_as`` query parameter) when the token holds several.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.common import MetricMeter
from temporalio.converter import PayloadCodec

from ..domain.base import Actor, NotPermitted
from ..domain.policy import PolicyDocument
from ..services.client import DueProcessClient
from ..services.identity import Principal, Unauthenticated
from ..services.records import ForgettingSink, RecordsClient
from ..store.db import Database
from ..store.eventstore import EventStore

ROLE_HEADER = "X-Dueprocess-Role"
PURPOSE_HEADER = "X-Purpose"
BREAK_GLASS_HEADER = "X-Break-Glass-Purpose"


class Verifier(Protocol):
    async def verify(self, token: str) -> Principal: ...


@dataclass
class ApiServices:
    """What the API runs against (worker.py's Runtime provides each)."""

    client: DueProcessClient
    store: EventStore
    pool: Database
    policy: PolicyDocument  # membership facts and standing are judged under it
    sinks: Sequence[ForgettingSink] = ()  # sinks that forget an erased subject's notices
    codec: PayloadCodec | None = None  # the workers' payload codec (api/codec.py serves it)
    meter: MetricMeter | None = None  # request latency goes here (api/observe.py)


@dataclass(frozen=True)
class ApiConfig:
    max_body_bytes: int = 1024 * 1024
    timeout_seconds: float = 30.0
    page_limit: int = 200  # largest page of the case list and the feed
    feed_roles: frozenset[str] = frozenset({"auditor", "dpo", "integrator"})
    feed_clear_roles: frozenset[str] = frozenset({"dpo"})  # see personal values in the feed
    codec_origins: tuple[str, ...] = ()  # the Temporal UI's origin(s), for the codec's CORS
    extra: dict[str, str] = field(default_factory=dict)


def services(request: Request) -> ApiServices:
    found: ApiServices = request.app.state.services
    return found


def config(request: Request) -> ApiConfig:
    found: ApiConfig = request.app.state.config
    return found


def records(svc: Annotated[ApiServices, Depends(services)]) -> RecordsClient:
    return RecordsClient(svc.store, svc.pool)


_bearer = HTTPBearer(auto_error=False, description="An OIDC access token (JWT)")


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("no bearer access token was presented")
    verifier: Verifier = request.app.state.verifier
    found = await verifier.verify(credentials.credentials)
    request.state.principal = found
    return found


@dataclass(frozen=True)
class Caller:
    principal: Principal
    actor: Actor
    request_id: str | None


def _pick_role(held: frozenset[str], wanted: str | None) -> str:
    if wanted:
        return wanted  # Principal.actor refuses a role the token does not hold
    if len(held) == 1:
        return next(iter(held))
    raise NotPermitted(
        f"the token holds {len(held)} roles ({', '.join(sorted(held)) or 'none'}): pick one "
        f"with the {ROLE_HEADER} header", rule="role-from-token", field=ROLE_HEADER)


async def caller(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    role_header: Annotated[str | None, Header(
        alias=ROLE_HEADER, max_length=64,
        description="the role to act in, among the token's roles")] = None,
    act_as: Annotated[str | None, Query(
        max_length=64, description="the role to act in (instead of the header)")] = None,
) -> Caller:
    role = _pick_role(who.roles, role_header or act_as)
    return Caller(principal=who, actor=who.actor(role),
                  request_id=getattr(request.state, "request_id", None))


def require_role(who: Caller, roles: frozenset[str], what: str) -> None:
    require_actor_role(who.actor, roles, what)


def require_actor_role(actor: Actor, roles: frozenset[str], what: str) -> None:
    """The one role check, for API callers and console viewers alike."""
    if actor.role not in roles:
        raise NotPermitted(f"{what} needs one of the roles {', '.join(sorted(roles))} "
                           f"(acting as {actor.role})", rule="role-permission",
                           field=ROLE_HEADER)


CallerDep = Annotated[Caller, Depends(caller)]
ServicesDep = Annotated[ApiServices, Depends(services)]
ConfigDep = Annotated[ApiConfig, Depends(config)]
RecordsDep = Annotated[RecordsClient, Depends(records)]
