"""decide(): the one entry point that turns a case command into events or a rejection."""

from __future__ import annotations

from datetime import datetime

from ...rules.catalogue import judge_batch
from ...rules.records import CASE_CLOSED, CASE_NOT_REPORTED, case_closed, case_not_reported
from ..commands import (
    TIMER_COMMANDS,
    AcknowledgeReport,
    AddEvidence,
    AppointAppealPanel,
    AppointPanel,
    AssignInvestigator,
    CarryOutSanction,
    CaseCommand,
    CloseAppealWindow,
    CloseCase,
    ContestHold,
    CorrectRecord,
    DecideAppeal,
    DecideHoldContest,
    DiscloseEvidence,
    EndSanction,
    EscalateMissedCollectionNotice,
    EscalateMissedDeadline,
    FileReport,
    GiveDataCollectionNotice,
    HoldReport,
    ImposeInterimSuspension,
    IssueNotice,
    LapseInterimSuspension,
    LiftInterimSuspension,
    LodgeAppeal,
    RecordDecision,
    RecordHearingHeld,
    RecordInstruction,
    RecordNoticeExemption,
    Reinstate,
    ReleaseHold,
    RenewInterimSuspension,
    ScheduleHearing,
    SubmitResponse,
    TriageCase,
    WarnReporter,
)
from ..events import CaseEvent
from ..roles import check_permission
from ..state import CaseState
from .hearing import (
    appoint_panel,
    disclose_evidence,
    issue_notice,
    record_decision,
    record_hearing_held,
    schedule_hearing,
    submit_response,
)
from .intake import (
    acknowledge_report,
    add_evidence,
    assign_investigator,
    file_report,
    impose_interim_suspension,
    lift_interim_suspension,
    renew_interim_suspension,
    triage_case,
)
from .outcome import (
    appoint_appeal_panel,
    carry_out_sanction,
    close_appeal_window,
    close_case,
    correct_record,
    decide_appeal,
    end_sanction,
    escalate_missed_deadline,
    lapse_interim_suspension,
    lodge_appeal,
    record_instruction,
    reinstate,
)
from .privacy import (
    escalate_missed_collection_notice,
    give_data_collection_notice,
    record_notice_exemption,
)
from .reporting import (
    contest_hold,
    decide_hold_contest,
    hold_report,
    release_hold,
    warn_reporter,
)


def decide(state: CaseState, command: CaseCommand, now: datetime) -> list[CaseEvent]:
    """Events the command causes, ``[]`` if it already took effect, or a DomainError.

    ``now`` is the caller's clock (workflow time); events take effect at the command's
    ``effective_at`` when it records something that happened earlier. The candidate
    events are judged by the due-process rules (domain/rules), each against the case as
    it stands before it, the same judgement the audit makes of the recorded history.
    """
    events = propose(state, command, now)
    judge_batch(state, events, now)
    return events


def propose(state: CaseState, command: CaseCommand, now: datetime, *,
            check_actor: bool = True) -> list[CaseEvent]:
    """The events the command would cause, judged only by the command checks.

    decide() then asks the rules about them. Tests use this to write what a buggy
    importer or a forger would write: the events decide() would refuse. The importer
    passes ``check_actor=False`` to record a past step taken by someone the procedure did
    not allow as it happened (the audit's who-acted check judges the recorded actor).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if case_closed(state):
        if isinstance(command, (CloseCase, *TIMER_COMMANDS)):
            return []  # a retried close, or a timer that raced the closure
        if isinstance(command, (CorrectRecord, RecordInstruction)):
            if check_actor:
                check_permission(state, command)
            return _dispatch(state, command, command.effective_at or now)
        raise CASE_CLOSED.refuse(f"the case is closed: only a correction (CorrectRecord) or a "
                                 f"contact (RecordInstruction) is recorded on it, not "
                                 f"{command.type}", field="type")
    if case_not_reported(state, None) and not isinstance(command, FileReport):
        raise CASE_NOT_REPORTED.refuse("the case has no report yet")
    if check_actor:
        check_permission(state, command)
    return _dispatch(state, command, command.effective_at or now)


def _dispatch(state: CaseState, command: CaseCommand, at: datetime) -> list[CaseEvent]:
    match command:
        case FileReport():
            return file_report(state, command, at)
        case AcknowledgeReport():
            return acknowledge_report(state, command, at)
        case TriageCase():
            return triage_case(state, command, at)
        case AssignInvestigator():
            return assign_investigator(state, command, at)
        case AddEvidence():
            return add_evidence(state, command, at)
        case ImposeInterimSuspension():
            return impose_interim_suspension(state, command, at)
        case RenewInterimSuspension():
            return renew_interim_suspension(state, command, at)
        case LiftInterimSuspension():
            return lift_interim_suspension(state, command, at)
        case IssueNotice():
            return issue_notice(state, command, at)
        case DiscloseEvidence():
            return disclose_evidence(state, command, at)
        case SubmitResponse():
            return submit_response(state, command, at)
        case AppointPanel():
            return appoint_panel(state, command, at)
        case ScheduleHearing():
            return schedule_hearing(state, command, at)
        case RecordHearingHeld():
            return record_hearing_held(state, command, at)
        case RecordDecision():
            return record_decision(state, command, at)
        case LodgeAppeal():
            return lodge_appeal(state, command, at)
        case AppointAppealPanel():
            return appoint_appeal_panel(state, command, at)
        case DecideAppeal():
            return decide_appeal(state, command, at)
        case CarryOutSanction():
            return carry_out_sanction(state, command, at)
        case Reinstate():
            return reinstate(state, command, at)
        case CloseCase():
            return close_case(state, command, at)
        case RecordInstruction():
            return record_instruction(state, command, at)
        case CorrectRecord():
            return correct_record(state, command, at)
        case EscalateMissedDeadline():
            return escalate_missed_deadline(state, command, at)
        case LapseInterimSuspension():
            return lapse_interim_suspension(state, command, at)
        case CloseAppealWindow():
            return close_appeal_window(state, command, at)
        case EndSanction():
            return end_sanction(state, command, at)
        case GiveDataCollectionNotice():
            return give_data_collection_notice(state, command, at)
        case RecordNoticeExemption():
            return record_notice_exemption(state, command, at)
        case EscalateMissedCollectionNotice():
            return escalate_missed_collection_notice(state, command, at)
        case WarnReporter():
            return warn_reporter(state, command, at)
        case HoldReport():
            return hold_report(state, command, at)
        case ContestHold():
            return contest_hold(state, command, at)
        case DecideHoldContest():
            return decide_hold_contest(state, command, at)
        case ReleaseHold():
            return release_hold(state, command, at)
