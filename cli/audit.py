"""Auditor and data-protection commands: audit (case, member, access), member, records.

All read the event log directly (no Temporal needed) and take --json.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from ..domain.audit.model import CaseAudit
from ..domain.base import Actor
from ..domain.membership.member import MEMBER_COMMAND_ADAPTER
from ..domain.membership.standing import Standing
from ..services.case_audit import audit_stored_case
from ..services.members import MemberService, case_streams_for
from ..services.notifications import FileSink
from ..services.policyfile import load_policy_file
from ..services.records import AccessEntry, RecordsClient
from ..settings import Settings
from ..store.errors import stored_data
from .common import EXTENSIONS, InputError, command, emit, read_json, require_id
from .connect import connect_pool, store_for


def parse_actor(text: str, field: str = "--as") -> Actor:
    """`role:id` -> Actor, e.g. `auditor:aud-3`."""
    role, sep, actor_id = text.partition(":")
    if not sep or not role.strip() or not actor_id.strip():
        raise InputError(f"{field}: must be ROLE:ID, e.g. auditor:aud-3 (got {text!r})",
                         field=field, rule="role-and-id")
    return Actor(id=require_id(actor_id, field), role=require_id(role, field))


def parse_when(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{field}: must be an ISO date or date-time (got {text!r})",
                         field=field, rule="iso-date") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _check_line(check: Any) -> str:
    mark = {"pass": "PASS", "fail": "FAIL", "not_applicable": "n/a "}[str(check.status)]
    line = f"  {mark}  {check.check_id:40} {check.explanation}"
    for label, refs in (("offending", check.offending), ("noted", check.noted)):
        for ref in refs:
            line += f"\n          {label}: v{ref.stream_version} {ref.event_type} {ref.event_id}"
    return line


@command("audit")
async def _audit(args: argparse.Namespace, settings: Settings) -> int:
    require_id(args.id, "id")
    async with connect_pool(settings) as pool:
        store = store_for(pool, settings)
        if args.subject == "case":
            audit = await audit_stored_case(store, pool, args.id, datetime.now(UTC))
            if audit is None:
                raise InputError(f"case {args.id!r}: no such case in this store", field="id",
                                 rule="case-exists")
            emit(args, audit.model_dump(mode="json"), audit_text(args.id, audit))
            return 0 if audit.ok else 1
        if args.subject == "access":
            with stored_data("the access log"):
                log = await RecordsClient(store, pool).access_log(args.id)
            emit(args, [e.model_dump(mode="json") for e in log], access_text(log))
            return 0
        return await _audit_member(args, settings, store, pool)


def audit_text(case_id: str, audit: CaseAudit) -> str:
    text = [f"case {case_id}: " + ("all checks pass" if audit.ok else
                                   f"{len(audit.failures())} check(s) FAIL")]
    text += [f"  {t.effective_at:%Y-%m-%d %H:%M} (recorded "
             f"{t.recorded_at:%Y-%m-%d %H:%M}) {t.event_type:24} "
             f"{t.actor_role}:{t.actor_id} [{t.authority}] {t.summary}"
             + "".join(f"\n{'':8}! {flag}" for flag in t.flags)
             for t in audit.timeline]
    text += ["checks:"] + [_check_line(c) for c in audit.checks]
    return "\n".join(text)


def access_text(log: list[AccessEntry]) -> str:
    return "\n".join(
        f"{e.at:%Y-%m-%d %H:%M:%S} {'BREAK-GLASS ' if e.flagged else ''}"
        f"{'REFUSED ' if e.refused else ''}"
        f"{e.reader.role}:{e.reader.id} basis={e.basis or 'not recorded'} "
        f"purpose={e.purpose!r} "
        f"evidence={','.join(e.evidence_ids) or '-'} [{e.authority}]" for e in log) \
        or "no recorded access"


async def _audit_member(
    args: argparse.Namespace, settings: Settings, store: Any, pool: Any
) -> int:
    as_of = parse_when(args.as_of, "--as-of") or datetime.now(UTC)
    known = parse_when(args.as_known_on, "--as-known-on")
    policy = load_policy_file(args.policy or settings.policy_file)
    with stored_data(f"member {args.id}'s standing"):
        standing = await MemberService(store, policy).standing(
            args.id, policy, as_of, known, case_streams=await case_streams_for(pool, args.id),
            knowledge=args.known_by)
    emit(args, standing.model_dump(mode="json"), standing_text(standing, as_of, known))
    return 0


def standing_text(standing: Standing, as_of: datetime, known: datetime | None) -> str:
    by = (" (imported facts by the time their source asserts they were known)"
          if standing.knowledge == "asserted" else " (by the time dueprocess recorded them)")
    text = [f"member {standing.member_id} as of {as_of:%Y-%m-%d}"
            + (f", as known on {known:%Y-%m-%d}{by}" if known else "")
            + f": {standing.status}",
            f"  rights held: {', '.join(str(r) for r in standing.rights) or 'none'}",
            f"  membership number: {standing.membership_number or '-'}; continuous since "
            f"{standing.continuous_since or '-'}",
            *(f"  {s.kind} of {s.imposed_at:%Y-%m-%d} (case {s.case_id}): "
              + ("current" if s.current else "expired, no longer counts")
              + (f" (until {s.current_until:%Y-%m-%d})" if s.current_until else "")
              for s in standing.sanctions), "because:"]
    text += [f"  {r.effective_at:%Y-%m-%d} (recorded {r.recorded_at:%Y-%m-%d}"
             + (f"; imported from {r.imported_from}, known {r.known_at:%Y-%m-%d} as the "
                "source asserts" if r.imported_from and r.known_at else "")
             + f") {r.event_type}: {r.explanation}" for r in standing.reasons]
    return "\n".join(text)


@command("member")
async def _member(args: argparse.Namespace, settings: Settings) -> int:
    """Record a membership fact from a back-office system (JSON command)."""
    require_id(args.id, "id")
    command_ = MEMBER_COMMAND_ADAPTER.validate_python(read_json(args.file))
    policy = load_policy_file(args.policy or settings.policy_file)
    async with connect_pool(settings) as pool:
        service = MemberService(store_for(pool, settings), policy)
        events = await service.record(args.id, command_, datetime.now(UTC))
    emit(args, [e.model_dump(mode="json") for e in events],
         f"member {args.id}: " + (", ".join(e.event_type for e in events)
                                  or "no change (already recorded)"))
    return 0


@command("records")
async def _records(args: argparse.Namespace, settings: Settings) -> int:
    require_id(args.id, "id")
    actor = parse_actor(args.as_actor)
    async with connect_pool(settings) as pool:
        records = RecordsClient(store_for(pool, settings), pool)
        with stored_data(f"the records of {args.id}"):
            if args.action == "read":
                file = await records.read_case_file(args.id, actor, purpose=args.purpose or "",
                                                    authority=args.authority)
                doc: Any = file.model_dump(mode="json")
            elif args.action == "export":
                doc = await records.export_subject(args.id, actor, authority=args.authority)
            else:
                outbox = FileSink(settings.data_dir.resolve() / "outbox")
                result = await records.erase_subject(args.id, actor, reason=args.reason or "",
                                                     authority=args.authority, sinks=[outbox])
                doc = result.model_dump(mode="json")
    emit(args, doc, records_text(args.action, args.id, doc))
    return 0


def records_text(action: str, subject: str, doc: Any) -> str:
    if action == "read":
        return (f"case {subject}: {len(doc['events'])} events, stage {doc['state']['stage']}; "
                "this access has been recorded")
    if action == "export":
        return (f"subject access export for {subject}: {len(doc['events'])} events "
                "(use --json for the document)")
    return (f"erased {subject}: {doc['keys_destroyed']} key(s) destroyed; "
            f"{doc['sent_messages_forgotten']} outbox message(s) deleted or "
            f"redacted; store verifies: {doc['store_verifies']}")


def _extend(sub: Any, add: Any) -> None:
    audit = add("audit", "audit a case (due-process checks), a member's standing, or access")
    audit.add_argument("subject", choices=["case", "member", "access"])
    audit.add_argument("id", help="case id or member id")
    audit.add_argument("--as-of", help="valid time for member standing (ISO date)")
    audit.add_argument("--as-known-on", help="knowledge time: what was known by then")
    audit.add_argument("--known-by", choices=["asserted", "recorded"], default="asserted",
                       help="knowledge time of imported facts: as their source asserts "
                       "(default) or when dueprocess recorded them")
    audit.add_argument("--policy", help="policy file (default: the shipped sample)")
    records = add("records", "read a case file (recorded), export or erase a data subject")
    records.add_argument("action", choices=["read", "export", "erase"])
    records.add_argument("id", help="case id (read) or person id (export, erase)")
    records.add_argument("--as", dest="as_actor", required=True, help="ROLE:ID of the reader")
    records.add_argument("--purpose", help="why the case file is read (required for read)")
    records.add_argument("--reason", help="why the subject is erased (required for erase)")
    records.add_argument("--authority", default="data-protection policy",
                         help="rule or delegation relied on")
    member = add("member", "record a membership fact (joined, renewed, lapsed, resigned, "
                 "rejoined) from a JSON command")
    member.add_argument("id", help="member id")
    member.add_argument("--file", default="-", help="JSON command file, '-' for stdin")
    member.add_argument("--policy", help="policy file (default: the shipped sample)")


EXTENSIONS.append(_extend)
