"""Deciders for appeal, sanction, reinstatement, closure and timers, and for instructions
on the record (at any stage from the report until closure).
"""

from __future__ import annotations

from datetime import datetime

from ...base import InvalidCommand
from ...policy import SANCTION_STATUS
from ...rules.currency import current_until
from ...rules.outcome import reinstatement_due
from ...rules.process import NO_SANCTION
from ..commands import (
    AppointAppealPanel,
    CarryOutSanction,
    CloseAppealWindow,
    CloseCase,
    CorrectRecord,
    DecideAppeal,
    EndSanction,
    EscalateMissedDeadline,
    LapseInterimSuspension,
    LodgeAppeal,
    RecordInstruction,
    Reinstate,
)
from ..deadlines import due_for
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
    RecordCorrected,
    SanctionApplied,
    SanctionEnded,
)
from ..state import CaseState
from ..values import SANCTION_OUTCOMES, ReinstatementReason
from .common import meta, procedure


def lodge_appeal(state: CaseState, cmd: LodgeAppeal, at: datetime) -> list[CaseEvent]:
    if state.appeal is not None and state.appeal.grounds == cmd.grounds:
        return []
    return [AppealLodged(**meta(cmd, at), grounds=cmd.grounds)]


def appoint_appeal_panel(state: CaseState, cmd: AppointAppealPanel,
                         at: datetime) -> list[CaseEvent]:
    if list(state.appeal_panel) == cmd.members and state.appeal_decision is None:
        return []
    return [AppealPanelAppointed(**meta(cmd, at), members=cmd.members)]


def decide_appeal(state: CaseState, cmd: DecideAppeal, at: datetime) -> list[CaseEvent]:
    done = state.appeal_decision
    if done is not None and (done.outcome, done.reasons, done.new_sanction) == (
            cmd.outcome, cmd.reasons, cmd.new_sanction):
        return []
    return [AppealDecided(**meta(cmd, at), outcome=cmd.outcome, reasons=cmd.reasons,
                          new_sanction=cmd.new_sanction)]


def carry_out_sanction(state: CaseState, cmd: CarryOutSanction, at: datetime) -> list[CaseEvent]:
    if state.sanction is not None:
        return []
    sanction = state.effective_sanction
    if sanction is None:
        raise NO_SANCTION.refuse("no sanction stands to be carried out")
    status = SANCTION_STATUS[sanction.kind]
    return [SanctionApplied(
        **meta(cmd, at), sanction=sanction, status=status,
        rights_removed=sorted(procedure(state).rights_removed(status)),
        ends_at=at + sanction.term if sanction.term is not None else None,
        current_until=current_until(state, at))]


def reinstate(state: CaseState, cmd: Reinstate, at: datetime) -> list[CaseEvent]:
    if state.reinstated is not None:
        return []
    allowed = reinstatement_due(state)
    reason = ReinstatementReason.APPEAL_ALLOWED if allowed else ReinstatementReason.SANCTION_ENDED
    return [MemberReinstated(**meta(cmd, at), reason=reason,
                             rights_restored=sorted(state.rights_removed),
                             record_corrected=allowed, apology=cmd.apology)]


def close_case(state: CaseState, cmd: CloseCase, at: datetime) -> list[CaseEvent]:
    return [CaseClosed(**meta(cmd, at))]


def record_instruction(state: CaseState, cmd: RecordInstruction,
                       at: datetime) -> list[CaseEvent]:
    """Any stage from the report on, closure included (decide() refuses before it): an
    outside body's contact, or a referral, often comes after the case closed.

    Whether the sender is assigned to the case is computed here, from the case as it
    stands, and written into the event, so the audit can surface outside influence.
    """
    event = InstructionRecorded(
        **meta(cmd, at), from_person_id=cmd.from_person_id, from_role=cmd.from_role,
        channel=cmd.channel, content=cmd.content, received_at=cmd.received_at,
        sender_assigned=cmd.from_person_id in state.assigned_ids, direction=cmd.direction,
        kind=cmd.kind, outside_body=cmd.outside_body, to_person_id=cmd.to_person_id,
        to_role=cmd.to_role, shared=cmd.shared, shared_evidence_ids=cmd.shared_evidence_ids)
    if any(_same_instruction(done, event) for done in state.instructions):
        return []  # a retried command: already on the record
    return [event]


