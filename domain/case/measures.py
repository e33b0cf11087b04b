"""A case's measures over time, as folded facts: every interim suspension and sanction,
with what renewed, ended, voided or varied it.

``CaseState`` keeps only the current interim suspension and sanction; member standing
answers questions about any valid time and any knowledge time, so it needs the whole
history. ``evolve`` records it here (rule-free, total, like the rest of the fold) and
standing reads it instead of folding case events a second time.

Events are cited by their ordinal in the fold (``CaseState.events_folded`` after the
event: 1 for the first event folded): a reader holding the events it folded can name
the stored event behind every fact without the fold knowing about envelopes.

What the events mean for a measure (invariant 9): an allowed appeal voids the decision
from the start; a varied sanction replaces the original from its original date, taking
its rights from the case's pinned procedure, as a renewal with no recorded imposition
does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..base import Model
from ..policy import INTERIM_STATUS, SANCTION_STATUS, PolicyVersion, Right, SanctionKind
from .events import (
    AppealDecided,
    CaseEvent,
    DecisionRecorded,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    MemberReinstated,
    RecordCorrected,
    SanctionApplied,
    SanctionEnded,
)
from .values import SANCTION_OUTCOMES, AppealOutcome, CorrectedRecord, ReinstatementReason, Sanction

ALL_RIGHTS: frozenset[Right] = frozenset(Right)
WARNED = SANCTION_STATUS[SanctionKind.WARNING]


class Measure(Model):
    """One interim suspension or sanction as it stands after the events folded so far."""

    source: int  # the InterimSuspensionImposed/Renewed or SanctionApplied
    status: str
    rights: frozenset[Right]
    start: datetime
    end: datetime | None = None  # exclusive; None: indefinite (or still open)
    sanction: Sanction | None = None
    decision: int | None = None  # the decision a sanction carried out
    renewals: tuple[int, ...] = ()
    ended_by: int | None = None
    ended_at: datetime | None = None  # when ended_by took effect
    continuity_preserved: bool = False  # ended by a reinstatement that preserved it
    appeal: int | None = None  # the outcome that voided, varied or upheld it
    voided: bool = False
    varied_from: Sanction | None = None
    corrected_by: int | None = None  # the correction that annulled or replaced it
    current_until: datetime | None = None  # after it the sanction no longer counts

    @property
    def interim(self) -> bool:
        return self.status == INTERIM_STATUS


class MeasureHistory(Model):
    closed: tuple[Measure, ...] = ()  # sanctions (open or not) and ended interim measures
    interim: Measure | None = None  # the open interim suspension
    decision: int | None = None  # the latest decision
    reversal: int | None = None  # the first outcome that voided the decision

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (*self.closed, *((self.interim,) if self.interim is not None else ()))


def interim_rights(procedure: PolicyVersion | None) -> frozenset[Right]:
    """Rights an interim suspension removes when no event says: the pinned procedure's."""
    return procedure.rights_removed(INTERIM_STATUS) if procedure else frozenset()


def record_measure(history: MeasureHistory, event: CaseEvent, seq: int,
                   procedure: PolicyVersion | None) -> MeasureHistory:
    """``history`` after ``event`` (ordinal ``seq``); ``procedure`` is the case's pinned one."""
    at = event.effective_at
    match event:
        case InterimSuspensionImposed():
            opened = Measure(source=seq, status=INTERIM_STATUS, start=at,
                             rights=frozenset(event.rights_removed))
            return _close_interim(history, seq, at).model_copy(update={"interim": opened})
        case InterimSuspensionRenewed():
            return _renewed(history, seq, at, procedure)
        case InterimSuspensionLifted() | InterimSuspensionLapsed():
            return _close_interim(history, seq, at)
        case DecisionRecorded():
            return _close_interim(history, seq, at).model_copy(update={"decision": seq})
        case SanctionApplied():
            return _applied(history, event, seq)
        case SanctionEnded():
            return _end_sanctions(history, seq, at)
        case MemberReinstated():
            return _reinstated(history, event, seq)
        case AppealDecided():
            return _appeal(history, event, seq, procedure)
        case RecordCorrected():
            return _corrected(history, event, seq, procedure)
    return history


def _close_interim(history: MeasureHistory, seq: int, at: datetime,
                   preserved: bool = False) -> MeasureHistory:
    if history.interim is None:
        return history
    ended = history.interim.model_copy(
        update={"end": at, "ended_by": seq, "ended_at": at, "continuity_preserved": preserved})
    return history.model_copy(update={"closed": (*history.closed, ended), "interim": None})


def _renewed(history: MeasureHistory, seq: int, at: datetime,
             procedure: PolicyVersion | None) -> MeasureHistory:
    if history.interim is not None:
        renewed = history.interim.model_copy(
            update={"renewals": (*history.interim.renewals, seq)})
        return history.model_copy(update={"interim": renewed})
    # A renewal with no recorded imposition is still a live measure on the record.
    opened = Measure(source=seq, status=INTERIM_STATUS, start=at,
                     rights=interim_rights(procedure))
    return history.model_copy(update={"interim": opened})


