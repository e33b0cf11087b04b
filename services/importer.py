"""Importing past cases and memberships: judge the whole file, write it in ONE transaction,
then resume the open cases' workflows.

All-or-nothing, in two parts:
1. The store: the file is parsed and every step judged by the planner (domain/imports)
   before anything is written; then every stream is appended, each from version 0, on one
   connection in one transaction. A refusal, a conflict or a crash rolls all of it back.
2. Temporal: only after the commit are the open cases' workflows started, each from its
   imported state (``CaseInput``: the folded state, the stream version and the deadlines
   already acted on), so their timers count from the case's own dates; and each closed
   case's retention timer (workflows/retention.py) is started, as a case closing in its
   workflow starts it, when its pinned rulebook sets a period (a period already over
   shreds at once). Starting is idempotent (the workflow ids are the case's; an existing
   run is kept). Should it fail (Temporal unreachable), the events stand and the report
   lists the cases not resumed or not retained: importing the same file again with the
   same ``import_id`` writes nothing and starts them from the store (the compensating
   step; a stream written by another import, or not by an import, is refused instead).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

import asyncpg

from ..activities.contracts import RulebookSource
from ..domain.base import Actor, Model
from ..domain.case.state import state_from_payloads
from ..domain.envelope import PrincipalRecord
from ..domain.imports.findings import ImportFinding
from ..domain.imports.model import ImportRejected, parse_import
from ..domain.imports.plan import (
    MISS_TYPES,
    ImportContext,
    ImportedCase,
    ImportPlan,
    plan_import,
)
from ..domain.retention import case_retention_end
from ..domain.streams import case_stream
from ..store.db import Database
from ..store.errors import ErasedSubject
from ..store.eventstore import EventStore, EventStoreError
from ..workflows.case import CaseInput
from .client import DueProcessClient

# Starts (or finds) the workflow of an open imported case: (case, state source) -> None.
Resume = Callable[[ImportedCase], Awaitable[None]]
# Starts (or finds) a closed imported case's retention timer: (case id, retention end).
Retain = Callable[[str, datetime], Awaitable[None]]


class ImportedCaseReport(Model):
    case_id: str
    record: str
    stage: str
    closed: bool
    events: int
    historical_deadlines: int  # deadlines missed before the import (acted on at their due times)
    resumed: bool  # an open case's workflow runs (closed cases need none)
    # A closed case's retention end (None: open, or its rulebook sets no period), and
    # whether its retention timer runs.
    retention_until: datetime | None = None
    retained: bool = False
    # Steps imported as recorded that fail a due-process rule ("imported, fails rule X"),
    # each naming its record, rule and field; the audit fails the rule at that event.
    findings: list[ImportFinding] = []


class ImportReport(Model):
    import_id: str
    source: str
    importer: Actor
    recorded_at: datetime
    events: int
    members: list[str]
    cases: list[ImportedCaseReport]
    already_imported: bool = False  # the same import again: nothing written
    not_resumed: list[str] = []  # open cases whose workflow could not be started
    not_retained: list[str] = []  # closed cases whose retention timer could not be started


class ImportService:
    def __init__(self, pool: Database, store: EventStore, rulebook: RulebookSource,
                 resume: Resume | None = None, retain: Retain | None = None) -> None:
        self._pool = pool
        self._store = store
        self._rulebook = rulebook
        self._resume = resume
        self._retain = retain

    async def check(self, document: Any, importer: Actor, now: datetime, *,
                    import_id: str | None = None,
                    principal: PrincipalRecord | None = None) -> ImportPlan:
        """The plan (nothing written), or ImportRejected naming the record and field."""
        file = parse_import(document)
        rulebook = await self._rulebook()
        if rulebook is None:
            raise ImportRejected("no rulebook is published: reports are filed under the "
                                 "published rulebook (`dueprocess policy publish FILE`)",
                                 record="file", rule="published-rulebook", field=None)
        ctx = ImportContext(import_id=import_id or str(uuid4()), importer=importer, now=now,
                            rulebook=rulebook, principal=principal)
        return plan_import(file, ctx)

    async def run(self, document: Any, importer: Actor, now: datetime, *,
                  import_id: str | None = None, principal: PrincipalRecord | None = None,
                  dry_run: bool = False) -> ImportReport:
        plan = await self.check(document, importer, now, import_id=import_id,
                                principal=principal)
        existing = await self._existing(plan)
        again = bool(existing) and await self._same_import(plan, existing)
        cases = list(plan.cases)
        if again:
            cases = await self._from_store(plan)
        elif not dry_run:
            await self.write(plan)
        not_resumed = [] if dry_run else await self._resume_open(cases)
        not_retained = [] if dry_run else await self._retain_closed(cases)
        return ImportReport(
            import_id=plan.import_id, source=plan.source, importer=importer, recorded_at=now,
            events=0 if again else plan.event_count, members=list(plan.members),
            already_imported=again, not_resumed=not_resumed, not_retained=not_retained,
            cases=[ImportedCaseReport(
                case_id=c.case_id, record=c.record, stage=str(c.state.stage), closed=c.closed,
                events=c.version, historical_deadlines=c.historical_deadlines,
                resumed=not dry_run and not c.closed and c.case_id not in not_resumed,
                retention_until=(end := case_retention_end(c.state)),
                retained=not dry_run and end is not None and c.case_id not in not_retained,
                findings=list(c.findings))
                for c in cases])

    async def _existing(self, plan: ImportPlan) -> list[str]:
        rows = await self._pool.fetch(
            "SELECT stream_id FROM streams WHERE stream_id = ANY($1::text[])",
            [b.stream_id for b in plan.batches])
        return [r["stream_id"] for r in rows]

    async def _same_import(self, plan: ImportPlan, existing: Sequence[str]) -> bool:
        """True when every stream of the plan holds exactly this import's first event;
        otherwise ImportRejected names the first record whose stream already exists."""
        found = set(existing)
        for batch in (b for b in plan.batches if b.events):
            if batch.stream_id not in found:
                raise self._exists(batch.record, "is partly imported")
            first = await self._store.read_stream(batch.stream_id, to_version=1)
            if not first or first[0].event_id != batch.events[0].event_id:
                raise self._exists(batch.record, "already has a history in dueprocess")
        return True

    @staticmethod
    def _exists(record: str, why: str) -> ImportRejected:
        field = "member_id" if record.startswith("members") else "case_id"
        return ImportRejected(f"{field}: {why}; nothing was imported", record=record,
                              rule="import-new-streams", field=field)

    async def write(self, plan: ImportPlan) -> None:
        """Every stream in ONE transaction, on one connection (see the module docstring)."""
        async with self._pool.acquire() as conn, conn.transaction():
            store = self._store.pinned(conn)
            for batch in plan.batches:
                if not batch.events:
                    continue
                try:
                    await store.append(batch.stream_id, 0, batch.events)
                except ErasedSubject as err:  # the file names someone erased: say who
                    raise ImportRejected(f"{err}", record=batch.record, rule="erased-subject",
                                         field=None) from err
                except (asyncpg.PostgresError, EventStoreError) as err:
                    # The transaction is lost (rolled back as this leaves it): say which
                    # record met a stream written meanwhile, e.g. by another import.
                    raise self._exists(batch.record, f"was written by someone else while "
                                       f"importing ({type(err).__name__})") from err

    async def _from_store(self, plan: ImportPlan) -> list[ImportedCase]:
        """The cases as the earlier run of this import stored them."""
        cases = []
        for case in plan.cases:
            records = await self._store.read_stream(case_stream(case.case_id))
            state = state_from_payloads(case.case_id, [r.payload for r in records])
            cases.append(ImportedCase(
                case_id=case.case_id, record=case.record, state=state,
                version=records[-1].stream_version if records else 0, fired=(),
                historical_deadlines=sum(1 for r in records if r.imported
                                         and r.imported.historical_deadline
                                         and r.event_type in MISS_TYPES),
                findings=case.findings))  # the same file judged the same way
        return cases

    async def _retain_closed(self, cases: Sequence[ImportedCase]) -> list[str]:
        failed = []
        for case in cases:
            end = case_retention_end(case.state)
            if end is None:
                continue
            if self._retain is None:
                failed.append(case.case_id)
                continue
            try:
                await self._retain(case.case_id, end)
            except Exception:  # reported, and mended by importing again (module docstring)
                failed.append(case.case_id)
        return failed

    async def _resume_open(self, cases: Sequence[ImportedCase]) -> list[str]:
        failed = []
        for case in cases:
            if case.closed:
                continue
            if self._resume is None:
                failed.append(case.case_id)
                continue
            try:
                await self._resume(case)
            except Exception:  # reported, and mended by importing again (module docstring)
                failed.append(case.case_id)
        return failed


def resume_in_workflow(client: DueProcessClient) -> Resume:
    """Start an open imported case's workflow in its imported state: its state, stream
    version and the deadlines acted on before the import (never fired again). An existing
    run of the case is kept (a second import of the same file resumes, never restarts)."""
    async def resume(case: ImportedCase) -> None:
        await client.resume(CaseInput(case_id=case.case_id, state=case.state,
                                      version=case.version, fired=list(case.fired)))
    return resume


def retain_in_workflow(client: DueProcessClient) -> Retain:
    """Start a closed imported case's retention timer; an existing one is kept."""
    async def retain(case_id: str, due_at: datetime) -> None:
        await client.start_retention(case_id, due_at)
    return retain
