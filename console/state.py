"""What the console runs on: the API's services, its verifier, sessions and settings."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request

from ..api.deps import ApiServices, Verifier
from .sessions import Sessions

CLIENT_ID = "dueprocess-console"


@dataclass(frozen=True)
class ConsoleConfig:
    """``issuer``: the OIDC issuer to sign in with (None: sign-in is unavailable, said
    on the page). ``session_secret`` signs the cookie and seals the sessions' tokens
    (sessions.py); every replica of the API needs the same one (the default, random per
    process, is for development and tests: `dueprocess api` refuses to start without
    DUEPROCESS_CONSOLE_SESSION_SECRET)."""

    issuer: str | None = None
    client_id: str = CLIENT_ID
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session_ttl: timedelta = timedelta(hours=8)  # at most; the token's expiry ends it sooner
    # The time the dry runs judge at (default: the wall clock); tests pass the workflow
    # test server's clock, which time skipping moves ahead.
    clock: Callable[[], Awaitable[datetime]] | None = None


@dataclass
class ConsoleState:
    services: ApiServices
    verifier: Verifier
    config: ConsoleConfig
    sessions: Sessions
    oauth: Any  # authlib's starlette OAuth registry (untyped library)


def console(request: Request) -> ConsoleState:
    found: ConsoleState = request.app.state.console
    return found


def services(request: Request) -> ApiServices:
    return console(request).services
