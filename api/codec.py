"""A codec server for the Temporal UI and CLI, behind the API's own sign-in.

Temporal's codec server protocol: ``POST /codec/decode`` and ``POST /codec/encode`` take
and return ``{"payloads": [...]}`` (the protobuf JSON of ``temporal.api.common.v1.Payloads``).
Point the UI at ``https://<api>/codec`` (``--ui-codec-endpoint`` / TEMPORAL_CODEC_ENDPOINT,
with TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true so it forwards the signed-in user's token) or the
CLI with ``--codec-endpoint https://<api>/codec --codec-auth "Bearer <token>"``.

Only a verified bearer token of a role that reads case files by role or office (auditor,
data-protection officer, case officer: services/roles.py via api/access.py) may use it;
anyone else is refused, as is a caller without a token. Every decode that opens a sealed
personal value is put on the record as a read of the cases it belongs to (the access log
of ``dueprocess audit access``), found from the decoded payloads themselves (a case id, a
case stream) or else from the person index of the subjects whose values were opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import orjson
from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, Header, Request, Response
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from ..domain.base import Actor, NotPermitted
from ..domain.streams import case_id_of
from ..services.identity import Principal
from ..store.crypto import is_personal
from .access import OFFICE_ROLES, ROLE_READERS, Basis, authority_for
from .deps import ROLE_HEADER, Caller, RecordsDep, ServicesDep, principal, require_role
from .problems import invalid_input

PREFIX = "/codec"
CODEC_ROLES = ROLE_READERS | OFFICE_ROLES
PURPOSE = "sealed Temporal payloads decoded for the Temporal UI (codec server)"
_PAYLOADS: dict[str, Any] = {
    "type": "object", "required": ["payloads"], "properties": {"payloads": {
        "type": "array", "items": {"type": "object", "properties": {
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "data": {"type": "string"}}}}}}
_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": _PAYLOADS}}}}
_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "the payloads, in the same order and form",
    "content": {"application/json": {"schema": _PAYLOADS}}}}

router = APIRouter(prefix=PREFIX, tags=["codec"])


async def codec_reader(
    request: Request, who: Annotated[Principal, Depends(principal)],
    role_header: Annotated[str | None, Header(alias=ROLE_HEADER, max_length=64)] = None,
) -> Actor:
    """The caller as a reader of sealed payloads. The Temporal UI sends no role header,
    so without one the token's reading role is taken (several: the first by name)."""
    held = sorted(who.roles & CODEC_ROLES)
    role = role_header or (held[0] if held else None)
    if role is None:
        raise NotPermitted(
            f"reading sealed Temporal payloads needs one of the roles "
            f"{', '.join(sorted(CODEC_ROLES))} (the token grants: "
            f"{', '.join(sorted(who.roles)) or 'none'})", rule="role-permission",
            field="Authorization")
    found = Caller(principal=who, actor=who.actor(role),  # refuses a role not held
                   request_id=getattr(request.state, "request_id", None))
    require_role(found, CODEC_ROLES, "reading sealed Temporal payloads")
    return found.actor


Reader = Annotated[Actor, Depends(codec_reader)]


async def _payloads(request: Request) -> list[Payload]:
    try:
        message = json_format.Parse(await request.body(), Payloads())
    except (json_format.ParseError, ValueError) as err:
        raise invalid_input(f"not a Temporal Payloads document: {err}",
                         rule="codec-payloads", field="payloads") from None
    return list(message.payloads)


def _answer(payloads: Sequence[Payload]) -> Response:
    return Response(json_format.MessageToJson(Payloads(payloads=payloads)),
                    media_type="application/json")


@router.post("/decode", openapi_extra=_BODY, responses=_RESPONSE,
             summary="decode payloads for the Temporal UI (auditor, DPO, case officer; "
                     "recorded as a read of the cases they belong to)")
async def decode(request: Request, reader: Reader, svc: ServicesDep,
                 records: RecordsDep) -> Response:
    payloads = await _payloads(request)
    if svc.codec is None:  # histories are in clear (the payload key was waived)
        return _answer(payloads)
    try:
        decoded = await svc.codec.decode(payloads)
    except (ValueError, InvalidTag) as err:  # altered, or sealed under another key
        raise invalid_input(f"a payload does not decode: {err!r}",
                         rule="codec-decodable", field="payloads") from None
    subjects, cases = _opened(decoded)
    if subjects and not cases:
        for subject in sorted(subjects):
            cases |= {c for s in await svc.store.person_streams(subject)
                      if (c := case_id_of(s)) is not None}
    basis = Basis.AUDITOR if reader.role in ROLE_READERS else Basis.ASSIGNED
    for case_id in sorted(cases) if subjects else ():
        await records.record_read(case_id, reader, purpose=PURPOSE,
                                  authority=authority_for(basis), evidence_ids=())
    return _answer(decoded)


@router.post("/encode", openapi_extra=_BODY, responses=_RESPONSE,
             summary="encode payloads for the Temporal UI (same roles as decode)")
async def encode(request: Request, reader: Reader, svc: ServicesDep) -> Response:
    payloads = await _payloads(request)
    return _answer(payloads if svc.codec is None else await svc.codec.encode(payloads))


def _opened(payloads: Sequence[Payload]) -> tuple[set[str], set[str]]:
    """The subjects whose sealed values these decoded payloads show in clear, and the
    cases the payloads name."""
    subjects: set[str] = set()
    cases: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if is_personal(node):
                if node.get("value") is not None:
                    subjects.add(str(node["subject_id"]))
                return
            for key, value in node.items():
                if key == "case_id" and isinstance(value, str):
                    cases.add(value)
                elif key == "stream_id" and isinstance(value, str):
                    cases.add(case_id_of(value) or "")
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for payload in payloads:
        if payload.metadata.get("encoding") == b"json/plain":
            try:
                walk(orjson.loads(payload.data))
            except orjson.JSONDecodeError:
                continue
    return subjects, {c for c in cases if c}


def with_codec_cors(app: ASGIApp, origins: Sequence[str]) -> ASGIApp:
    """CORS for the codec routes only, for the Temporal UI's origins: the browser calls
    the codec server from the UI's page, with the user's token."""
    if not origins:
        return app
    cors = CORSMiddleware(app, allow_origins=list(origins), allow_methods=["POST"],
                          allow_headers=["Authorization", "Content-Type", "X-Namespace",
                                         ROLE_HEADER],
                          allow_credentials=True, max_age=600)

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIX + "/"):
            await cors(scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch
