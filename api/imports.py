"""Importing past cases and memberships over HTTP: ``POST /imports`` (operators only).

The body is an import document (format ``dueprocess-import/1``: domain/imports/model.py);
the importer is the token's subject acting as operator, recorded on every event with the
verified principal. The whole document is judged before anything is written and written
in one transaction (services/importer.py); a refusal is a 422 problem whose ``record``
names the record at fault and ``field`` the field within it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from ..services.importer import (
    ImportReport,
    ImportService,
    resume_in_workflow,
    retain_in_workflow,
)
from ..services.roles import OPERATOR
from ..services.rulebook import RulebookService
from .deps import CallerDep, ServicesDep, require_role
from .schemas import json_object

router = APIRouter()
IMPORT_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["format", "source"],
    "description": "an import document, format dueprocess-import/1 (domain/imports/model.py; "
                   "sample: deploy/imports/sample-2016.yaml): members' facts and cases' steps "
                   "oldest first, each a command as in MemberCommandBody / CaseCommandBody "
                   "WITH its original actor and effective_at, and optionally the known_at "
                   "the source asserts",
    "properties": {"format": {"const": "dueprocess-import/1"}, "source": {"type": "string"},
                   "members": {"type": "array", "items": {"type": "object"}},
                   "cases": {"type": "array", "items": {"type": "object"}}}}}}}}


@router.post("/imports", response_model=ImportReport, tags=["imports"],
             openapi_extra=IMPORT_BODY,
             summary="import past cases and memberships recorded elsewhere (all or nothing)")
async def import_history(
    request: Request, who: CallerDep, svc: ServicesDep,
    import_id: Annotated[str | None, Query(
        min_length=1, max_length=200, pattern=r"^\S+$",
        description="id of this import; the same document again under the same id writes "
                    "nothing and resumes open cases")] = None,
    dry_run: Annotated[bool, Query(description="judge only, write nothing")] = False,
) -> ImportReport:
    require_role(who, frozenset({OPERATOR}), "importing history")
    document = await json_object(request)
    service = ImportService(svc.pool, svc.store, RulebookService(svc.store).current,
                            resume_in_workflow(svc.client), retain_in_workflow(svc.client))
    return await service.run(document, who.actor, datetime.now(UTC), import_id=import_id,
                             principal=who.principal.record(who.request_id), dry_run=dry_run)
