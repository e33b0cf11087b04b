"""Rules on the panel and the hearing: independence, declared interests, and a hearing by
the panel that decides (ACAS 5, 10-16 and 27; Porter v Magill; invariant 4).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import DueProcessViolation, InvalidCommand, NotPermitted
from ..case.events import (
    AppealPanelAppointed,
    DecisionRecorded,
    EvidenceAdded,
    HearingHeld,
    HearingScheduled,
    InvestigatorAssigned,
    PanelAppointed,
)
from ..case.state import CaseState
from .model import Breach, ProcessRule, Transition, acas, case_law, invariant, report


def conflicted(state: CaseState, *others: frozenset[str]) -> frozenset[str]:
    """Parties and witnesses, plus whoever holds the other roles."""
    found = state.party_ids | state.witness_ids
    for group in others:
        found |= group
    return found


def _independent(t: Transition) -> Iterator[Breach]:
    event, s = t.event, t.before
    if isinstance(event, InvestigatorAssigned):
        if event.investigator_id in conflicted(s, s.panel_ever, s.appeal_panel_ever):
            yield Breach("investigator_id", f"{event.investigator_id!r} is a party, witness or "
                                            "sits on a panel")
    elif isinstance(event, EvidenceAdded):
        staff = s.investigators_ever | s.panel_ever | s.appeal_panel_ever
        for index, item in enumerate(event.evidence):
            if item.witness_id is not None and item.witness_id in staff:
                yield Breach(f"evidence.{index}.witness_id", f"witness {item.witness_id!r} "
                                                             "already investigates or judges "
                                                             "this case")
    elif isinstance(event, PanelAppointed | AppealPanelAppointed):
        # ACAS 27: the appeal is heard by someone not previously involved.
        other = s.appeal_panel_ever if isinstance(event, PanelAppointed) else s.panel_ever
        taken = conflicted(s, s.investigators_ever, other)
        for index, member in enumerate(event.members):
            if member.member_id in taken:
                yield Breach(f"members.{index}.member_id",
                             f"{member.member_id!r} is a party, witness or already involved "
                             "in another role")


PANEL_INDEPENDENCE = ProcessRule(
    "panel-independence", "Parties, witnesses, investigator, panel and appeal panel are "
    "distinct people", acas("5", "27") + case_law("Porter v Magill") + invariant(4),
    DueProcessViolation,
    guards=("AssignInvestigator", "AddEvidence", "AppointPanel", "AppointAppealPanel"),
    events=(InvestigatorAssigned, EvidenceAdded, PanelAppointed, AppealPanelAppointed),
    predicate=_independent,
    passed="investigator, panel and appeal panel are distinct from each other and from the "
           "parties and witnesses")


def _declared(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, PanelAppointed | AppealPanelAppointed)
    for index, member in enumerate(t.event.members):
        if not member.declared:
            yield Breach(f"members.{index}.declared",
                         f"{member.member_id!r} must declare interests before sitting")


CONFLICT_DECLARATION = ProcessRule(
    "conflict-declaration", "Every panel member declared interests before sitting",
    case_law("Porter v Magill") + invariant(4), DueProcessViolation,
    guards=("AppointPanel", "AppointAppealPanel"), events=(PanelAppointed, AppealPanelAppointed),
    predicate=_declared, passed="every panel member declared interests on appointment")


def _panel_first(t: Transition) -> Iterator[Breach]:
    if not t.before.panel:
        yield Breach(None, "appoint the panel before scheduling")


PANEL_BEFORE_HEARING = ProcessRule(
    "panel-before-hearing", "The panel is appointed before the hearing is set", acas("5"),
    InvalidCommand, guards=("ScheduleHearing",), events=(HearingScheduled,),
    predicate=_panel_first, passed="the panel was appointed before the hearing was set")


def _not_yet_held(t: Transition) -> Iterator[Breach]:
    if t.before.hearing_held is not None:
        yield Breach(None, "the hearing has been held: the panel that heard the case decides it")


HEARING_ALREADY_HELD = ProcessRule(
    "hearing-already-held", "The panel and hearing stay fixed once the case is heard",
    case_law("audi alteram partem"), InvalidCommand, guards=("AppointPanel", "ScheduleHearing"),
    events=(PanelAppointed, HearingScheduled), predicate=_not_yet_held,
    passed="the panel and hearing were not changed after the hearing")


def _scheduled(t: Transition) -> Iterator[Breach]:
    if t.before.hearing is None:
        yield Breach(None, "no hearing has been scheduled")


HEARING_NOT_SCHEDULED = ProcessRule(
    "hearing-not-scheduled", "A hearing is held as scheduled", acas("11"), InvalidCommand,
    guards=("RecordHearingHeld",), events=(HearingHeld,), predicate=_scheduled,
    passed="every hearing held had been scheduled")


def _due(t: Transition) -> Iterator[Breach]:
    hearing = t.before.hearing
    if hearing is not None and t.event.effective_at < hearing.at:
        yield Breach("effective_at", "the hearing is not due yet")


HEARING_NOT_YET_DUE = ProcessRule(
    "hearing-not-yet-due", "A hearing is held no earlier than its scheduled time", acas("11"),
    InvalidCommand, guards=("RecordHearingHeld",), events=(HearingHeld,), predicate=_due,
    passed="no hearing was held before its scheduled time")


def _heard(t: Transition) -> Iterator[Breach]:
    event = t.event
    if isinstance(event, HearingHeld):
        if not t.before.panel_ids & set(event.attendees):
            yield Breach("attendees", "no panel member attended")
        return
    held, actor = t.before.hearing_held, event.actor
    if held is not None and (actor.id not in held.attendees
                             or actor.id not in t.before.panel_ids):
        yield Breach("actor.id", f"{actor.id!r} did not hear the case: only a panel member who "
                                 "heard it may decide it", NotPermitted)


PANEL_HEARD_THE_CASE = ProcessRule(
    "panel-heard-the-case", "The panel heard the case, and only a member who heard it decides",
    acas("13") + case_law("audi alteram partem"), InvalidCommand,
    guards=("RecordHearingHeld", "RecordDecision"), events=(HearingHeld, DecisionRecorded),
    predicate=_heard, passed="a panel member attended every hearing and decided only what "
                             "they heard")


def _hearing_first(t: Transition) -> Iterator[Breach]:
    if t.before.hearing_held is None:
        yield Breach(None, "the respondent has not had a hearing")


HEARING_BEFORE_DECISION = ProcessRule(
    "hearing-before-decision", "The respondent is heard before the decision",
    acas("10", "11", "12") + case_law("audi alteram partem") + report("Chakrabarti"),
    DueProcessViolation, guards=("RecordDecision",), events=(DecisionRecorded,),
    predicate=_hearing_first, passed="every decision followed a hearing")

STAGE = (HEARING_NOT_SCHEDULED, HEARING_ALREADY_HELD, PANEL_BEFORE_HEARING,
         HEARING_BEFORE_DECISION, PANEL_HEARD_THE_CASE, HEARING_NOT_YET_DUE)
CONTENT = (CONFLICT_DECLARATION, PANEL_INDEPENDENCE)
