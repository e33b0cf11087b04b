"""Contacts about a case, either way, on the record: instructions and referrals received,
referrals and disclosures sent (invariant 5; EHRC 2020; DSA 17(3)(b), 22; Santa Clara
"state involvement"). One mechanism: ``RecordInstruction`` / ``InstructionRecorded``.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import InvalidCommand
from ..case.events import InstructionRecorded
from ..case.values import ContactDirection, ContactKind
from .model import Breach, ProcessRule, RuleKind, Transition, dsa, invariant, report


def _named(t: Transition) -> Iterator[Breach]:
    event = t.event
    assert isinstance(event, InstructionRecorded)
    sent = event.direction is ContactDirection.SENT
    if sent and not (event.outside_body or event.to_person_id or event.to_role):
        yield Breach("to_role", "a contact sent from the case names who it went to "
                                "(to_person_id, to_role or outside_body)")
    if not sent and (event.to_person_id or event.to_role):
        yield Breach("to_person_id", "a contact received has no recipient outside the case: "
                                     "use direction 'sent' for a referral or disclosure")
    if event.kind is ContactKind.REFERRAL and not (event.outside_body or "").strip():
        yield Breach("outside_body", "a referral names the outside body (police unit, "
                                     "regulator, party office)")


CONTACT_COUNTERPART_NAMED = ProcessRule(
    "contact-counterpart-named", "A contact names its counterpart: a referral its outside body, "
    "a contact sent its recipient", report("EHRC 2020") + dsa("17(3)(b)") + invariant(5),
    InvalidCommand, guards=("RecordInstruction",), events=(InstructionRecorded,),
    predicate=_named, passed="every contact named who it came from or went to")


def _shared(t: Transition) -> Iterator[Breach]:
    event = t.event
    assert isinstance(event, InstructionRecorded)
    for index, evidence_id in enumerate(event.shared_evidence_ids):
        if evidence_id not in t.before.evidence:
            yield Breach(f"shared_evidence_ids.{index}",
                         f"evidence {evidence_id!r} is not on the case file")


CONTACT_SHARED_ON_FILE = ProcessRule(
    "contact-shared-on-file", "What a contact shared from the case file is on the file",
    report("ACAS records guidance", "EHRC 2020") + invariant(5), InvalidCommand,
    guards=("RecordInstruction",), events=(InstructionRecorded,), predicate=_shared,
    concerns=lambda e: isinstance(e, InstructionRecorded) and bool(e.shared_evidence_ids),
    passed="every item shared was on the case file")

OUTSIDE_CONTACTS = ProcessRule(
    "outside-contacts-surfaced", "Every contact with the case, either way, is surfaced: body, "
    "direction, who, when and what was shared", report("EHRC 2020", "Santa Clara")
    + dsa("17(3)(b)", "22") + invariant(5), InvalidCommand, kind=RuleKind.HISTORY,
    guards=("RecordInstruction",))

CONTENT = (CONTACT_COUNTERPART_NAMED, CONTACT_SHARED_ON_FILE)
HISTORY = (OUTSIDE_CONTACTS,)
