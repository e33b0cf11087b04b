"""What happens when a deadline is missed (issue 15; ACAS Code para 4, EHRC 2020): who is
told and what the next step is, per kind of deadline, as the rulebook sets it (the
``when_missed`` of its deadlines) or else these defaults. And the sources a rulebook cites
for its periods, kept as data so they reach `dueprocess rules` and the API.

Split out of policy_parts.py; policy.py re-exports every name here.
"""

from __future__ import annotations

from typing import Literal, get_args

from .base import Model
from .policy_terms import LongText

# Deadlines whose breach is escalated on the record (DeadlineMissed); widening this is a
# compatible change of the event: every earlier value still reads.
EscalatedKind = Literal["acknowledge", "respond", "schedule_hearing", "triage", "investigation",
                        "decide_after_hearing", "decide_appeal"]
# Every deadline whose miss is escalated: the stages' and the GDPR Art 14 notice's
# (DataCollectionNoticeMissed).
MissedKind = EscalatedKind | Literal["data_collection_notice"]
MISSED_KINDS: tuple[MissedKind, ...] = (*get_args(EscalatedKind), "data_collection_notice")

# Who a miss is escalated to: the staff role answerable for the step, told by a notice.
EscalationRole = Literal["case_officer", "investigator", "panel_member", "appeal_panel_member",
                         "data_protection_officer"]


class WhenMissed(Model):
    """A missed deadline's escalation: the role told (``to``) and what happens next
    (``next_step``, in words the person told can act on)."""

    to: EscalationRole
    next_step: LongText


def _officer(step: str) -> WhenMissed:
    return WhenMissed(to="case_officer", next_step=step)


# Used for every kind a rulebook does not set, so versions pinned before ``when_missed``
# escalate as they did (to the case officer; Art 14 to the data protection officer).
DEFAULT_WHEN_MISSED: dict[MissedKind, WhenMissed] = {
    "acknowledge": _officer(
        "Acknowledge the report now and tell the complainant when it will be triaged."),
    "respond": _officer(
        "Proceed on the evidence without a response, or agree a later date with the "
        "respondent and record why."),
    "schedule_hearing": _officer(
        "Appoint the panel and schedule the hearing now, or record why it cannot be held."),
    "triage": _officer(
        "Triage the report now: investigate, resolve informally or dismiss it with reasons."),
    "investigation": _officer(
        "Review the investigation with the investigator: issue notice, record why more time "
        "is needed, or assign another investigator."),
    "decide_after_hearing": _officer(
        "Ask the panel for its decision now; if it cannot decide, reconvene it and record why."),
    "decide_appeal": _officer(
        "Ask the appeal panel for its decision now; if it cannot decide, appoint another "
        "uninvolved panel and record why."),
    "data_collection_notice": WhenMissed(
        to="data_protection_officer",
        next_step="Give the person their Art 14 notice now, or record an exemption with its "
                  "legal basis."),
}