def _same_instruction(done: InstructionRecorded, new: InstructionRecorded) -> bool:
    fields = ("from_person_id", "from_role", "channel", "content", "received_at", "direction",
              "kind", "outside_body", "to_person_id", "to_role", "shared", "shared_evidence_ids")
    return all(getattr(done, name) == getattr(new, name) for name in fields)


def correct_record(state: CaseState, cmd: CorrectRecord, at: datetime) -> list[CaseEvent]:
    """The correction, naming the event it corrects (the latest of its kind on the record)
    and the detector when it finds an automation error; the same correction sent again is
    already on the record."""
    if cmd.replaced_by is not None and cmd.corrects not in SANCTION_OUTCOMES:
        raise InvalidCommand("only a decision, an appeal decision or a sanction is replaced "
                             "by a sanction", rule="correction-replaced-by-sanction",
                             field="replaced_by")
    report = state.report
    detector = report.complainant.person_id if cmd.automation_error and report else None
    event = RecordCorrected(
        **meta(cmd, at), corrects=cmd.corrects, what_was_wrong=cmd.what_was_wrong,
        correction=cmd.correction, automation_error=cmd.automation_error,
        detector_id=detector, found_by=cmd.actor.id, apology=cmd.apology,
        corrects_version=state.on_record.get(cmd.corrects), replaced_by=cmd.replaced_by)
    fields = ("corrects", "what_was_wrong", "correction", "automation_error", "apology",
              "corrects_version", "replaced_by")
    if any(all(getattr(done, n) == getattr(event, n) for n in fields)
           for done in state.corrections):
        return []
    return [event]


# Timers: each is a no-op once met or obsolete (a renewal moved the date, the case moved on).


def escalate_missed_deadline(state: CaseState, cmd: EscalateMissedDeadline,
                             at: datetime) -> list[CaseEvent]:
    due = due_for(state, cmd.kind)
    if cmd.kind in state.missed or cmd.due_at != due:
        return []
    then = procedure(state).deadlines.escalation(cmd.kind)
    return [DeadlineMissed(**meta(cmd, at), kind=cmd.kind, due_at=cmd.due_at,
                           escalated_to=then.to, next_step=then.next_step)]


def lapse_interim_suspension(state: CaseState, cmd: LapseInterimSuspension,
                             at: datetime) -> list[CaseEvent]:
    if state.interim is None or state.interim.review_by != cmd.review_by:
        return []
    return [InterimSuspensionLapsed(**meta(cmd, at), review_by=cmd.review_by,
                                    rights_restored=sorted(state.interim.rights_removed))]


def close_appeal_window(state: CaseState, cmd: CloseAppealWindow,
                        at: datetime) -> list[CaseEvent]:
    if state.decision is None or state.appeal_window_closed \
            or state.decision.appeal_deadline != cmd.closes_at:
        return []
    return [AppealWindowClosed(**meta(cmd, at), closes_at=cmd.closes_at)]


def end_sanction(state: CaseState, cmd: EndSanction, at: datetime) -> list[CaseEvent]:
    if state.sanction is None or state.sanction_ended or state.sanction.ends_at != cmd.ends_at:
        return []
    rights = sorted(state.rights_removed)
    return [SanctionEnded(**meta(cmd, at), ends_at=cmd.ends_at),
            MemberReinstated(**meta(cmd, at), reason=ReinstatementReason.SANCTION_ENDED,
                             rights_restored=rights, record_corrected=False)]
