"""Deciders for appeal, sanction, reinstatement, closure and timers, and for instructions
on the record (at any stage from the report until closure).
"""

from __future__ import annotations

from datetime import datetime

from ...base import DueProcessViolation, InvalidCommand
from ...policy import SANCTION_STATUS, PolicyVersion, Rule
from ...rules.checks import (
    check_panel,
    check_sanction,
    conflicted_for,
    meta,
    procedure,
    require_subject,
)
from ..commands import (
    AppointAppealPanel,
    CarryOutSanction,
    CloseAppealWindow,
    CloseCase,
    DecideAppeal,
    EndSanction,
    EscalateMissedDeadline,
    LapseInterimSuspension,
    LodgeAppeal,
    RecordInstruction,
    Reinstate,
)
from ..deadlines import acknowledge_due, response_due
from ..events import (
    AppealDecided,
    AppealLodged,
    AppealPanelAppointed,
    AppealWindowClosed,
    CaseClosed,
    CaseEvent,
    DeadlineMissed,
    InstructionRecorded,
    InterimSuspensionLapsed,
    MemberReinstated,
    SanctionApplied,
    SanctionEnded,
)
from ..state import CaseState
from ..values import AppealOutcome, ReinstatementReason


def lodge_appeal(state: CaseState, cmd: LodgeAppeal, at: datetime) -> list[CaseEvent]:
    decision = state.decision
    if decision is None:
        raise InvalidCommand("there is no decision to appeal", rule="decision-before-appeal")
    if state.appeal is not None:
        if state.appeal.grounds == cmd.grounds:
            return []
        raise InvalidCommand("an appeal has already been lodged", rule="appeal-already-lodged")
    if not decision.upheld:
        raise InvalidCommand("nothing was upheld, so there is nothing to appeal",
                             rule="nothing-to-appeal")
    if state.appeal_window_closed or at > decision.appeal_deadline:
        raise DueProcessViolation(
            f"the appeal window closed at {decision.appeal_deadline.isoformat()}",
            rule="appeal-window", field="effective_at")
    assert state.respondent is not None
    require_subject(cmd.grounds, state.respondent.person_id, field="grounds")
    return [AppealLodged(**meta(cmd, at), grounds=cmd.grounds)]


def appoint_appeal_panel(state: CaseState, cmd: AppointAppealPanel,
                         at: datetime) -> list[CaseEvent]:
    if state.appeal is None:
        raise InvalidCommand("no appeal has been lodged", rule="appeal-lodged")
    if state.appeal_decision is not None:
        raise InvalidCommand("the appeal has been decided", rule="appeal-decided")
    if list(state.appeal_panel) == cmd.members:
        return []
    # ACAS 27: the appeal is heard by someone not previously involved.
    check_panel(cmd.members, conflicted_for(state, state.investigators_ever, state.panel_ever))
    return [AppealPanelAppointed(**meta(cmd, at), members=cmd.members)]


def decide_appeal(state: CaseState, cmd: DecideAppeal, at: datetime) -> list[CaseEvent]:
    if state.appeal is None:
        raise InvalidCommand("no appeal has been lodged", rule="appeal-lodged")
    if state.appeal_decision is not None:
        done = state.appeal_decision
        if (done.outcome, done.reasons, done.new_sanction) == (
                cmd.outcome, cmd.reasons, cmd.new_sanction):
            return []
        raise InvalidCommand("the appeal has been decided", rule="appeal-decided")
    varied = cmd.outcome is AppealOutcome.SANCTION_VARIED
    if varied != (cmd.new_sanction is not None):
        raise InvalidCommand("a new sanction is given exactly when the sanction is varied",
                             rule="sanction-varied", field="new_sanction")
    if cmd.new_sanction is not None:
        check_sanction(cmd.new_sanction, _upheld_rules(state), field="new_sanction")
    return [AppealDecided(**meta(cmd, at), outcome=cmd.outcome, reasons=cmd.reasons,
                          new_sanction=cmd.new_sanction)]


def _upheld_rules(state: CaseState) -> list[tuple[PolicyVersion, Rule]]:
    assert state.decision is not None
    cited = (state.rule_for(f.allegation_id) for f in state.decision.findings if f.upheld)
    return [pair for pair in cited if pair is not None]


def carry_out_sanction(state: CaseState, cmd: CarryOutSanction, at: datetime) -> list[CaseEvent]:
    if state.sanction is not None:
        return []
    sanction = state.effective_sanction
    if sanction is None:
        raise InvalidCommand("no sanction stands to be carried out", rule="no-sanction")
    if state.appeal is not None and state.appeal_decision is None:
        raise DueProcessViolation("an appeal is pending", rule="appeal-pending")
    if state.appeal is None and not state.appeal_window_closed:
        raise DueProcessViolation("the appeal window is still open", rule="appeal-window")
    status = SANCTION_STATUS[sanction.kind]
    return [SanctionApplied(
        **meta(cmd, at), sanction=sanction, status=status,
        rights_removed=sorted(procedure(state).rights_removed(status)),
        ends_at=at + sanction.term if sanction.term is not None else None)]


