"""Request and response shapes. Commands are the domain's own pydantic models: their JSON
schemas go into the OpenAPI document as they are, except that ``actor`` is optional
there (the API fills it in from the verified token, and refuses a different one)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..domain import case as dc
from ..domain.base import Actor, NotPermitted
from ..domain.membership.member import MEMBER_COMMAND_ADAPTER
from .problems import invalid_input

REF = "#/components/schemas/{model}"


def _without_actor(schema: dict[str, Any]) -> dict[str, Any]:
    required = [name for name in schema.get("required", []) if name != "actor"]
    out = {**schema, "required": required}
    if not required:
        out.pop("required")
    props = out.get("properties", {})
    if "actor" in props:
        out["properties"] = {**props, "actor": {
            **props["actor"], "description": "optional: the actor is the token's subject "
            "in the role picked; a different one is refused"}}
    return out


def _union(adapter: TypeAdapter[Any], defs: dict[str, Any]) -> dict[str, Any]:
    union: dict[str, Any] = adapter.json_schema(ref_template=REF)
    defs.update(union.pop("$defs", {}))
    for ref in union.get("discriminator", {}).get("mapping", {}).values():
        name = ref.split("/")[-1]
        defs[name] = _without_actor(defs[name])
    return union


def body_schemas() -> dict[str, Any]:
    """Schemas of the command bodies (CaseCommandBody, FileReportBody, MemberCommandBody)
    and everything they refer to, for the OpenAPI document's components."""
    defs: dict[str, Any] = {}
    defs["CaseCommandBody"] = _union(dc.CASE_COMMAND_ADAPTER, defs)
    defs["MemberCommandBody"] = _union(MEMBER_COMMAND_ADAPTER, defs)
    # A report's type may be left out: POST /cases files nothing else.
    report = dict(defs["FileReport"])
    report["required"] = [r for r in report.get("required", []) if r != "type"]
    defs["FileReportBody"] = report
    return defs


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 422 problem naming what is wrong."""
    raw = await request.body()
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise invalid_input(f"the body is not valid JSON ({err})",
                         rule="json-object", field="body") from None
    if not isinstance(document, dict):
        raise invalid_input("the body must be a JSON object, not "
                         f"{type(document).__name__}", rule="json-object", field="body")
    return document


def with_actor(document: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """The command with the authenticated actor; a body naming another actor is refused."""
    given = document.get("actor")
    if given is not None:
        try:
            named = Actor.model_validate(given)
        except ValidationError:
            named = None
        if named != actor:
            raise NotPermitted(
                f"the body names an actor other than the authenticated one ({actor.role} "
                f"{actor.id}): leave it out, the token says who acts",
                rule="actor-from-token", field="actor")
    return {**document, "actor": actor.model_dump(mode="json")}


class CaseView(BaseModel):
    case_id: str
    basis: str  # party / assigned / auditor / break-glass
    state: dc.CaseState


class TimelineEntry(BaseModel):
    stream: str
    version: int
    type: str
    effective_at: str
    recorded_at: str
    actor: dict[str, Any]
    authority: str
    event_id: str
    to: str | None = None
