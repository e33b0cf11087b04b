"""Read models fed by a tailing consumer of the global order.

Each projection's rows and its checkpoint change in one transaction, and the checkpoint
row is locked while a batch is applied, so two runners never apply a batch twice and a
crash never skips one. ``rebuild`` empties a projection and replays it from the start;
the result equals the live one (tested).

Projections fold streams with the domain's one fold (``evolve``) rather than patching rows
event by event: a second copy of the rules is how read models drift. The fold is carried
on per stream (``Folds``, store/histories.py; the cases' in store/case_folds.py), so each
event is folded once, and the histories come from ``StreamHistories``, shared by the
projections of ``default_projections``: the cost of an event no longer grows with its
case's length.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence

from ..domain import case as dc
from ..domain.envelope import RecordedEvent
from ..domain.membership.history import CaseView
from ..domain.membership.standing import standing
from ..domain.policy import PolicyDocument
from ..domain.statistics import contribution
from ..domain.streams import case_id_of, is_case_stream, member_id_of, member_stream
from ..services.members import case_streams_of
from .case_folds import CaseFold, CaseViews, case_folds, case_state_from, first_unreadable
from .db import Connection
from .errors import ODD_DATA
from .eventstore import EventStore
from .histories import Folds, StreamHistories
from .projection_runner import Projection, ProjectionRunner, ProjectionStatus, projection_status
from .projections_sor import RestrictiveDecisionsProjection

__all__ = ["CaseListProjection", "CaseStatisticsProjection", "MemberStandingProjection",
           "Projection", "ProjectionRunner", "ProjectionStatus", "case_state_from",
           "default_projections", "projection_status"]

log = logging.getLogger("dueprocess.projections")


def people_in(state: dc.CaseState) -> list[str]:
    ids = set(state.party_ids) | state.witness_ids | state.panel_ever
    ids |= state.appeal_panel_ever | state.investigators_ever
    return sorted(ids)


async def touched_case_histories(
    histories: StreamHistories, store: EventStore, events: Sequence[RecordedEvent]
) -> list[tuple[str, list[RecordedEvent]]]:
    """Each case stream a batch touches, with its history up to what the batch has seen
    (not beyond, so a rebuild replays identically): what a per-case read model re-folds."""
    upto: dict[str, int] = {}
    for e in events:
        if is_case_stream(e.stream_id):
            upto[e.stream_id] = max(upto.get(e.stream_id, 0), e.stream_version)
    found = await histories.read(store, upto, events)
    return [(stream_id, found[stream_id]) for stream_id in sorted(upto)]


_CASE_LIST_UPSERT = """INSERT INTO case_list AS c (case_id, respondent_id, complainant_id,
       complainant_kind, stage, next_deadline_kind, next_deadline_at, opened_at,
       updated_at, version, people, stage_entered_at, overdue_since, held_until)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
   ON CONFLICT (case_id) DO UPDATE SET
       respondent_id = excluded.respondent_id,
       complainant_id = excluded.complainant_id,
       complainant_kind = excluded.complainant_kind, stage = excluded.stage,
       next_deadline_kind = excluded.next_deadline_kind,
       next_deadline_at = excluded.next_deadline_at,
       opened_at = excluded.opened_at, updated_at = excluded.updated_at,
       version = excluded.version, people = excluded.people,
       stage_entered_at = excluded.stage_entered_at,
       overdue_since = excluded.overdue_since, held_until = excluded.held_until"""


class CaseListProjection:
    """One row per case: stage (and since when), next deadline, since when a missed deadline
    has been outstanding, a hold's end, who is involved (ids only)."""

    name = "case_list"
    tables: tuple[str, ...] = ("case_list",)

    def __init__(self, histories: StreamHistories | None = None,
                 folds: Folds[CaseFold] | None = None) -> None:
        self._histories = histories or StreamHistories()
        self._folds = folds or case_folds()

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None:
        rows = [self._row(stream_id, history) for stream_id, history
                in await touched_case_histories(self._histories, store, events)]
        await conn.executemany(_CASE_LIST_UPSERT, rows)

    def _row(self, stream_id: str, history: Sequence[RecordedEvent]) -> tuple[object, ...]:
        case_id = case_id_of(stream_id) or stream_id
        try:
            state, entered, _ = self._folds.fold(stream_id, history)
        except ODD_DATA as err:
            raise first_unreadable(history, err) from err
        deadline = dc.next_deadline(state)  # (kind, due time)
        report = state.report
        return (
            case_id,
            report.respondent.person_id if report else None,
            report.complainant.person_id if report else None,
            str(report.complainant.kind) if report else None,
            str(state.stage),
            deadline[0] if deadline else None,
            deadline[1] if deadline else None,
            report.effective_at if report else None,
            history[-1].recorded_at,
            history[-1].stream_version,
            people_in(state),
            entered,
            dc.overdue_since(state),
            state.reporting.held_until,
        )


