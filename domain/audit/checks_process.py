"""Checks across the whole process: deadlines, instructions on the record, and the
complainant kept informed.
"""

from __future__ import annotations

from typing import Any

from ..case.events import (
    AppealDecided,
    CaseDismissed,
    DecisionRecorded,
    InstructionRecorded,
    ReportAcknowledged,
    ReportFiled,
)
from ..case.roles import COMPLAINANT
from ..case.values import ComplainantKind
from .context import Entry, History
from .deadlines import all_deadlines, deadline_faults
from .model import CheckResult
from .results import Faults, event_ref, iso, not_applicable
from .roles import instruction_text, outside_case, sender_outside


def deadlines_met(h: History) -> CheckResult:
    # ACAS 4, Chakrabarti: published timescales, and escalation on the record when missed.
    check_id = "deadlines-met-or-escalated"
    if h.first(ReportFiled) is None or h.procedure is None:
        return not_applicable(check_id, "no report with a pinned procedure, so no deadlines")
    deadlines = all_deadlines(h)
    faults = deadline_faults(deadlines, h.clock)
    as_of = f" as of {iso(h.clock)}" if h.clock else ""
    return faults.result(check_id, f"{len(deadlines)} deadline(s){as_of}: each met, escalated "
                                   "on the record, or not yet due")


def instructions_on_record(h: History) -> CheckResult:
    """Acts only by those assigned to the case; instructions from anyone else surfaced.

    EHRC 2020: interference came from people outside the case. An act on the case by
    someone outside it fails, naming the act. An instruction from someone outside it
    (invariant 5) does not fail when it is on the record as ``InstructionRecorded``:
    recording it is what the rule asks, and the audit's part is to surface it. So such
    instructions leave the status alone, are named in the explanation and listed in
    ``noted`` (surfaced), never in ``offending`` (at fault, present exactly on failure).
    An instruction recorded as from an assigned sender when the case shows otherwise
    fails: that record would hide outside influence.
    """
    check_id = "instructions-on-record"
    if not h.entries:
        return not_applicable(check_id, "the case has no readable events")
    faults = Faults()
    for entry in h.entries:
        problem = outside_case(entry)
        if problem:
            faults.add(f"{entry.label}: {problem}", entry)
    outside = [i for i in h.of(InstructionRecorded) if sender_outside(i)]
    for instruction in outside:
        if instruction.event.sender_assigned:
            faults.add(f"{instruction.label} records {instruction.event.from_person_id!r} as "
                       "assigned to the case, but they had no part in it", instruction)
    checked = faults.result(check_id, "every act was by the party, detector, system or staff "
                                      "member assigned to it in that role")
    return _surfaced(checked, outside)


def _surfaced(checked: CheckResult, outside: list[Entry[InstructionRecorded]]) -> CheckResult:
    if not outside:
        return checked
    named = "; ".join(f"{i.label} from {instruction_text(i.event)}" for i in outside)
    return checked.model_copy(update={
        "explanation": f"{checked.explanation}; on the record and surfaced, "
                       f"{len(outside)} instruction(s) from outside the case: {named}",
        "noted": [event_ref(i.record) for i in outside]})


# -- complainant -----------------------------------------------------------------------------

_OUTCOMES = (CaseDismissed, DecisionRecorded, AppealDecided)


def complainant_informed(h: History) -> CheckResult:
    # DSA 16(4)-(5), invariant 11: acknowledge receipt, and say what was done.
    check_id = "complainant-informed"
    report = h.first(ReportFiled)
    if report is None:
        return not_applicable(check_id, "no report has been filed")
    if report.event.complainant.kind is ComplainantKind.AUTOMATED_DETECTOR:
        return not_applicable(check_id, "the report came from an automated detector: there is "
                                        "no complainant to inform")
    faults = Faults()
    acknowledged = h.first(ReportAcknowledged)
    procedure = report.before.procedure or h.procedure
    ack_due = report.at + procedure.deadlines.acknowledge if procedure else None
    if acknowledged is None and ack_due is not None and h.clock is not None and h.clock > ack_due:
        faults.add(f"the report was never acknowledged (due {iso(ack_due)})", report)
    outcomes = sorted((e for kind in _OUTCOMES for e in h.of(kind)), key=lambda e: e.version)
    ack = "the report was acknowledged" if acknowledged else "acknowledgement is not yet due"
    if h.notifications is None:
        return faults.result(check_id, f"{ack}; the notification stream was not supplied, so "
                                       "delivery to the complainant was not verified")
    _check_delivery(h, report, acknowledged, outcomes, faults)
    return faults.result(check_id, f"{ack}, and the complainant was sent the acknowledgement "
                                   f"(if any) and {len(outcomes)} outcome(s)")


def _complainant_causes(h: History, person_id: str) -> set[str]:
    """Ids of the case events that caused a notification to the complainant."""
    causes = set()
    for note in h.notifications or ():
        payload = note.payload
        to_complainant = payload.get("recipient_role") == COMPLAINANT \
            or payload.get("recipient_subject_id") == person_id
        if note.event_type == "NotificationDispatched" and to_complainant:
            causes.add(str(payload.get("caused_by")))
    return causes


def _check_delivery(h: History, report: Entry[ReportFiled],
                    acknowledged: Entry[ReportAcknowledged] | None,
                    outcomes: list[Entry[Any]], faults: Faults) -> None:
    causes = _complainant_causes(h, report.event.complainant.person_id)
    sources = [report] + ([acknowledged] if acknowledged else [])
    if acknowledged is not None and not any(str(s.record.event_id) in causes for s in sources):
        faults.add(f"no acknowledgement was sent to the complainant for {acknowledged.label}",
                   acknowledged)
    for outcome in outcomes:
        # The message may come with the outcome itself or with a later step (e.g. closure).
        told = any(str(e.record.event_id) in causes for e in h.entries
                   if e.version >= outcome.version)
        if not told:
            faults.add(f"the complainant was not told the outcome of {outcome.label}", outcome)
