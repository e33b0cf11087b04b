"""Read models fed by a tailing consumer of the global order.

Each projection's rows and its checkpoint change in one transaction, and the checkpoint
row is locked while a batch is applied, so two runners never apply a batch twice and a
crash never skips one. ``rebuild`` empties a projection and replays it from the start;
the result equals the live one (tested).

Projections refold whole streams with the domain's one fold (``evolve``) rather than
patching rows event by event: a second copy of the rules is how read models drift.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from ..domain import case as dc
from ..domain.envelope import RecordedEvent
from ..domain.membership.standing import standing
from ..domain.policy import PolicyDocument
from ..domain.statistics import contribution
from ..domain.streams import case_id_of, is_case_stream, member_id_of, member_stream
from ..services.members import case_streams_for
from .db import Connection
from .errors import ODD_DATA, UnreadableEvent, reason
from .eventstore import EventStore
from .projection_runner import Projection, ProjectionRunner, ProjectionStatus, projection_status
from .projections_sor import RestrictiveDecisionsProjection

__all__ = ["CaseListProjection", "CaseStatisticsProjection", "MemberStandingProjection",
           "Projection", "ProjectionRunner", "ProjectionStatus", "default_projections",
           "projection_status"]

log = logging.getLogger("dueprocess.projections")


def case_state_from(events: Sequence[RecordedEvent], case_id: str) -> dc.CaseState:
    """The case folded from its stored events; an event this code cannot fold (a shape it
    does not read) is ``UnreadableEvent`` naming it."""
    try:
        return dc.state_from_payloads(case_id, (e.payload for e in events))
    except ODD_DATA as err:
        raise _first_unreadable(events, err) from err


def case_state_and_stage_entry(
    events: Sequence[RecordedEvent], case_id: str
) -> tuple[dc.CaseState, datetime | None]:
    """The case folded as ``case_state_from`` does, and when its current stage was entered:
    the effective time of the last event that changed the stage (the one fold decides)."""
    state, entered = dc.CaseState.empty(case_id), None
    try:
        for event in events:
            after = dc.evolve(state, dc.CASE_EVENT_ADAPTER.validate_python(event.payload))
            if after.stage != state.stage:
                entered = event.effective_at
            state = after
    except ODD_DATA as err:
        raise _first_unreadable(events, err) from err
    return state, entered


def _first_unreadable(events: Sequence[RecordedEvent], err: BaseException) -> UnreadableEvent:
    for event in events:
        try:
            dc.CASE_EVENT_ADAPTER.validate_python(event.payload)
        except ODD_DATA as invalid:
            return UnreadableEvent(reason(invalid), stream_id=event.stream_id,
                                   stream_version=event.stream_version,
                                   event_id=str(event.event_id))
    return UnreadableEvent(f"the case does not fold: {reason(err)}",
                           stream_id=events[-1].stream_id if events else None)


def people_in(state: dc.CaseState) -> list[str]:
    ids = set(state.party_ids) | state.witness_ids | state.panel_ever
    ids |= state.appeal_panel_ever | state.investigators_ever
    return sorted(ids)


async def touched_case_histories(
    store: EventStore, events: Sequence[RecordedEvent]
) -> AsyncIterator[tuple[str, list[RecordedEvent]]]:
    """Each case stream a batch touches, with its history up to what the batch has seen
    (not beyond, so a rebuild replays identically): what a per-case read model re-folds."""
    for stream_id in sorted({e.stream_id for e in events if is_case_stream(e.stream_id)}):
        upto = max(e.stream_version for e in events if e.stream_id == stream_id)
        yield stream_id, await store.read_stream(stream_id, to_version=upto)


class CaseListProjection:
    """One row per case: stage (and since when), next deadline, who is involved (ids only)."""

    name = "case_list"
    tables: tuple[str, ...] = ("case_list",)

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None:
        async for stream_id, history in touched_case_histories(store, events):
            await self._upsert(conn, stream_id, history)

    async def _upsert(
        self, conn: Connection, stream_id: str, history: Sequence[RecordedEvent]
    ) -> None:
        case_id = case_id_of(stream_id) or stream_id
        state, entered = case_state_and_stage_entry(history, case_id)
        deadline = min(dc.pending_deadlines(state), key=lambda d: d.due_at, default=None)
        report = state.report
        await conn.execute(
            """INSERT INTO case_list AS c (case_id, respondent_id, complainant_id,
                   complainant_kind, stage, next_deadline_kind, next_deadline_at, opened_at,
                   updated_at, version, people, stage_entered_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (case_id) DO UPDATE SET
                   respondent_id = excluded.respondent_id,
                   complainant_id = excluded.complainant_id,
                   complainant_kind = excluded.complainant_kind, stage = excluded.stage,
                   next_deadline_kind = excluded.next_deadline_kind,
                   next_deadline_at = excluded.next_deadline_at,
                   opened_at = excluded.opened_at, updated_at = excluded.updated_at,
                   version = excluded.version, people = excluded.people,
                   stage_entered_at = excluded.stage_entered_at""",
            case_id,
            report.respondent.person_id if report else None,
            report.complainant.person_id if report else None,
            str(report.complainant.kind) if report else None,
            str(state.stage),
            deadline.kind if deadline else None,
            deadline.due_at if deadline else None,
            report.effective_at if report else None,
            history[-1].recorded_at,
            history[-1].stream_version,
            people_in(state),
            entered,
        )


class CaseStatisticsProjection:
    """One row per reported case: its contribution to the transparency statistics (the
    domain's ``contribution``, so one definition of every figure), which the statistics
    sum without reading the log. Counts, kinds, rule ids, dates and durations only."""

    name = "case_statistics"
    tables: tuple[str, ...] = ("case_statistics",)

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None:
        async for stream_id, history in touched_case_histories(store, events):
            await self._upsert(conn, stream_id, history)

    async def _upsert(
        self, conn: Connection, stream_id: str, history: Sequence[RecordedEvent]
    ) -> None:
        try:
            parsed = [dc.CASE_EVENT_ADAPTER.validate_python(e.payload) for e in history]
            state = dc.fold(parsed, dc.CaseState.empty(case_id_of(stream_id) or stream_id))
            share = contribution(state, parsed)
        except ODD_DATA as err:
            raise _first_unreadable(history, err) from err
        if share is None:  # no report (yet): the case counts nowhere
            await conn.execute("DELETE FROM case_statistics WHERE stream_id = $1", stream_id)
            return
        await conn.execute(
            """INSERT INTO case_statistics AS s (stream_id, reported_at, version, contribution)
               VALUES ($1, $2, $3, $4::jsonb)
               ON CONFLICT (stream_id) DO UPDATE SET reported_at = excluded.reported_at,
                   version = excluded.version, contribution = excluded.contribution""",
            stream_id, share.reported_at, history[-1].stream_version if history else 0,
            share.model_dump_json(),
        )


class MemberStandingProjection:
    """One row per member: status, rights and continuity as of their latest fact.

    "As of the latest fact" (not "now") keeps a rebuild identical to the live table;
    time-driven changes arrive as events anyway (a suspension's end is recorded by its
    timer). Questions about other dates go to the standing fold directly (`audit member`).
    """

    name = "member_standing"
    tables: tuple[str, ...] = ("member_standing",)

    def __init__(self, policy: PolicyDocument) -> None:
        self._policy = policy

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None:
        members = {m for m in (member_id_of(e.stream_id) for e in events) if m is not None}
        for stream_id in {e.stream_id for e in events if is_case_stream(e.stream_id)}:
            opening = await store.read_stream(stream_id, to_version=1)
            respondent = (opening[0].payload.get("respondent") or {}).get("person_id") \
                if opening and opening[0].event_type == "ReportFiled" else None
            if respondent:
                members.add(respondent)
        for member_id in sorted(members):
            await self._upsert(conn, store, member_id)

    async def _upsert(self, conn: Connection, store: EventStore, member_id: str) -> None:
        cases = await case_streams_for(conn, member_id)
        history = await store.read_streams([member_stream(member_id), *cases])
        if not history:
            return
        as_of = max(e.effective_at for e in history)
        result = standing(member_id, history, self._policy, as_of)
        await conn.execute(
            """INSERT INTO member_standing AS m (member_id, status, rights, membership_number,
                   continuous_since, case_ids, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (member_id) DO UPDATE SET status = excluded.status,
                   rights = excluded.rights, membership_number = excluded.membership_number,
                   continuous_since = excluded.continuous_since,
                   case_ids = excluded.case_ids, updated_at = excluded.updated_at""",
            member_id, str(result.status), sorted(str(r) for r in result.rights),
            result.membership_number, result.continuous_since,
            [case_id_of(c) or c for c in cases], as_of,
        )


def default_projections(policy: PolicyDocument) -> list[Projection]:
    """The read models every worker keeps current (and `projections rebuild` rebuilds)."""
    return [CaseListProjection(), MemberStandingProjection(policy), CaseStatisticsProjection(),
            RestrictiveDecisionsProjection()]