class CaseStatisticsProjection:
    """One row per reported case: its contribution to the transparency statistics (the
    domain's ``contribution``, so one definition of every figure), which the statistics
    sum without reading the log. Counts, kinds, rule ids, dates and durations only."""

    name = "case_statistics"
    tables: tuple[str, ...] = ("case_statistics",)

    def __init__(self, histories: StreamHistories | None = None,
                 folds: Folds[CaseFold] | None = None) -> None:
        self._histories = histories or StreamHistories()
        self._folds = folds or case_folds()

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None:
        shares, unreported = [], []
        for stream_id, history in await touched_case_histories(self._histories, store, events):
            try:
                state, _, parsed = self._folds.fold(stream_id, history)
                share = contribution(state, parsed)
            except ODD_DATA as err:
                raise first_unreadable(history, err) from err
            if share is None:  # no report (yet): the case counts nowhere
                unreported.append((stream_id,))
            else:
                shares.append((stream_id, share.reported_at,
                               history[-1].stream_version if history else 0,
                               share.model_dump_json()))
        if unreported:  # (an empty executemany still costs a round trip)
            await conn.executemany("DELETE FROM case_statistics WHERE stream_id = $1",
                                   unreported)
        await conn.executemany(
            """INSERT INTO case_statistics AS s (stream_id, reported_at, version, contribution)
               VALUES ($1, $2, $3, $4::jsonb)
               ON CONFLICT (stream_id) DO UPDATE SET reported_at = excluded.reported_at,
                   version = excluded.version, contribution = excluded.contribution""",
            shares)


class MemberStandingProjection:
    """One row per member: status, rights and continuity as of their latest fact.

    "As of the latest fact" (not "now") keeps a rebuild identical to the live table;
    time-driven changes arrive as events anyway (a suspension's end is recorded by its
    timer). Questions about other dates go to the standing fold directly (`audit member`).
    """

    name = "member_standing"
    tables: tuple[str, ...] = ("member_standing",)

    def __init__(self, policy: PolicyDocument, histories: StreamHistories | None = None,
                 folds: Folds[CaseFold] | None = None) -> None:
        self._policy = policy
        self._histories = histories or StreamHistories()
        self._views = CaseViews(folds or case_folds())
        # Per member, the case streams they are the respondent of: asked of the person index
        # once, then grown by the reports this projection meets (a report names its
        # respondent once and for all, and one committed after the question comes later in
        # the log), instead of a query per member per batch. Ids only; least recently used
        # members are dropped beyond MEMBERS_HELD.
        self._cases: OrderedDict[str, set[str]] = OrderedDict()

    MEMBERS_HELD = 10_000

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None:
        members = {m for m in (member_id_of(e.stream_id) for e in events) if m is not None}
        # A case's respondent is named by its report, version 1, in clear.
        openings = await self._histories.read(
            store, {e.stream_id: 1 for e in events if is_case_stream(e.stream_id)}, events)
        reported: list[tuple[str, str]] = []
        for stream_id, opening in openings.items():
            respondent = (opening[0].payload.get("respondent") or {}).get("person_id") \
                if opening and opening[0].event_type == "ReportFiled" else None
            if respondent:
                members.add(respondent)
                reported.append((respondent, stream_id))
        if not members:
            return
        cases = await self._case_streams(conn, members, reported)
        streams = sorted({s for m in members for s in (member_stream(m), *cases[m])})
        versions = {r["stream_id"]: int(r["version"]) for r in await conn.fetch(
            "SELECT stream_id, version FROM streams WHERE stream_id = ANY($1)", streams)}
        histories = await self._histories.read(store, versions)
        rows = []
        for member_id in sorted(members):
            history = [e for s in (member_stream(member_id), *cases[member_id])
                       for e in histories.get(s, [])]
            if history:
                views = [self._views.view(s, histories.get(s, [])) for s in cases[member_id]]
                rows.append(self._row(member_id, cases[member_id], history,
                                      [v for v in views if v.folded]))
        await conn.executemany(
            """INSERT INTO member_standing AS m (member_id, status, rights, membership_number,
                   continuous_since, case_ids, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (member_id) DO UPDATE SET status = excluded.status,
                   rights = excluded.rights, membership_number = excluded.membership_number,
                   continuous_since = excluded.continuous_since,
                   case_ids = excluded.case_ids, updated_at = excluded.updated_at""", rows)

    async def _case_streams(
        self, conn: Connection, members: set[str], reported: Sequence[tuple[str, str]]
    ) -> dict[str, list[str]]:
        unknown = sorted(m for m in members if m not in self._cases)
        if unknown:
            for member_id, streams in (await case_streams_of(conn, unknown)).items():
                self._cases[member_id] = set(streams)
        for member_id, stream_id in reported:
            self._cases[member_id].add(stream_id)
        for member_id in members:
            self._cases.move_to_end(member_id)
        found = {m: sorted(self._cases[m]) for m in members}
        while len(self._cases) > self.MEMBERS_HELD:
            self._cases.popitem(last=False)
        return found

    def _row(self, member_id: str, cases: Sequence[str], history: Sequence[RecordedEvent],
             views: Sequence[CaseView]) -> tuple[object, ...]:
        as_of = max(e.effective_at for e in history)
        result = standing(member_id, history, self._policy, as_of, views=views)
        return (member_id, str(result.status), sorted(str(r) for r in result.rights),
                result.membership_number, result.continuous_since,
                [case_id_of(c) or c for c in cases], as_of)


def default_projections(policy: PolicyDocument) -> list[Projection]:
    """The read models every worker keeps current (and `projections rebuild` rebuilds),
    sharing the streams' histories they read."""
    histories, folds = StreamHistories(), case_folds()
    return [CaseListProjection(histories, folds),
            MemberStandingProjection(policy, histories, folds),
            CaseStatisticsProjection(histories, folds), RestrictiveDecisionsProjection()]
