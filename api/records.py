"""The auditor's and data-protection officer's side: audits, the access log, records
read / export / erase, membership facts and standing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ..domain.audit.model import CaseAudit
from ..domain.base import Actor
from ..domain.case import roles
from ..domain.envelope import NewEvent
from ..domain.membership.member import MEMBER_COMMAND_ADAPTER
from ..domain.membership.standing import Knowledge, Standing
from ..services.case_audit import audit_stored_case
from ..services.client import NotFound, ServiceUnavailable
from ..services.identity import AUDITOR, DPO
from ..services.members import MemberService, case_streams_for
from ..services.records import AccessEntry, CaseFile, ErasureResult
from .access import authorise, authority_for, case_state
from .cases import BreakGlass, CaseId, Purpose, _purpose
from .deps import CallerDep, RecordsDep, ServicesDep, require_actor_role, require_role
from .problems import ApiProblem
from .schemas import json_object, with_actor

log = logging.getLogger(__name__)

router = APIRouter()
PersonId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$")]
AUDIT_ROLES = frozenset({AUDITOR, DPO, roles.CASE_OFFICER})
ACCESS_LOG_ROLES = frozenset({AUDITOR, DPO})
DPO_ONLY = frozenset({DPO})
FACT_ROLES = frozenset({roles.INTAKE, roles.CASE_OFFICER})  # back-office membership systems
MEMBER_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/MemberCommandBody"}}}}}


@router.get("/audit/cases/{case_id}", response_model=CaseAudit, tags=["audit"],
            summary="every due-process check over the case's record")
async def audit_one_case(case_id: CaseId, who: CallerDep, svc: ServicesDep) -> CaseAudit:
    require_role(who, AUDIT_ROLES, "auditing a case")
    audit = await audit_stored_case(svc.store, svc.pool, case_id, datetime.now(UTC))
    if audit is None:
        raise NotFound(case_id)
    return audit


@router.get("/audit/cases/{case_id}/access", response_model=list[AccessEntry], tags=["audit"],
            summary="who read the case, why, on what basis (break-glass reads flagged)")
async def audit_access(case_id: CaseId, who: CallerDep, records: RecordsDep) -> list[AccessEntry]:
    require_role(who, ACCESS_LOG_ROLES, "reading the access log")
    return await records.access_log(case_id)


def require_standing_reader(actor: Actor, member_id: str) -> None:
    """A member may read their own standing; anyone else's needs an audit role."""
    if actor.id != member_id:
        require_actor_role(actor, AUDIT_ROLES, "reading another member's standing")


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


@router.get("/audit/members/{member_id}", response_model=Standing, tags=["audit"],
            summary="a member's standing as of a date, as known on a date")
async def audit_member(
    member_id: PersonId, who: CallerDep, svc: ServicesDep,
    as_of: Annotated[datetime | None, Query(description="valid time (default now)")] = None,
    as_known_on: Annotated[datetime | None, Query(
        description="knowledge time: what was known by then")] = None,
    known_by: Annotated[Knowledge, Query(
        description="knowledge time of imported facts: as their source asserts (default) "
                    "or when dueprocess recorded them")] = "asserted",
) -> Standing:
    require_standing_reader(who.actor, member_id)
    when = _aware(as_of) or datetime.now(UTC)
    streams = await case_streams_for(svc.pool, member_id)
    return await MemberService(svc.store, svc.policy).standing(
        member_id, svc.policy, when, _aware(as_known_on), case_streams=streams,
        knowledge=known_by)


@router.post("/members/{member_id}/facts", response_model=list[NewEvent], tags=["members"],
             openapi_extra=MEMBER_BODY,
             summary="record a membership fact (joined, renewed, lapsed, resigned, rejoined)")
async def record_fact(request: Request, member_id: PersonId, who: CallerDep,
                      svc: ServicesDep) -> list[NewEvent]:
    require_role(who, FACT_ROLES, "recording membership facts")
    document = with_actor(await json_object(request), who.actor)
    command = MEMBER_COMMAND_ADAPTER.validate_python(document)
    async def retain(member: str, ended_at: datetime, due_at: datetime) -> None:
        try:
            await svc.client.start_member_retention(member, ended_at, due_at)
        except ServiceUnavailable as err:
            # The fact is recorded; `dueprocess retention sweep` starts the timer later.
            log.warning("retention timer of member %s not started: %s", member, err)

    return await MemberService(svc.store, svc.policy, retain=retain).record(
        member_id, command, datetime.now(UTC), correlation_id=who.request_id,
        principal=who.principal.record(who.request_id))


@router.get("/records/cases/{case_id}", response_model=CaseFile, tags=["records"],
            summary="the case file as the reader may see it (recorded)")
async def read_file(case_id: CaseId, who: CallerDep, svc: ServicesDep, records: RecordsDep,
                    break_glass: BreakGlass = None, purpose: Purpose = None) -> CaseFile:
    basis = await authorise(await case_state(svc.store, case_id), who.actor, break_glass,
                            records)
    if who.actor.role == roles.COMPLAINANT:
        raise ApiProblem(403, "Not permitted", "complainants see where their case stands "
                         "(GET /cases/{case_id}), not the file", rule="read-authorised",
                         field="case_id")
    return await records.read_case_file(
        case_id, who.actor, purpose=_purpose(basis, break_glass, purpose),
        authority=authority_for(basis))


@router.get("/records/subjects/{person_id}/export", tags=["records"],
            summary="subject access export (GDPR Art 15), others' data redacted; DPO only")
async def export_subject(person_id: PersonId, who: CallerDep,
                         records: RecordsDep) -> dict[str, Any]:
    require_role(who, DPO_ONLY, "a subject access export")
    return await records.export_subject(person_id, who.actor,
                                        authority="data-protection policy")


@router.post("/records/subjects/{person_id}/erase", response_model=ErasureResult,
             tags=["records"], summary="erase a data subject (destroy their key); DPO only")
async def erase_subject(
    person_id: PersonId, who: CallerDep, svc: ServicesDep, records: RecordsDep,
    reason: Annotated[str, Query(min_length=1, max_length=500, pattern=r"\S")],
) -> ErasureResult:
    require_role(who, DPO_ONLY, "erasure")
    return await records.erase_subject(person_id, who.actor, reason=reason,
                                       authority="data-protection policy", sinks=svc.sinks)