def reinstate(state: CaseState, cmd: Reinstate, at: datetime) -> list[CaseEvent]:
    if state.reinstated is not None:
        return []
    allowed = (state.appeal_decision is not None
               and state.appeal_decision.outcome is AppealOutcome.ALLOWED)
    if not (allowed or state.sanction_ended):
        raise InvalidCommand("reinstatement follows an allowed appeal or the end of a sanction",
                             rule="nothing-to-reinstate")
    reason = ReinstatementReason.APPEAL_ALLOWED if allowed else ReinstatementReason.SANCTION_ENDED
    return [MemberReinstated(**meta(cmd, at), reason=reason,
                             rights_restored=sorted(state.rights_removed),
                             record_corrected=allowed, apology=cmd.apology)]


def close_case(state: CaseState, cmd: CloseCase, at: datetime) -> list[CaseEvent]:
    pending = pending_before_close(state)
    if pending:
        raise InvalidCommand(f"still pending: {', '.join(pending)}", rule="nothing-pending")
    return [CaseClosed(**meta(cmd, at))]


def record_instruction(state: CaseState, cmd: RecordInstruction,
                       at: datetime) -> list[CaseEvent]:
    """Any stage from the report until closure (decide() refuses before and after).

    Whether the sender is assigned to the case is computed here, from the case as it
    stands, and written into the event, so the audit can surface outside influence.
    """
    require_subject(cmd.content, cmd.from_person_id, field="content")
    if cmd.received_at > at:
        raise InvalidCommand("an instruction cannot be received after it is recorded",
                             rule="received-at-not-in-future", field="received_at")
    event = InstructionRecorded(
        **meta(cmd, at), from_person_id=cmd.from_person_id, from_role=cmd.from_role,
        channel=cmd.channel, content=cmd.content, received_at=cmd.received_at,
        sender_assigned=cmd.from_person_id in state.assigned_ids)
    if any(_same_instruction(done, event) for done in state.instructions):
        return []  # a retried command: already on the record
    return [event]


def _same_instruction(done: InstructionRecorded, new: InstructionRecorded) -> bool:
    fields = ("from_person_id", "from_role", "channel", "content", "received_at")
    return all(getattr(done, name) == getattr(new, name) for name in fields)


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


# Timers: each is a no-op once met or obsolete (a renewal moved the date, the case moved on).


def escalate_missed_deadline(state: CaseState, cmd: EscalateMissedDeadline,
                             at: datetime) -> list[CaseEvent]:
    due = acknowledge_due(state) if cmd.kind == "acknowledge" else response_due(state)
    if cmd.kind in state.missed or cmd.due_at != due:
        return []
    _require_due(cmd.due_at, at)
    return [DeadlineMissed(**meta(cmd, at), kind=cmd.kind, due_at=cmd.due_at)]


def lapse_interim_suspension(state: CaseState, cmd: LapseInterimSuspension,
                             at: datetime) -> list[CaseEvent]:
    if state.interim is None or state.interim.review_by != cmd.review_by:
        return []
    _require_due(cmd.review_by, at)
    return [InterimSuspensionLapsed(**meta(cmd, at), review_by=cmd.review_by,
                                    rights_restored=sorted(state.interim.rights_removed))]


def close_appeal_window(state: CaseState, cmd: CloseAppealWindow,
                        at: datetime) -> list[CaseEvent]:
    if state.decision is None or state.appeal_window_closed \
            or state.decision.appeal_deadline != cmd.closes_at:
        return []
    _require_due(cmd.closes_at, at)
    return [AppealWindowClosed(**meta(cmd, at), closes_at=cmd.closes_at)]


def end_sanction(state: CaseState, cmd: EndSanction, at: datetime) -> list[CaseEvent]:
    if state.sanction is None or state.sanction_ended or state.sanction.ends_at != cmd.ends_at:
        return []
    _require_due(cmd.ends_at, at)
    rights = sorted(state.rights_removed)
    return [SanctionEnded(**meta(cmd, at), ends_at=cmd.ends_at),
            MemberReinstated(**meta(cmd, at), reason=ReinstatementReason.SANCTION_ENDED,
                             rights_restored=rights, record_corrected=False)]


def _require_due(due_at: datetime, at: datetime) -> None:
    if at < due_at:
        raise InvalidCommand(f"not due until {due_at.isoformat()}", rule="deadline-not-reached",
                             field="effective_at")