def _applied(history: MeasureHistory, event: SanctionApplied, seq: int) -> MeasureHistory:
    measure = Measure(source=seq, status=event.status, rights=frozenset(event.rights_removed),
                      start=event.effective_at, end=event.ends_at, sanction=event.sanction,
                      decision=history.decision, current_until=event.current_until)
    if history.reversal is not None:  # carried out after the decision was overturned
        measure = measure.model_copy(update={"voided": True, "appeal": history.reversal})
    return history.model_copy(update={"closed": (*history.closed, measure)})


def _sanctions(history: MeasureHistory,
               change: Callable[[Measure], Measure]) -> MeasureHistory:
    return history.model_copy(update={"closed": tuple(
        m if m.interim else change(m) for m in history.closed)})


def _end_sanctions(history: MeasureHistory, seq: int, at: datetime,
                   preserved: bool = False) -> MeasureHistory:
    def ended(m: Measure) -> Measure:
        if m.ended_by is not None or at < m.start:
            return m
        end = at if m.end is None else min(m.end, at)
        return m.model_copy(update={"end": end, "ended_by": seq, "ended_at": at,
                                    "continuity_preserved": preserved})

    return _sanctions(history, ended)


def _reinstated(history: MeasureHistory, event: MemberReinstated, seq: int) -> MeasureHistory:
    preserved = event.continuity_preserved
    history = _close_interim(history, seq, event.effective_at, preserved)
    if event.reason is ReinstatementReason.APPEAL_ALLOWED:
        history = _void(history, seq)
    return _end_sanctions(history, seq, event.effective_at, preserved)


def _appeal(history: MeasureHistory, event: AppealDecided, seq: int,
            procedure: PolicyVersion | None) -> MeasureHistory:
    if event.outcome is AppealOutcome.DISMISSED:
        return _sanctions(history, lambda m: m.model_copy(update={"appeal": seq}))
    new = event.new_sanction
    if event.outcome is AppealOutcome.SANCTION_VARIED and new is not None:
        return _sanctions(history, lambda m: _varied(m, seq, new, procedure))
    return _void(history, seq)  # allowed, or "varied" to no sanction at all


def _corrected(history: MeasureHistory, event: RecordCorrected, seq: int,
               procedure: PolicyVersion | None) -> MeasureHistory:
    """A corrected outcome is annulled, or replaced from its original date by the sanction
    the correction put in its place; a corrected interim suspension is annulled."""
    if event.corrects is CorrectedRecord.INTERIM_SUSPENSION:
        history = _close_interim(history, seq, event.effective_at) \
            if history.interim is not None and history.interim.source == event.corrects_version \
            else history
        return history.model_copy(update={"closed": tuple(
            m.model_copy(update={"voided": True, "corrected_by": seq})
            if m.interim and m.source == event.corrects_version else m
            for m in history.closed)})
    if event.corrects not in SANCTION_OUTCOMES:
        return history
    new = event.replaced_by
    if new is None:
        return _sanctions(history, lambda m: m.model_copy(
            update={"voided": True, "corrected_by": seq}))
    return _sanctions(history, lambda m: _varied(
        m.model_copy(update={"voided": False}), seq, new, procedure).model_copy(
        update={"corrected_by": seq, "appeal": m.appeal}))


def _void(history: MeasureHistory, seq: int) -> MeasureHistory:
    reversal = history.reversal if history.reversal is not None else seq
    voided = _sanctions(history, lambda m: m if m.voided else m.model_copy(
        update={"voided": True, "appeal": reversal}))
    return voided.model_copy(update={"reversal": reversal})


def _varied(measure: Measure, seq: int, new: Sanction,
            procedure: PolicyVersion | None) -> Measure:
    """The new sanction runs from the original start, as if decided that way."""
    if measure.voided:
        return measure
    status = SANCTION_STATUS[new.kind]
    end = measure.start + new.term if new.term is not None else None
    ended_by, ended_at = measure.ended_by, measure.ended_at
    preserved = measure.continuity_preserved
    # A recorded early end (the member was in fact reinstated) stands; otherwise the
    # new term decides when it ends.
    if ended_at is not None and (end is None or ended_at < end):
        end = ended_at
    else:
        ended_by, ended_at, preserved = None, None, False
    return measure.model_copy(update={
        "status": status, "rights": _status_rights(procedure, status, measure),
        "sanction": new, "end": end, "ended_by": ended_by, "ended_at": ended_at,
        "continuity_preserved": preserved, "appeal": seq, "varied_from": measure.sanction})


def _status_rights(procedure: PolicyVersion | None, status: str,
                   before: Measure) -> frozenset[Right]:
    if procedure is not None and status in procedure.statuses:
        return procedure.rights_removed(status)
    if before.status == status:
        return before.rights
    return frozenset() if status == WARNED else ALL_RIGHTS
