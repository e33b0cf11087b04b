"""Who is looking: the signed-in person (``Viewer``), from a verified token only.

``viewer`` is the dependency pages use (``ViewerDep``); ``checked_form`` reads a POSTed
form after checking its CSRF token against the session's.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from ..domain.base import Actor
from ..domain.case import roles as case_roles
from ..domain.envelope import PrincipalRecord
from ..services.identity import IssuerUnavailable, Principal, Unauthenticated
from .state import console

SESSION_KEY = "sid"
# The role a person with several roles acts in until they pick another: staff work first.
ROLE_ORDER = (case_roles.CASE_OFFICER, case_roles.INVESTIGATOR, case_roles.PANEL_MEMBER,
              case_roles.APPEAL_PANEL_MEMBER, "auditor", "dpo", case_roles.RESPONDENT,
              case_roles.COMPLAINANT)


class SignInRequired(Exception):
    """No live session: the console redirects to sign in (see app.py)."""


class CsrfRefused(Exception):
    """A form came without this session's CSRF token."""


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    role: str
    csrf: str
    sid: str

    @property
    def actor(self) -> Actor:
        """The actor of every command sent: the token's subject in the role picked."""
        return self.principal.actor(self.role)

    @property
    def subject(self) -> str:
        return self.principal.subject

    @property
    def roles(self) -> list[str]:
        return sorted(self.principal.roles, key=_rank)

    def record(self, request_id: str | None = None) -> PrincipalRecord:
        return self.principal.record(request_id)


def _rank(role: str) -> tuple[int, str]:
    return (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), role)


async def viewer(request: Request) -> Viewer:
    state = console(request)
    sid = request.session.get(SESSION_KEY)
    data = await state.sessions.get(sid)
    if data is None or not isinstance(sid, str):
        raise SignInRequired()
    try:
        principal = await state.verifier.verify(data.token)
    except IssuerUnavailable:
        raise  # nobody can be verified right now: not a reason to end the session
    except Unauthenticated:
        await state.sessions.close(sid)
        raise SignInRequired() from None
    held = sorted(principal.roles, key=_rank)
    if not held:
        raise SignInRequired()
    role = data.role if data.role in principal.roles else held[0]
    return Viewer(principal=principal, role=role, csrf=data.csrf, sid=sid)


async def checked_form(request: Request, who: Viewer) -> FormData:
    """The POSTed form, once its CSRF token matches the session's."""
    form = await request.form()
    given = form.get("csrf")
    if not isinstance(given, str) or not hmac.compare_digest(given, who.csrf):
        raise CsrfRefused()
    return form


ViewerDep = Annotated[Viewer, Depends(viewer)]
