"""Cases: file a report, send commands, read state, deadlines, timeline, and the list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request

from ..domain import case as dc
from ..domain.base import InvalidCommand, NotPermitted
from ..domain.case import roles
from ..domain.streams import case_stream, notification_stream
from ..services.case_list import CasePage
from ..services.case_list import list_cases as case_list_page
from ..services.timeline import timeline_entry
from ..workflows.case import DecisionResult
from .access import (
    ROLE_READERS,
    Basis,
    authorise,
    authority_for,
    case_state,
    complainant_view,
)
from .deps import (
    BREAK_GLASS_HEADER,
    PURPOSE_HEADER,
    CallerDep,
    ConfigDep,
    RecordsDep,
    ServicesDep,
)
from .problems import invalid_input
from .schemas import CaseView, TimelineEntry, json_object, with_actor

router = APIRouter(tags=["cases"])
CaseId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$")]
BreakGlass = Annotated[str | None, Header(
    alias=BREAK_GLASS_HEADER, max_length=500,
    description="why an unassigned reader reads this case (recorded and flagged)")]
Purpose = Annotated[str | None, Header(alias=PURPOSE_HEADER, max_length=500,
                                       description="why the case is read (recorded)")]
DEFAULT_PURPOSE = "case work"
# The body schemas are the domain's command models (see openapi.py).
FILE_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/FileReportBody"}}}}}
COMMAND_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/CaseCommandBody"}}}}}
LIST_ROLES = ROLE_READERS | roles.STAFF_ROLES


@router.post("/cases", response_model=DecisionResult, status_code=201, openapi_extra=FILE_BODY,
             summary="file a report: the Idempotency-Key is the intake key (same key, "
                     "same case)")
async def file_report(
    request: Request, who: CallerDep, svc: ServicesDep,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1,
                                           max_length=200, pattern=r"\S")],
) -> DecisionResult:
    document = with_actor(await json_object(request), who.actor)
    document.setdefault("type", "FileReport")
    if document["type"] != "FileReport":
        raise InvalidCommand("POST /cases files reports; send other commands to "
                             "/cases/{case_id}/commands", rule="file-report-only", field="type")
    report = dc.FileReport.model_validate(document)
    return await svc.client.file_report(report, idempotency_key=idempotency_key,
                                        principal=who.principal.record(who.request_id))


@router.post("/cases/{case_id}/commands", response_model=DecisionResult,
             openapi_extra=COMMAND_BODY,
             summary="a staff decision, or the respondent's own command (response, appeal)")
async def send_command(request: Request, case_id: CaseId, who: CallerDep,
                       svc: ServicesDep) -> DecisionResult:
    document = with_actor(await json_object(request), who.actor)
    command = dc.CASE_COMMAND_ADAPTER.validate_python(document)
    if isinstance(command, dc.FileReport):
        raise InvalidCommand("reports are filed with POST /cases", rule="file-report-only",
                             field="type")
    return await svc.client.send(case_id, command, causation_id=who.request_id,
                                 principal=who.principal.record(who.request_id))


@router.get("/cases/{case_id}", response_model=CaseView,
            summary="the case as the caller may see it (the read is recorded)")
async def read_case(case_id: CaseId, who: CallerDep, svc: ServicesDep, records: RecordsDep,
                    break_glass: BreakGlass = None, purpose: Purpose = None) -> CaseView:
    state = await case_state(svc.store, case_id)
    basis = await authorise(state, who.actor, break_glass, records)
    if who.actor.role == roles.COMPLAINANT:
        return CaseView(case_id=case_id, basis=basis, state=complainant_view(state))
    file = await records.read_case_file(
        case_id, who.actor, purpose=_purpose(basis, break_glass, purpose),
        authority=authority_for(basis))
    return CaseView(case_id=case_id, basis=basis, state=file.state)


def _purpose(basis: Basis, break_glass: str | None, purpose: str | None) -> str:
    if basis is Basis.BREAK_GLASS and break_glass:
        return break_glass.strip()
    return (purpose or "").strip() or DEFAULT_PURPOSE


@router.get("/cases/{case_id}/deadlines", response_model=list[dc.Deadline])
async def deadlines(case_id: CaseId, who: CallerDep, svc: ServicesDep, records: RecordsDep,
                    break_glass: BreakGlass = None) -> list[dc.Deadline]:
    await authorise(await case_state(svc.store, case_id), who.actor, break_glass, records)
    return await svc.client.deadlines(case_id)


@router.get("/cases/{case_id}/timeline", response_model=list[TimelineEntry],
            summary="the case's events and notices (staff and auditors)")
async def timeline(case_id: CaseId, who: CallerDep, svc: ServicesDep, records: RecordsDep,
                   break_glass: BreakGlass = None,
                   purpose: Purpose = None) -> list[TimelineEntry]:
    basis = await authorise(await case_state(svc.store, case_id), who.actor, break_glass,
                            records)
    if basis is Basis.PARTY:
        raise NotPermitted("parties read the case itself (GET /cases/{case_id})",
                           rule="read-authorised", field="case_id")
    events = await svc.store.read_streams([case_stream(case_id), notification_stream(case_id)])
    if basis is Basis.BREAK_GLASS:
        await records.record_read(case_id, who.actor,
                                  purpose=_purpose(basis, break_glass, purpose),
                                  authority=authority_for(basis), evidence_ids=[])
    return [TimelineEntry.model_validate(timeline_entry(e)) for e in events]


@router.get("/cases", response_model=CasePage,
            summary="the case list (ids, stages, stage age, deadlines, overdue; no personal "
                     "data)")
async def list_cases(
    who: CallerDep, svc: ServicesDep, cfg: ConfigDep,
    stage: Annotated[dc.CaseStage | None, Query()] = None,
    overdue: Annotated[bool, Query(description="only cases past their next deadline")] = False,
    mine: Annotated[bool, Query(description="only cases the caller has a part in")] = False,
    party: Annotated[Literal["respondent", "complainant"] | None, Query(
        description="only cases where the caller is this party")] = None,
    person: Annotated[str | None, Query(
        min_length=1, max_length=200,
        description="only cases this person has a part in")] = None,
    as_of: Annotated[datetime | None, Query(
        description="judge stage age and overdue at this time (default: now)")] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> CasePage:
    role, me = who.actor.role, who.actor.id
    if role == roles.RESPONDENT:  # a party lists their own cases only
        party = "respondent"
    elif role == roles.COMPLAINANT:
        party = "complainant"
    elif role not in LIST_ROLES:
        raise NotPermitted(f"{role} may not list cases", rule="role-permission",
                           field="X-Dueprocess-Role")
    if as_of is not None and as_of.tzinfo is None:
        raise invalid_input("as_of: must carry a time zone",
                         rule="aware-datetime", field="as_of")
    return await case_list_page(
        svc.pool, as_of or datetime.now(UTC), stage=stage, overdue=overdue,
        person_id=me if mine else person, party=party, party_id=me if party else None,
        cursor=cursor, limit=min(limit, cfg.page_limit))
