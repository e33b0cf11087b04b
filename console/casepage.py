"""The case page (staff, auditors), the respondent's portal and the complainant's view,
and the actions sent from them.

Reads go through the API's authorisation (api/access.py ``authorise_read``) and the
records service (the read is recorded, the respondent sees only what was disclosed).
Commands are validated with the API's adapter, carry the signed-in actor (api/schemas
``with_actor``; never a form field) and go through the same client call as the API's
``POST /cases/{id}/commands``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ..api.access import authorise_read, case_state
from ..api.schemas import with_actor
from ..domain import case as dc
from ..domain.base import NotPermitted
from ..domain.case import roles
from ..domain.case.commands import COMMAND_TYPES
from ..services.client import CommandRejected
from .actions import Action, actions_for, commands_for, title_of
from .caseview import PURPOSE, read_view
from .forms import controls, document, errors_of, leaves
from .render import render, url_for
from .session import Viewer, ViewerDep, checked_form
from .state import console, services

router = APIRouter()
CaseId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$")]
CommandName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z]+$")]
# Whose personal data a form's free-text field holds, when not the respondent's: the form
# field naming that person.
SUBJECTS = {"content": "from_person_id"}


def done(request: Request) -> str | None:
    """The command just recorded (``?done=``), only ever a command's name: the page never
    repeats arbitrary text from its URL."""
    name = request.query_params.get("done")
    return name if name in COMMAND_TYPES else None


async def now(request: Request) -> datetime:
    clock = console(request).config.clock
    return await clock() if clock is not None else datetime.now(UTC)


@router.get("/cases/{case_id}", include_in_schema=False)
async def case_page(request: Request, case_id: CaseId, who: ViewerDep) -> HTMLResponse:
    return await _page(request, who, case_id, None)


@router.post("/cases/{case_id}/break-glass", include_in_schema=False)
async def break_glass(request: Request, case_id: CaseId, who: ViewerDep) -> HTMLResponse:
    """An unassigned staff member reads the case, stating why (POSTed, so the purpose
    stays out of URLs and logs; the read is recorded and flagged as the API's is)."""
    form = await checked_form(request, who)
    purpose = form.get("purpose")
    return await _page(request, who, case_id, None,
                       glass=purpose.strip()[:500] if isinstance(purpose, str) else None)


async def _page(request: Request, who: Viewer, case_id: str, submitted: Action | None,
                status: int = 200, glass: str | None = None) -> HTMLResponse:
    svc = services(request)
    full = await case_state(svc.store, case_id)
    try:
        basis = authorise_read(full, who.actor, glass or None)
    except NotPermitted as err:
        if err.rule != "break-glass-purpose":
            raise
        return render(request, who, "break_glass.html", status=403, case_id=case_id,
                      message=err.message)
    view = await read_view(svc, case_id, full, who.actor, basis, glass or PURPOSE)
    if who.role == roles.COMPLAINANT:
        return render(request, who, "standing.html", status=status, view=view,
                      done=done(request))
    actions = actions_for(full, who.actor, await now(request))
    if submitted is not None:
        actions = [submitted if a.name == submitted.name else a for a in actions]
    template = "portal.html" if who.role == roles.RESPONDENT else "case.html"
    return render(request, who, template, status=status, view=view, actions=actions,
                  done=done(request), now=await now(request))


@router.post("/cases/{case_id}/act/{name}", include_in_schema=False)
async def act(request: Request, case_id: CaseId, name: CommandName,
              who: ViewerDep) -> Response:
    form = await checked_form(request, who)
    allowed = {cls.__name__: cls for cls in commands_for(who.role)}
    command_type = allowed.get(name)
    if command_type is None:
        raise NotPermitted(f"{who.role} may not send {name} from the console",
                           rule="role-permission", field="type")
    svc = services(request)
    full = await case_state(svc.store, case_id)
    authorise_read(full, who.actor, None)  # acting needs a part in the case, not the glass
    values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"}
    action = Action(name=name, title=title_of(name), status="available",
                    form=controls(command_type), values=values)
    subject = full.respondent.person_id if full.respondent else who.subject
    doc = document(command_type, values, SUBJECTS, subject)
    try:
        command = dc.CASE_COMMAND_ADAPTER.validate_python(
            with_actor({**doc, "type": name}, who.actor))
    except ValidationError as err:
        action.errors = errors_of(err, tag=name)
        return await _page(request, who, case_id, action, status=422)
    try:
        await svc.client.send(case_id, command,
                              causation_id=getattr(request.state, "request_id", None),
                              principal=who.record(getattr(request.state, "request_id", None)))
    except CommandRejected as err:
        explain(action, err)
        return await _page(request, who, case_id, action, status=409)
    back = "/work" if values.get("back") == "work" else f"/cases/{case_id}"
    return RedirectResponse(url_for(request, f"{back}?done={name}"), status_code=303)


def explain(action: Action, err: CommandRejected) -> None:
    """Put the decider's refusal next to the field it names, or above the form."""
    message = f"{err.message} (rule {err.rule})" if err.rule else err.message
    names = _names(action)
    field = err.field or ""
    target = next((n for n in sorted(names, key=len, reverse=True)
                   if field == n or field.startswith(n + ".")), None)
    if target is not None:
        action.errors[target] = message
    else:
        action.problem = f"{err.error_type}: {message}"


def _names(action: Action) -> list[str]:
    return [c.name for c in leaves(action.form)]
