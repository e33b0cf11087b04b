"""The case commands over the HTTP API: with ``DUEPROCESS_API_URL`` set, `case`, `cases`,
`audit`, `records`, `member`, `stats` and `rules` speak to the API instead of Temporal and
the database, so their users need neither.

The token is ``DUEPROCESS_TOKEN``; without it, and only with a `dueprocess dev` running
on the data dir, one is minted by its local issuer (as `dueprocess token` does) for the
actor the command names, or for ``--as ROLE:ID``. With a token holding several roles,
``--as`` picks the one to act in.

Each command's direct handler is wrapped here (``_over_api``), so the modules that
define them stay as they are; operator commands (migrate, verify, keys, projections,
checkpoints, policy) are not wrapped and keep their direct access.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ..domain import case as dc
from ..domain.audit.model import CaseAudit
from ..domain.base import Actor, ActorKind
from ..domain.membership.member import MEMBER_COMMAND_ADAPTER
from ..domain.membership.standing import Standing
from ..domain.statistics import CaseStatistics
from ..services.api_client import ApiClient
from ..services.records import AccessEntry
from ..services.timeline import render_timeline
from ..settings import Settings
from . import audit, cases, stats
from .common import COMMANDS, EXTENSIONS, InputError, emit, read_json, require_id
from .token import dev_token

Remote = Callable[[argparse.Namespace, Settings, ApiClient], Awaitable[int]]


def _reader(args: argparse.Namespace) -> Actor | None:
    text = getattr(args, "as_actor", None)
    return audit.parse_actor(text) if text else None


def client_for(settings: Settings, args: argparse.Namespace) -> ApiClient:
    """An API client with the configured token, or tokens minted by the local issuer."""
    assert settings.api_url is not None
    reader = _reader(args)
    purpose = getattr(args, "purpose", None)
    glass = getattr(args, "break_glass", None)
    if settings.token is not None:
        return ApiClient(settings.api_url, settings.token,
                         role=reader.role if reader else None, purpose=purpose,
                         break_glass=glass)
    if settings.oidc_issuer is not None:
        raise InputError(f"DUEPROCESS_TOKEN: not set (tokens come from {settings.oidc_issuer})",
                         field="DUEPROCESS_TOKEN", rule="token-required")

    def mint(actor: Actor | None) -> str:
        who = actor or reader
        if who is None:
            raise InputError("DUEPROCESS_TOKEN: not set; with `dueprocess dev` running, "
                             "--as ROLE:ID says who reads", field="--as", rule="token-required")
        return dev_token(settings, who.id, [who.role], system=who.kind != ActorKind.PERSON)

    return ApiClient(settings.api_url, mint, role=reader.role if reader else None,
                     purpose=purpose, break_glass=glass)


async def _case(args: argparse.Namespace, settings: Settings, api: ApiClient) -> int:
    if args.action == "file":
        report = cases._report(args, settings)
        cases._result(args, await api.file_report(report, idempotency_key=args.key))
        return 0
    case_id = require_id(args.case_id, "case_id")
    if args.action == "send":
        command = dc.CASE_COMMAND_ADAPTER.validate_python(read_json(args.file))
        cases._result(args, await api.send(case_id, command))
    elif args.action == "state":
        state = await api.state(case_id)
        emit(args, state.model_dump(mode="json"), f"case {case_id}: stage {state.stage}")
    elif args.action == "deadlines":
        deadlines = await api.deadlines(case_id)
        emit(args, [d.model_dump(mode="json") for d in deadlines],
             "\n".join(f"{d.due_at.isoformat()}  {d.kind}" for d in deadlines)
             or "no pending deadlines")
    else:
        timeline = await api.timeline(case_id)
        emit(args, {"case_id": case_id, "timeline": timeline}, render_timeline(timeline))
    return 0


async def _cases(args: argparse.Namespace, settings: Settings, api: ApiClient) -> int:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await api.get("/cases", {"stage": args.stage, "overdue": args.overdue or None,
                                        "cursor": cursor, "limit": 200})
        rows += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    emit(args, rows, "\n".join(
        f"{r['case_id']}  {r['stage']:20} respondent={r['respondent_id']} next="
        f"{r['next_deadline_kind'] or '-'}@{r['next_deadline_at'] or '-'}"
        f" in-stage={'-' if r.get('stage_age_days') is None else str(r['stage_age_days']) + 'd'}"
        + (f" held-until={r['held_until']}" if r.get("held_until") else "")
        + ("  OVERDUE" if r.get("overdue") else "") for r in rows)
        or ("no overdue cases" if args.overdue else "no cases"))
    return 0


async def _audit(args: argparse.Namespace, settings: Settings, api: ApiClient) -> int:
    subject = require_id(args.id, "id")
    if args.subject == "case":
        found = CaseAudit.model_validate(await api.get(f"/audit/cases/{subject}",
                                                       case_id=subject))
        emit(args, found.model_dump(mode="json"), audit.audit_text(subject, found))
        return 0 if found.ok else 1
    if args.subject == "access":
        log = [AccessEntry.model_validate(e) for e in await api.get(
            f"/audit/cases/{subject}/access", case_id=subject)]
        emit(args, [e.model_dump(mode="json") for e in log], audit.access_text(log))
        return 0
    as_of = audit.parse_when(args.as_of, "--as-of") or datetime.now(UTC)
    known = audit.parse_when(args.as_known_on, "--as-known-on")
    standing = Standing.model_validate(await api.get(f"/audit/members/{subject}", {
        "as_of": as_of.isoformat(), "as_known_on": known.isoformat() if known else None,
        "known_by": args.known_by}))
    emit(args, standing.model_dump(mode="json"), audit.standing_text(standing, as_of, known))
    return 0


async def _records(args: argparse.Namespace, settings: Settings, api: ApiClient) -> int:
    subject = require_id(args.id, "id")
    if args.action == "read":
        doc = await api.get(f"/records/cases/{subject}", case_id=subject)
    elif args.action == "export":
        doc = await api.get(f"/records/subjects/{subject}/export")
    else:
        if not args.reason:
            raise InputError("--reason: required for erase", field="--reason", rule="required")
        doc = await api.post(f"/records/subjects/{subject}/erase", {"reason": args.reason})
    emit(args, doc, audit.records_text(args.action, subject, doc))
    return 0


async def _member(args: argparse.Namespace, settings: Settings, api: ApiClient) -> int:
    member_id = require_id(args.id, "id")
    command = MEMBER_COMMAND_ADAPTER.validate_python(read_json(args.file))
    events = await api.record_fact(member_id, command)
    emit(args, events, f"member {member_id}: " + (
        ", ".join(str(e["event_type"]) for e in events) or "no change (already recorded)"))
    return 0


async def _stats(args: argparse.Namespace, settings: Settings, api: ApiClient) -> int:
    start = audit.parse_when(args.period_from, "--from")
    end = stats._period_end(args.period_to)
    doc = await api.get("/stats", {
        "from": start.isoformat() if start else None, "to": end.isoformat() if end else None})
    # The API's statistics carry the backlog ageing beside them, as the local `stats` does.
    ageing: dict[str, dict[str, int]] = doc.pop("backlog_ageing", {})
    found = CaseStatistics.model_validate(doc)
    emit(args, {**found.model_dump(mode="json"), "backlog_ageing": ageing},
         stats.stats_text(found) + "\n" + stats.ageing_text(ageing))
    return 0


async def _rules(args: argparse.Namespace, settings: Settings, api: ApiClient) -> int:
    found: list[dict[str, Any]] = await api.get("/rules")
    emit(args, found, "\n".join(f"{r['id']:36} {r['title']}" for r in found))
    return 0


def _over_api(name: str, remote: Remote,
              when: Callable[[argparse.Namespace], bool] = lambda args: True) -> None:
    direct = COMMANDS[name]

    async def handler(args: argparse.Namespace, settings: Settings) -> int:
        if settings.api_url is None or not when(args):
            return await direct(args, settings)
        async with client_for(settings, args) as api:
            return await remote(args, settings, api)

    COMMANDS[name] = handler


_over_api("case", _case)
_over_api("cases", _cases)
_over_api("audit", _audit)
_over_api("records", _records)
_over_api("member", _member)
_over_api("stats", _stats)
_over_api("rules", _rules, when=lambda args: not args.markdown)  # the README's, offline


def _extend(sub: Any, add: Any) -> None:
    """`--as` (and `--break-glass`) on the commands that may go through the API."""
    for name in ("case", "cases", "audit", "member", "stats", "rules"):
        sub.choices[name].add_argument(
            "--as", dest="as_actor", metavar="ROLE:ID",
            help="with DUEPROCESS_API_URL: the role to act in (and, with `dueprocess dev` "
                 "and no DUEPROCESS_TOKEN, who acts)")
    for name in ("case", "records"):
        sub.choices[name].add_argument(
            "--break-glass", metavar="PURPOSE",
            help="with DUEPROCESS_API_URL: why you read a case you have no part in "
                 "(recorded and flagged)")


EXTENSIONS.append(_extend)
