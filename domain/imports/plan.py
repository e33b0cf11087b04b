"""The import planner: a whole import file judged and turned into envelopes, or refused.

Pure (no I/O, clock or randomness: the caller passes the time and the import id), so the
service can judge EVERYTHING before it writes anything (all-or-nothing).

Each case is replayed as its workflow would have lived it, at the source's own times:
- every step's events are built as a live command's are (``propose``, the decider
  without its rule judgement) at the time the organisation knew it (``known_at``, else
  its effective time), then judged by the same rules decide() asks (``findings``): a
  record the rules find unreadable refuses the file; a step that breaks a due-process
  rule is recorded as it happened and listed as a finding, for the audit to fail;
- before each step, and finally up to the import time, the deadlines that fell due are
  acted on at their due time, exactly as the workflow's timers would have: a missed one is
  recorded as a historical miss (effective at its due time, flagged in the envelope as a
  historical deadline), never fired today, and no notice goes out for it;
- a case still open resumes in its workflow from the folded state, with those deadlines
  marked acted on, so its timers count from the case's own dates.

Every event's envelope says it was imported (``ImportRecord``: source, import id, the
record in the file, the importer and the asserted knowledge time); ``recorded_at`` is the
import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, uuid5

from ..base import Actor, DomainError, EventBase
from ..case.commands import FileReport
from ..case.deadlines import Deadline, pending_deadlines
from ..case.decide import decide
from ..case.events import CaseEvent
from ..case.state import CaseState, evolve
from ..envelope import ImportRecord, NewEvent, PrincipalRecord, envelope_for
from ..membership.member import MemberState, day_start, decide_member, evolve_member
from ..policy import PolicyDocument
from ..rulebook import file_under_published
from ..streams import case_stream, member_stream
from .findings import ImportFinding, as_recorded, audit_check_of, breaches_of, recordable
from .model import CaseHistory, CaseStep, ImportFile, ImportRejected, MemberHistory


@dataclass(frozen=True)
class ImportContext:
    """Who imports, when, under which id and rulebook."""

    import_id: str
    importer: Actor
    now: datetime  # the import time: recorded_at of every event
    rulebook: PolicyDocument  # the published rulebook reports are filed under
    principal: PrincipalRecord | None = None  # the importer's verified token (API)


@dataclass(frozen=True)
class StreamBatch:
    stream_id: str
    record: str  # the file's record, e.g. cases[0]
    events: tuple[NewEvent, ...]


@dataclass(frozen=True)
class ImportedCase:
    case_id: str
    record: str
    state: CaseState
    version: int  # the stream version after the import
    fired: tuple[str, ...]  # deadlines acted on before the import (the workflow's keys)
    historical_deadlines: int
    findings: tuple[ImportFinding, ...] = ()  # steps imported as recorded that fail a rule

    @property
    def closed(self) -> bool:
        return self.state.closed


@dataclass(frozen=True)
class ImportPlan:
    import_id: str
    source: str
    batches: tuple[StreamBatch, ...]
    cases: tuple[ImportedCase, ...]
    members: tuple[str, ...]

    @property
    def event_count(self) -> int:
        return sum(len(b.events) for b in self.batches)

    @property
    def findings(self) -> tuple[ImportFinding, ...]:
        return tuple(f for c in self.cases for f in c.findings)


def deadline_key(deadline: Deadline) -> str:
    """The key the case workflow remembers an acted-on deadline by (workflows/case_helpers
    uses the same form; a test holds them equal)."""
    return f"{deadline.kind}@{deadline.due_at.isoformat()}"


def plan_import(file: ImportFile, ctx: ImportContext) -> ImportPlan:
    """The plan, or ImportRejected naming the first record and field at fault."""
    _unique([m.member_id for m in file.members], "members", "member_id")
    _unique([c.case_id for c in file.cases], "cases", "case_id")
    batches: list[StreamBatch] = []
    for i, member in enumerate(file.members):
        batches.append(_member(member, f"members[{i}]", file.source, ctx))
    cases = []
    for i, history in enumerate(file.cases):
        batch, case = _case(history, f"cases[{i}]", file.source, ctx)
        batches.append(batch)
        cases.append(case)
    return ImportPlan(import_id=ctx.import_id, source=file.source, batches=tuple(batches),
                      cases=tuple(cases), members=tuple(m.member_id for m in file.members))


def _unique(ids: list[str], records: str, field: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            raise ImportRejected(f"{field}: {value!r} appears twice in the file",
                                 record=f"{records}[{i}]", rule="import-ids-unique",
                                 field=field)
        seen.add(value)


def _refused(err: DomainError, record: str, command_type: str,
             unbuilt: bool = False) -> ImportRejected:
    field = f"command.{err.field}" if err.field else None
    where = f" [field: {field}]" if field else ""
    # A due-process breach caught while the step's events are built (a permission, a
    # disclosure judged as asked) leaves no events to record as they happened: say so.
    why = ("; its events are built only once this rule passes, so it cannot be recorded "
           "as it happened" if unbuilt and recordable(err) else "")
    return ImportRejected(f"{command_type} refused ({err.error_type}, rule {err.rule}): "
                          f"{err.message}{where}{why}", record=record, rule=err.rule,
                          field=field)


# The timer events that record a deadline missed (counted as historical misses).
MISS_TYPES = frozenset({"DeadlineMissed", "DataCollectionNoticeMissed"})


class _Envelopes:
    """Envelopes of one record's events, with ids derived from the import id and the
    record (the same file imported under the same id gives the same ids)."""

    def __init__(self, ctx: ImportContext, source: str, stream: str) -> None:
        self._ctx, self._source, self._stream = ctx, source, stream
        self.events: list[NewEvent] = []

    def add(self, events: Sequence[EventBase], record: str,
            known_at: datetime | None, historical: bool = False) -> None:
        ctx = self._ctx
        for event in events:
            n = len(self.events) + 1
            imported = ImportRecord(source=self._source, import_id=ctx.import_id,
                                    record=record, importer=ctx.importer, known_at=known_at,
                                    historical_deadline=historical)
            self.events.append(envelope_for(
                event, event_id=uuid5(NAMESPACE_URL, f"dueprocess-import:{ctx.import_id}:"
                                                     f"{self._stream}:{n}"),
                recorded_at=ctx.now, principal=ctx.principal, imported=imported,
                correlation_id=f"import:{ctx.import_id}", causation_id=record))


def _member(history: MemberHistory, record: str, source: str,
            ctx: ImportContext) -> StreamBatch:
    stream = member_stream(history.member_id)
    out = _Envelopes(ctx, source, stream)
    state = MemberState.empty(history.member_id)
    for j, fact in enumerate(history.facts):
        where, command = f"{record}.facts[{j}]", fact.command
        at = command.effective_at or day_start(getattr(command, "joined_on", ctx.now.date()))
        if command.effective_at is None and command.type != "RecordJoined":
            raise ImportRejected("command.effective_at: an imported fact must carry its "
                                 "original effective_at", record=where,
                                 rule="import-effective-time", field="command.effective_at")
        now = fact.known_at or at
        if now > ctx.now:
            raise _future(where, fact.known_at)
        try:
            events = decide_member(state, command, now, ctx.rulebook)
        except DomainError as err:
            raise _refused(err, where, command.type) from None
        for event in events:
            state = evolve_member(state, event)
        out.add(events, where, fact.known_at)
    return StreamBatch(stream_id=stream, record=record, events=tuple(out.events))


def _future(record: str, known_at: datetime | None) -> ImportRejected:
    field = "known_at" if known_at is not None else "command.effective_at"
    return ImportRejected(f"{field}: an imported fact cannot be later than the import",
                          record=record, rule="import-in-the-past", field=field)


class _CaseReplay:
    """A case replayed at its own times, timers included (see the module docstring)."""

    def __init__(self, history: CaseHistory, record: str, source: str,
                 ctx: ImportContext) -> None:
        self.state = CaseState.empty(history.case_id)
        self.fired: list[str] = []
        self.misses = 0
        self.findings: list[ImportFinding] = []
        self._case_id = history.case_id
        self.out = _Envelopes(ctx, source, case_stream(history.case_id))
        self._record, self._ctx = record, ctx

    def apply(self, events: list[CaseEvent]) -> None:
        for event in events:
            self.state = evolve(self.state, event)

    def timers_until(self, until: datetime, inclusive: bool) -> None:
        """Act on each deadline due before ``until`` (or at it), earliest first."""
        while True:
            due = [d for d in pending_deadlines(self.state) if deadline_key(d) not in self.fired
                   and (d.due_at <= until if inclusive else d.due_at < until)]
            if not due:
                return
            deadline = min(due, key=lambda d: d.due_at)
            self.fired.append(deadline_key(deadline))
            try:
                events = decide(self.state, deadline.command, deadline.due_at)
            except DomainError:
                continue  # declined, as the workflow's timer would be: remembered as fired
            # Only a miss is a historical miss: a period that ended as scheduled (an appeal
            # window closed, a sanction served, an interim suspension lapsed) is not one.
            self.misses += sum(1 for e in events if e.type in MISS_TYPES)
            self.out.add(events, f"{self._record}:deadline:{deadline.kind}",
                         deadline.due_at, historical=True)
            self.apply(events)

    def step(self, step: CaseStep, where: str) -> None:
        command = step.command
        if isinstance(command, FileReport) and self.state.report is None:
            try:
                command = file_under_published(command, self._ctx.rulebook)
            except DomainError as err:
                raise _refused(err, where, command.type) from None
        now = step.known_at or step.at
        if now > self._ctx.now:
            raise _future(where, step.known_at)
        try:
            events, acted = as_recorded(self.state, command, now)
        except DomainError as err:
            raise _refused(err, where, command.type, unbuilt=True) from None
        found, unreadable = breaches_of(self.state, events, now)
        if unreadable is not None:
            raise _refused(unreadable, where, command.type)
        first = len(self.out.events) + 1  # the stream version of the step's first event
        breaches = [(index, v.rule, v.field, v.message) for index, v in found]
        if acted is not None and events and acted.rule not in {b[1] for b in breaches}:
            breaches.insert(0, (0, acted.rule, acted.field, acted.message))
        self.findings += [ImportFinding(
            record=where, case_id=self._case_id, stream_version=first + index,
            event_type=events[index].type, rule=rule_id,
            field=f"command.{field}" if field else None, message=message,
            audit_check=audit_check_of(rule_id))
            for index, rule_id, field, message in breaches]
        self.out.add(events, where, step.known_at)
        self.apply(events)


def _case(history: CaseHistory, record: str, source: str,
          ctx: ImportContext) -> tuple[StreamBatch, ImportedCase]:
    replay = _CaseReplay(history, record, source, ctx)
    if not isinstance(history.steps[0].command, FileReport):
        raise ImportRejected("command.type: a case's first step must be its FileReport",
                             record=f"{record}.steps[0]", rule="import-case-starts-with-report",
                             field="command.type")
    for j, step in enumerate(history.steps):
        replay.timers_until(step.at, inclusive=False)
        replay.step(step, f"{record}.steps[{j}]")
    replay.timers_until(ctx.now, inclusive=True)
    batch = StreamBatch(stream_id=case_stream(history.case_id), record=record,
                        events=tuple(replay.out.events))
    case = ImportedCase(case_id=history.case_id, record=record, state=replay.state,
                        version=len(replay.out.events), fired=tuple(replay.fired),
                        historical_deadlines=replay.misses,
                        findings=tuple(replay.findings))
    return batch, case


__all__ = ["MISS_TYPES", "ImportContext", "ImportFinding", "ImportPlan", "ImportedCase",
           "StreamBatch", "deadline_key", "plan_import"]
