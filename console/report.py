"""Filing a report from the console: the FileReport form, generated from its model like
every other command, sent as ``POST /cases`` sends it (the actor is the signed-in
complainant or intake; the idempotency key is drawn when the form is shown, so sending
the same form twice files one case)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ..api.schemas import with_actor
from ..domain import case as dc
from ..domain.base import NotPermitted
from ..domain.case.roles import PERMISSIONS
from ..services.client import CommandRejected
from .actions import Action, title_of
from .casepage import explain
from .forms import controls, document, errors_of
from .render import render, url_for
from .session import Viewer, ViewerDep, checked_form
from .state import services

router = APIRouter()
NAME = "FileReport"
# Whose personal data each part of a report is (the report's own person ids).
SUBJECTS = {"complainant": "complainant.person_id", "respondent": "respondent.person_id",
            "allegations": "respondent.person_id", "evidence": "respondent.person_id"}


def _may_file(who: Viewer) -> None:
    if who.role not in PERMISSIONS[NAME]:
        raise NotPermitted(f"{who.role} does not file reports (complainants and intake do)",
                           rule="role-permission", field="role")


def _form(request: Request, who: Viewer, action: Action, status: int = 200) -> HTMLResponse:
    return render(request, who, "report.html", status=status, action=action)


@router.get("/report", include_in_schema=False)
async def report_form(request: Request, who: ViewerDep) -> HTMLResponse:
    _may_file(who)
    values = {"idempotency_key": secrets.token_urlsafe(16)}
    if who.role == "complainant":
        values["complainant.person_id"] = who.subject
    return _form(request, who, Action(name=NAME, title=title_of(NAME), status="available",
                                      form=controls(dc.FileReport), values=values))


@router.post("/report", include_in_schema=False)
async def file_report(request: Request, who: ViewerDep) -> Response:
    form = await checked_form(request, who)
    _may_file(who)
    values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"}
    action = Action(name=NAME, title=title_of(NAME), status="available",
                    form=controls(dc.FileReport), values=values)
    key = values.get("idempotency_key", "").strip()
    if not key:
        action.problem = "The form has lost its idempotency key: reload it."
        return _form(request, who, action, status=422)
    doc = document(dc.FileReport, values, SUBJECTS, who.subject)
    try:
        report = dc.FileReport.model_validate(with_actor({**doc, "type": NAME}, who.actor))
    except ValidationError as err:
        action.errors = errors_of(err)
        return _form(request, who, action, status=422)
    try:
        result = await services(request).client.file_report(
            report, idempotency_key=key,
            principal=who.record(getattr(request.state, "request_id", None)))
    except CommandRejected as err:
        explain(action, err)
        return _form(request, who, action, status=409)
    return RedirectResponse(url_for(request, f"/cases/{result.case_id}?done={NAME}"),
                            status_code=303)
