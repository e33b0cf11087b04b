"""Rules on time: interim suspension kept brief and under review, timers that fire only
when due, closure only when nothing is pending, and deadlines met or escalated
(ACAS 4 and 8, Chakrabarti, invariants 6 and 12).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import DueProcessViolation, InvalidCommand
from ..case.events import (
    AppealWindowClosed,
    CaseClosed,
    DeadlineMissed,
    InstructionRecorded,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionRenewed,
    SanctionEnded,
)
from ..case.state import CaseState
from ..case.values import AppealOutcome
from .model import Breach, ProcessRule, RuleKind, Transition, acas, invariant, report


def _not_active(t: Transition) -> Iterator[Breach]:
    if t.before.interim is not None:
        yield Breach(None, "an interim suspension is already in place: renew or lift it")


INTERIM_SUSPENSION_ACTIVE = ProcessRule(
    "interim-suspension-active", "One interim suspension at a time; it is renewed, not "
    "re-imposed", acas("8") + invariant(6), InvalidCommand,
    guards=("ImposeInterimSuspension",), events=(InterimSuspensionImposed,),
    predicate=_not_active, passed="no interim suspension was imposed over another")


def _active(t: Transition) -> Iterator[Breach]:
    if t.before.interim is None:
        yield Breach(None, "there is no interim suspension to renew")


NO_INTERIM_SUSPENSION = ProcessRule(
    "no-interim-suspension", "Only an interim suspension in force is renewed",
    acas("8") + invariant(6), InvalidCommand, guards=("RenewInterimSuspension",),
    events=(InterimSuspensionRenewed,), predicate=_active,
    passed="every renewal renewed a suspension in force")


def _review(t: Transition) -> Iterator[Breach]:
    """Interim measures are kept as brief as possible and under review (ACAS 8)."""
    assert isinstance(t.event, InterimSuspensionImposed | InterimSuspensionRenewed)
    at, review_by = t.event.effective_at, t.event.review_by
    if review_by <= at:
        yield Breach("review_by", "the review date must be in the future", InvalidCommand)
        return
    version = t.before.procedure
    if version is not None and review_by > at + version.deadlines.interim_suspension_review:
        longest = at + version.deadlines.interim_suspension_review
        yield Breach("review_by", f"review must be no later than {longest.isoformat()} under "
                                  "the policy")


INTERIM_SUSPENSION_REVIEW = ProcessRule(
    "interim-suspension-review", "An interim suspension is reviewed within the policy's period",
    acas("8") + report("Chakrabarti") + invariant(6), DueProcessViolation,
    guards=("ImposeInterimSuspension", "RenewInterimSuspension"),
    events=(InterimSuspensionImposed, InterimSuspensionRenewed), predicate=_review,
    passed="every interim suspension set a review date within the policy's period")


def _due(t: Transition) -> Iterator[Breach]:
    event = t.event
    due = event.due_at if isinstance(event, DeadlineMissed) else \
        event.review_by if isinstance(event, InterimSuspensionLapsed) else \
        event.closes_at if isinstance(event, AppealWindowClosed) else \
        event.ends_at if isinstance(event, SanctionEnded) else None
    if due is not None and event.effective_at < due:
        yield Breach("effective_at", f"not due until {due.isoformat()}")


DEADLINE_NOT_REACHED = ProcessRule(
    "deadline-not-reached", "A deadline is escalated, and a period ends, only once due",
    acas("4") + invariant(12), InvalidCommand,
    guards=("EscalateMissedDeadline", "LapseInterimSuspension", "CloseAppealWindow",
            "EndSanction"),
    events=(DeadlineMissed, InterimSuspensionLapsed, AppealWindowClosed, SanctionEnded),
    predicate=_due, passed="every timer fired no earlier than its due time")


def pending_before_close(state: CaseState) -> list[str]:
    """What must still happen before the case may be closed."""
    if state.dismissal is not None:
        return []
    if state.decision is None:
        return ["decision"]
    pending = []
    if state.appeal is not None and state.appeal_decision is None:
        pending.append("appeal")
    elif state.appeal is None and not state.appeal_window_closed:
        pending.append("appeal window")
    if state.effective_sanction is not None and state.sanction is None:
        pending.append("sanction")
    if state.sanction is not None and state.sanction.ends_at is not None \
            and not state.sanction_ended:
        pending.append("sanction term")
    allowed = (state.appeal_decision is not None
               and state.appeal_decision.outcome is AppealOutcome.ALLOWED)
    if allowed and state.reinstated is None:
        pending.append("reinstatement")
    return pending


def _nothing_pending(t: Transition) -> Iterator[Breach]:
    pending = pending_before_close(t.before)
    if pending:
        yield Breach(None, f"still pending: {', '.join(pending)}")


NOTHING_PENDING = ProcessRule(
    "nothing-pending", "A case closes only when nothing is pending",
    report("Forde", "ACAS records guidance") + invariant(12), InvalidCommand,
    guards=("CloseCase",), events=(CaseClosed,), predicate=_nothing_pending,
    passed="the case closed with nothing pending")


def _received(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, InstructionRecorded)
    if t.event.received_at > t.event.effective_at:
        yield Breach("received_at", "an instruction cannot be received after it is recorded")


RECEIVED_AT_NOT_IN_FUTURE = ProcessRule(
    "received-at-not-in-future", "An instruction is received before it is recorded",
    report("EHRC 2020") + invariant(5), InvalidCommand, guards=("RecordInstruction",),
    events=(InstructionRecorded,), predicate=_received,
    passed="every instruction was received before it was recorded")

DEADLINES_MET = ProcessRule(
    "deadlines-met-or-escalated", "Every deadline was met or its breach recorded",
    acas("4") + report("Chakrabarti", "EHRC 2020") + invariant(12), DueProcessViolation,
    kind=RuleKind.HISTORY, guards=("EscalateMissedDeadline",))

INTERIM_GOVERNED = ProcessRule(
    "interim-suspension-governed", "Interim suspension removes the policy's rights, restores "
    "them when it ends, and lapses or is renewed explicitly", acas("8") + invariant(6),
    DueProcessViolation, kind=RuleKind.HISTORY,
    guards=("ImposeInterimSuspension", "LiftInterimSuspension", "LapseInterimSuspension"))

STAGE = (INTERIM_SUSPENSION_ACTIVE, NO_INTERIM_SUSPENSION, NOTHING_PENDING)
CONTENT = (INTERIM_SUSPENSION_REVIEW, RECEIVED_AT_NOT_IN_FUTURE, DEADLINE_NOT_REACHED)
HISTORY = (INTERIM_GOVERNED, DEADLINES_MET)
