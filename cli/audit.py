"""Auditor and data-protection commands: audit, records, projections, cases.

All read the event log directly (no Temporal needed) and take --json.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..settings import ConfigError, Settings
from .cases import connect_pool, store_for
from .common import EXTENSIONS, command, emit

if TYPE_CHECKING:
    from ..domain.envelope import RecordedEvent
    from ..domain.statistics import CaseStatistics
    from ..store.eventstore import EventStore


def parse_actor(text: str, field: str = "--as") -> Any:
    """`role:id` -> Actor, e.g. `auditor:aud-3`."""
    from ..domain.base import Actor

    role, sep, actor_id = text.partition(":")
    if not sep or not role or not actor_id:
        raise ConfigError(f"{field}: must be ROLE:ID, e.g. auditor:aud-3 (got {text!r})")
    return Actor(id=actor_id, role=role)


def parse_when(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{field}: must be an ISO date or date-time (got {text!r})") from None
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
    from ..activities.notifications import notification_stream
    from ..domain.audit import audit_case
    from ..services.records import RecordsClient
    from ..workflows.case import case_stream

    async with connect_pool(settings) as pool:
        store = store_for(pool, settings)
        if args.subject == "case":
            events = await store.read_stream(case_stream(args.id))
            if not events:
                raise ConfigError(f"case {args.id!r}: no such case in this store")
            notes = await store.read_stream(notification_stream(args.id))
            try:
                audit = audit_case(events, notes, now=datetime.now(UTC))
            except Exception as err:  # odd stored data is a finding, never a traceback
                return _unauditable(args, args.id, err)
            text = [f"case {args.id}: " + ("all checks pass" if audit.ok else
                                           f"{len(audit.failures())} check(s) FAIL")]
            text += [f"  {t.effective_at:%Y-%m-%d %H:%M} (recorded "
                     f"{t.recorded_at:%Y-%m-%d %H:%M}) {t.event_type:24} "
                     f"{t.actor_role}:{t.actor_id} [{t.authority}] {t.summary}"
                     for t in audit.timeline]
            text += ["checks:"] + [_check_line(c) for c in audit.checks]
            emit(args, audit.model_dump(mode="json"), "\n".join(text))
            return 0 if audit.ok else 1
        if args.subject == "access":
            log = await RecordsClient(store, pool).access_log(args.id)
            emit(args, [e.model_dump(mode="json") for e in log], "\n".join(
                f"{e.at:%Y-%m-%d %H:%M:%S} {e.reader.role}:{e.reader.id} purpose={e.purpose!r} "
                f"evidence={','.join(e.evidence_ids) or '-'} [{e.authority}]" for e in log)
                or "no recorded access")
            return 0
        return await _audit_member(args, settings, store, pool)


def _unauditable(args: argparse.Namespace, case_id: str, err: Exception) -> int:
    finding = {"ok": False, "case_id": case_id, "checks": [{
        "check_id": "stored-record-readable", "status": "fail",
        "explanation": f"the stored record cannot be audited: {type(err).__name__}: {err}"}]}
    emit(args, finding, f"case {case_id}: 1 check(s) FAIL\n  FAIL  stored-record-readable"
         f"{'':24} the stored record cannot be audited: {type(err).__name__}: {err}")
    return 1


async def _audit_member(
    args: argparse.Namespace, settings: Settings, store: Any, pool: Any
) -> int:
    from ..services.members import MemberService, case_streams_for
    from ..services.policyfile import load_policy_file

    as_of = parse_when(args.as_of, "--as-of") or datetime.now(UTC)
    known = parse_when(args.as_known_on, "--as-known-on")
    policy = load_policy_file(args.policy or settings.policy_file)
    standing = await MemberService(store, policy).standing(
        args.id, policy, as_of, known, case_streams=await case_streams_for(pool, args.id))
    text = [f"member {standing.member_id} as of {as_of:%Y-%m-%d}"
            + (f", as known on {known:%Y-%m-%d}" if known else "")
            + f": {standing.status}",
            f"  rights held: {', '.join(str(r) for r in standing.rights) or 'none'}",
            f"  membership number: {standing.membership_number or '-'}; continuous since "
            f"{standing.continuous_since or '-'}", "because:"]
    text += [f"  {r.effective_at:%Y-%m-%d} (recorded {r.recorded_at:%Y-%m-%d}) "
             f"{r.event_type}: {r.explanation}" for r in standing.reasons]
    emit(args, standing.model_dump(mode="json"), "\n".join(text))
    return 0


@command("member")
async def _member(args: argparse.Namespace, settings: Settings) -> int:
    """Record a membership fact from a back-office system (JSON command)."""
    from ..domain.base import DomainError
    from ..domain.membership.member import MEMBER_COMMAND_ADAPTER
    from ..services.members import MemberService
    from ..services.policyfile import load_policy_file
    from .cases import _read_json

    command_ = MEMBER_COMMAND_ADAPTER.validate_python(_read_json(args.file))
    async with connect_pool(settings) as pool:
        policy = load_policy_file(args.policy or settings.policy_file)
        service = MemberService(store_for(pool, settings), policy)
        try:
            events = await service.record(args.id, command_, datetime.now(UTC))
        except DomainError as err:
            emit(args, {"rejected": True, **err.details()}, f"rejected: {err}")
            return 1
    emit(args, [e.model_dump(mode="json") for e in events],
         f"member {args.id}: " + (", ".join(e.event_type for e in events)
                                  or "no change (already recorded)"))
    return 0


@command("records")
async def _records(args: argparse.Namespace, settings: Settings) -> int:
    from ..domain.base import DomainError
    from ..services.records import RecordsClient

    actor = parse_actor(args.as_actor)
    async with connect_pool(settings) as pool:
        records = RecordsClient(store_for(pool, settings), pool)
        try:
            if args.action == "read":
                file = await records.read_case_file(args.id, actor, purpose=args.purpose or "",
                                                    authority=args.authority)
                doc: Any = file.model_dump(mode="json")
                text = (f"case {args.id}: {len(file.events)} events, stage {file.state.stage}; "
                        "this access has been recorded")
            elif args.action == "export":
                doc = await records.export_subject(args.id, actor, authority=args.authority)
                text = (f"subject access export for {args.id}: {len(doc['events'])} events "
                        "(use --json for the document)")
            else:
                from ..activities.notifications import FileSink

                outbox = FileSink(settings.data_dir.resolve() / "outbox")
                result = await records.erase_subject(args.id, actor, reason=args.reason or "",
                                                     authority=args.authority, sinks=[outbox])
                doc = result.model_dump(mode="json")
                text = (f"erased {args.id}: {result.keys_destroyed} key(s) destroyed; "
                        f"{result.sent_messages_forgotten} outbox message(s) deleted or "
                        f"redacted; store verifies: {result.store_verifies}")
        except DomainError as err:
            emit(args, {"rejected": True, **err.details()}, f"rejected: {err}")
            return 1
    emit(args, doc, text)
    return 0


@command("projections")
async def _projections(args: argparse.Namespace, settings: Settings) -> int:
    from ..services.policyfile import load_policy_file
    from ..store.projections import ProjectionRunner, default_projections

    policy = load_policy_file(settings.policy_file)
    async with connect_pool(settings) as pool:
        runner = ProjectionRunner(pool, store_for(pool, settings), default_projections(policy),
                                  on_error=settings.projection_on_error)
        if args.action == "status":
            return await _projection_status(args, pool, [p.name for p in runner.projections])
        count = await (runner.rebuild() if args.action == "rebuild" else runner.catch_up())
    names = [p.name for p in runner.projections]
    emit(args, {"events_applied": count, "projections": names},
         f"{args.action}: {count} event applications across {len(names)} projections "
         f"({', '.join(names)})")
    return 0


async def _projection_status(args: argparse.Namespace, pool: Any, names: list[str]) -> int:
    """Exit 1 when any projection has quarantined events or is halted: someone must look."""
    from ..store.projections import projection_status

    statuses = await projection_status(pool, names)
    lines = []
    for st in statuses:
        lines.append(f"{st.name:16} position {st.tx_id}/{st.global_position}  lag {st.lag}  "
                     f"errors {st.errors}  quarantined {len(st.quarantined)}"
                     + ("  HALTED" if st.halted else ""))
        if st.last_error:
            lines.append(f"  last error ({st.last_error_at:%Y-%m-%d %H:%M:%S}): "
                         f"{st.last_error}")
        lines += [f"  quarantined {q['stream_id']} v{q['stream_version']} {q['event_type']} "
                  f"{q['event_id']}: {q['error']}" for q in st.quarantined]
    emit(args, [st.model_dump(mode="json") for st in statuses], "\n".join(lines))
    return 1 if any(st.halted or st.quarantined for st in statuses) else 0


@command("cases")
async def _cases(args: argparse.Namespace, settings: Settings) -> int:
    async with connect_pool(settings) as pool:
        rows = await pool.fetch(
            """SELECT case_id, stage, respondent_id, next_deadline_kind, next_deadline_at,
                      opened_at, version FROM case_list
                WHERE ($1::text IS NULL OR stage = $1) ORDER BY opened_at DESC NULLS LAST""",
            args.stage,
        )
    docs = [dict(r) for r in rows]
    emit(args, docs, "\n".join(
        f"{r['case_id']}  {r['stage']:20} respondent={r['respondent_id']} next="
        f"{r['next_deadline_kind'] or '-'}@{r['next_deadline_at'] or '-'}" for r in rows)
        or "no cases (is a worker running? `dueprocess projections catch-up` fills this)")
    return 0


async def read_case_streams(
    store: EventStore, *, page: int = 1000
) -> dict[str, list[RecordedEvent]]:
    """Every case stream (``case-<id>``), paging through the global order."""
    from ..domain.streams import is_case_stream

    streams: dict[str, list[RecordedEvent]] = {}
    after = None
    while events := await store.read_all(after, limit=page):
        for event in events:
            if is_case_stream(event.stream_id):
                streams.setdefault(event.stream_id, []).append(event)
        after = events[-1].position
    return streams


def _period_end(text: str | None) -> datetime | None:
    """--to: a bare date includes that whole day; a date-time is the exclusive end."""
    end = parse_when(text, "--to")
    if text is not None and end is not None:
        try:
            date.fromisoformat(text)
        except ValueError:
            return end
        return end + timedelta(days=1)
    return end


def _nonzero(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "none"


def _share(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def stats_text(s: CaseStatistics) -> str:
    period = (f"{s.period_from:%Y-%m-%d %H:%M}" if s.period_from else "start") + " to " \
        + (f"{s.period_to:%Y-%m-%d %H:%M} (exclusive)" if s.period_to else "now")
    d, a, auto, m = s.decisions, s.appeals, s.automation, s.median_days
    i = s.interim_suspensions
    rules = "; ".join(f"{rule} {c.allegations} ({c.upheld} upheld, {c.not_upheld} not)"
                      for rule, c in s.by_rule.items()) or "none"
    return "\n".join([
        f"{s.cases} case(s) reported {period}, from {s.generated_from_events} events",
        f"  stage:       {_nonzero(s.by_stage)}",
        f"  source:      {_nonzero(s.by_complainant_kind)}",
        f"  rules cited: {rules}",
        f"  dismissed:   {s.dismissals.total} ({_nonzero(s.dismissals.by_reason)})",
        f"  decisions:   {d.total} ({d.upheld} upheld, {d.not_upheld} not upheld); "
        f"sanctions: {_nonzero(d.sanctions_by_kind)}",
        f"  interim suspensions: {i.imposed} imposed, {i.renewed} renewed, "
        f"{i.lifted} lifted, {i.lapsed} lapsed",
        f"  appeals:     {a.lodged} lodged, {a.decided} decided ({_nonzero(a.outcomes)}); "
        f"reversal rate {_share(a.reversal_rate)}",
        f"  automation:  {auto.reports_from_automated_detectors} detector report(s), "
        f"{auto.decisions_with_automated_detection} decision(s) with automated detection, "
        f"error rate {_share(auto.automated_error_rate)}",
        f"               automated decision: {_nonzero(auto.automated_decision)}",
        f"  deadlines missed: {_nonzero(s.deadlines_missed)}",
        f"  median days: report->decision {_days(m.report_to_decision)}, "
        f"report->closure {_days(m.report_to_closure)}, "
        f"decision->appeal decision {_days(m.decision_to_appeal_decision)}",
    ])


@command("stats")
async def _stats(args: argparse.Namespace, settings: Settings) -> int:
    from ..domain.statistics import case_statistics

    start, end = parse_when(args.period_from, "--from"), _period_end(args.period_to)
    if start is not None and end is not None and start >= end:
        raise ConfigError("--from must be before --to")
    async with connect_pool(settings) as pool:
        streams = await read_case_streams(store_for(pool, settings))
    stats = case_statistics(streams, period_from=start, period_to=end)
    emit(args, stats.model_dump(mode="json"), stats_text(stats))
    return 0


@command("keys")
async def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from ..store.keys import key_status, wrap_keys

    key_wrap = settings.key_wrap()
    async with connect_pool(settings) as pool:
        result = await wrap_keys(pool, key_wrap) if args.action == "wrap" else None
        status = await key_status(pool, key_wrap)
    doc = status.model_dump()
    lines = []
    if result is not None:
        doc |= result.model_dump()
        lines.append(f"wrapped {result.wrapped} key(s)")
        lines += [f"  key {key_id} left as it was: {why}"
                  for key_id, why in sorted(result.failed.items())]
    lines += [
        f"live keys in clear: {status.live_in_clear}",
        *(f"live keys wrapped by KEK {fingerprint}: {n}"
          for fingerprint, n in sorted(status.live_wrapped.items())),
        f"destroyed keys: {status.destroyed}",
        f"current KEK: {status.current_kek or 'none (DUEPROCESS_KEY_ENCRYPTION_KEYS unset)'}",
    ]
    if status.needing_wrap:
        lines.append(f"{status.needing_wrap} live key(s) not wrapped by the current KEK: "
                     "run `dueprocess keys wrap`")
    emit(args, doc, "\n".join(lines))
    return 1 if result is not None and (result.failed or status.needing_wrap) else 0


def _extend(sub: Any, add: Any) -> None:
    audit = add("audit", "audit a case (due-process checks), a member's standing, or access")
    audit.add_argument("subject", choices=["case", "member", "access"])
    audit.add_argument("id", help="case id or member id")
    audit.add_argument("--as-of", help="valid time for member standing (ISO date)")
    audit.add_argument("--as-known-on", help="knowledge time: what was recorded by then")
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
    proj = add("projections", "bring read models up to date, drop and rebuild them, or show "
               "their position, lag, errors and quarantined events")
    proj.add_argument("action", choices=["catch-up", "rebuild", "status"])
    cases = add("cases", "list cases with their stage and next deadline")
    cases.add_argument("--stage", help="only cases at this stage")
    keys = add("keys", "subject keys at rest: how they are stored (status), or wrap every "
               "live key under the current key-encryption key (wrap)")
    keys.add_argument("action", choices=["status", "wrap"])
    stats = add("stats", "transparency statistics from the log, without personal data")
    stats.add_argument("--from", dest="period_from", metavar="DATE",
                       help="count cases reported on or after this ISO date or date-time")
    stats.add_argument("--to", dest="period_to", metavar="DATE",
                       help="... and before this date-time (a bare date counts that whole day)")


EXTENSIONS.append(_extend)
