"""The audit timeline: one row per stored event, saying who did what, when, and flags."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..case.events import (
    CORRECTED_EVENT_TYPE,
    CaseEventBase,
    DecisionRecorded,
    InstructionRecorded,
    RecordCorrected,
    ReportFiled,
    SanctionApplied,
)
from ..case.values import ContactDirection
from ..envelope import RecordedEvent
from .context import Entry, History
from .model import TimelineEntry
from .results import iso, rights_text, sanction_text
from .roles import instruction_text, outside_case, sender_outside


def _ids(values: Sequence[str]) -> str:
    return ", ".join(values) or "none"


def _next(step: str | None) -> str:
    return f"; next step: {step}" if step else ""  # v1 misses named none


def _warned_summary(e: Any) -> str:
    counted = _ids([d.case_id for d in e.counted])
    return (f"reporter {e.reporter_id} warned: {len(e.counted)} manifestly unfounded "
            f"dismissal(s) counted ({counted}); reports held until {iso(e.hold_until)}")


def _report_summary(e: ReportFiled) -> str:
    charges = ", ".join(f"{a.allegation_id}: {a.rule_id}@{e.rule_versions.get(a.allegation_id)}"
                        for a in e.allegations)
    source = "automated detector" if e.automated else e.complainant.kind.value
    return (f"report by {source} {e.complainant.person_id} against {e.respondent.person_id}: "
            f"{charges}; {len(e.evidence)} evidence item(s); procedure {e.policy_id} "
            f"{e.procedure_version}")


def _contact_summary(e: InstructionRecorded) -> str:
    sender = "assigned to" if e.sender_assigned else "outside"
    body = f" ({e.outside_body})" if e.outside_body else ""
    if e.direction is ContactDirection.SENT:
        return (f"{e.kind.value} sent by {e.from_role} {e.from_person_id} to "
                f"{e.to_role or ''} {e.to_person_id or ''}".rstrip() + f"{body} by {e.channel}, "
                f"{iso(e.received_at)}; shared {e.shared or 'nothing described'}"
                + (f", evidence {_ids(e.shared_evidence_ids)}" if e.shared_evidence_ids else ""))
    return (f"{e.kind.value} on the record from {e.from_role} {e.from_person_id}{body} by "
            f"{e.channel}, received {iso(e.received_at)}; sender {sender} the case")


def _decision_summary(e: DecisionRecorded) -> str:
    upheld = [f.allegation_id for f in e.findings if f.upheld]
    rejected = [f.allegation_id for f in e.findings if not f.upheld]
    return (f"decision: upheld {_ids(upheld)}, not upheld {_ids(rejected)}; sanction "
            f"{sanction_text(e.sanction)}; automated detection "
            f"{'yes' if e.automated_detection else 'no'}, decision {e.automated_decision.value};"
            f" appeal by {iso(e.appeal_deadline)}")


_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "ReportFiled": _report_summary,
    "ReportAcknowledged": lambda e: "receipt acknowledged to the complainant",
    "CaseTriaged": lambda e: f"triaged for investigation by {e.reviewed_by}",
    "CaseDismissed": lambda e: f"dismissed ({e.dismissal_reason.value}) by {e.reviewed_by}",
    "InvestigatorAssigned": lambda e: f"investigator {e.investigator_id} assigned"
                                      + (f", replacing {e.replaces}" if e.replaces else ""),
    "EvidenceAdded": lambda e: f"evidence added: {_ids([i.evidence_id for i in e.evidence])}",
    "InterimSuspensionImposed": lambda e: f"interim suspension removing "
                                          f"{rights_text(e.rights_removed)}; review by "
                                          f"{iso(e.review_by)}",
    "InterimSuspensionRenewed": lambda e: f"interim suspension renewed; review by "
                                          f"{iso(e.review_by)}",
    "InterimSuspensionLifted": lambda e: f"interim suspension lifted; restored "
                                         f"{rights_text(e.rights_restored)}",
    "InterimSuspensionLapsed": lambda e: f"interim suspension lapsed at review date "
                                         f"{iso(e.review_by)}",
    "NoticeIssued": lambda e: "notice of "
                              + ", ".join(f"{a.allegation_id} ({a.rule_id}@{a.policy_version})"
                                          for a in e.allegations)
                              + f"; response due {iso(e.response_due)}",
    "EvidenceDisclosed": lambda e: f"disclosed {_ids(e.evidence_ids)}; withheld "
                                   f"{_ids([w.evidence_id for w in e.withheld])}; "
                                   f"{len(e.redactions)} redaction(s)",
    "ResponseSubmitted": lambda e: "response submitted" + (" late" if e.late else ""),
    "DeadlineMissed": lambda e: f"{e.kind} deadline of {iso(e.due_at)} missed; escalated to "
                                f"{e.escalated_to}" + _next(e.next_step),
    "PanelAppointed": lambda e: f"panel appointed: {_ids([m.member_id for m in e.members])}",
    "HearingScheduled": lambda e: f"hearing scheduled for {iso(e.at)}",
    "HearingHeld": lambda e: f"hearing held, attended by {_ids(e.attendees)}; respondent "
                             + ("attended" if e.respondent_attended else "absent"),
    "DecisionRecorded": _decision_summary,
    "AppealLodged": lambda e: "appeal lodged by the respondent",
    "AppealWindowClosed": lambda e: f"appeal window closed ({iso(e.closes_at)})",
    "AppealPanelAppointed": lambda e: "appeal panel appointed: "
                                      + _ids([m.member_id for m in e.members]),
    "AppealDecided": lambda e: f"appeal {e.outcome.value}"
                               + (f"; new sanction {sanction_text(e.new_sanction)}"
                                  if e.new_sanction else ""),
    "SanctionApplied": lambda e: f"{sanction_text(e.sanction)} carried out: status {e.status}, "
                                 f"removing {rights_text(e.rights_removed)}"
                                 + (f" until {iso(e.ends_at)}" if e.ends_at else "")
                                 + (f"; current until {iso(e.current_until)}"
                                    if e.current_until else ""),
    "SanctionEnded": lambda e: f"sanction ended at {iso(e.ends_at)}",
    "MemberReinstated": lambda e: f"reinstated ({e.reason.value}): restored "
                                  f"{rights_text(e.rights_restored)}; record corrected "
                                  + ("yes" if e.record_corrected else "no"),
    "CaseClosed": lambda e: "case closed",
    "InstructionRecorded": lambda e: _contact_summary(e),
    "DataCollectionNoticeGiven": lambda e: f"data-collection notice (GDPR Art 14) to "
                                           f"{e.subject_id} for {_ids(e.evidence_ids)} by "
                                           f"{e.channel}",
    "DataCollectionNoticeExempted": lambda e: f"no data-collection notice to {e.subject_id} "
                                              f"for {_ids(e.evidence_ids)}: "
                                              f"{e.exemption.value} ({e.legal_basis})",
    "DataCollectionNoticeMissed": lambda e: f"data-collection notice to {e.subject_id} for "
                                            f"{_ids(e.evidence_ids)} due {iso(e.due_at)} "
                                            f"missed; escalated to {e.escalated_to}"
                                            + _next(e.next_step),
    "RecordCorrected": lambda e: f"{e.corrects.value} corrected by {e.found_by}"
                                 + (f" (automation error of detector {e.detector_id})"
                                    if e.automation_error else "")
                                 + f": was {e.what_was_wrong!r}; now {e.correction!r}"
                                 + (f"; replaced by {sanction_text(e.replaced_by)}"
                                    if e.replaced_by else "")
                                 + ("; apology sent" if e.apology else ""),
    # DSA Art 23: repeat reporters.
    "ReporterWarned": lambda e: _warned_summary(e),
    "ReportHeld": lambda e: f"report held until {iso(e.held_until)} under the warning of "
                            f"{iso(e.warning.warned_at)} (case {e.warning.case_id}): {e.reasons}",
    "HoldContested": lambda e: "the reporter contested the hold",
    "HoldContestDecided": lambda e: f"hold contest decided by {e.decided_by}: "
                                    + ("lifted" if e.lifted else "upheld") + f"; {e.reasons}",
    "HoldReleased": lambda e: "hold lifted on contest" if e.lifted
                              else f"hold ended at {iso(e.held_until)}",
}


def _timeline_entry(record: RecordedEvent, summary: str, flags: list[str]) -> TimelineEntry:
    return TimelineEntry(
        stream_version=record.stream_version, event_id=record.event_id,
        event_type=record.event_type, actor_id=record.actor.id, actor_role=record.actor.role,
        actor_kind=record.actor.kind, authority=record.authority,
        effective_at=record.effective_at, recorded_at=record.recorded_at, summary=summary,
        flags=flags + _imported(record), imported=record.imported)


def _imported(record: RecordedEvent) -> list[str]:
    """Imported history is judged by the same checks; the timeline says where it came
    from, who imported it and when the source says the organisation knew it."""
    imported = record.imported
    if imported is None:
        return []
    who = f"{imported.importer.role}:{imported.importer.id}"
    flags = [f"imported from {imported.source} by {who} (import {imported.import_id}, "
             f"{imported.record}); known {iso(record.known_at)} as asserted by the source, "
             f"recorded {iso(record.recorded_at)}"]
    if imported.historical_deadline:
        flags.append("historical deadline: fell due before the import and was acted on at "
                     "its due time by the importer, not fired on import")
    return flags


def _flags(entry: Entry[CaseEventBase]) -> list[str]:
    outside = outside_case(entry)
    flags = [f"outside the case: {outside}"] if outside else []
    event = entry.event
    if isinstance(event, InstructionRecorded) \
            and sender_outside(Entry(entry.record, event, entry.before)):
        flags.append(f"instruction from outside the case: {instruction_text(event)}")
    return flags


def _expired(entry: Entry[CaseEventBase], clock: datetime | None) -> list[str]:
    event = entry.event
    until = event.current_until if isinstance(event, SanctionApplied) else None
    if until is not None and clock is not None and clock >= until:
        return [f"expired: no longer current since {iso(until)} (ACAS 19-20)"]
    return []


def _correction_links(h: History) -> dict[int, list[str]]:
    """Flags linking each corrected event and its correction, both ways, by version: the
    event the correction names (v2), else the latest of its kind before it (v1)."""
    links: dict[int, list[str]] = {}
    by_version = {e.version: e for e in h.entries}
    for entry in h.entries:
        event = entry.event
        if not isinstance(event, RecordCorrected):
            continue
        kind = CORRECTED_EVENT_TYPE[event.corrects]
        if event.corrects_version is not None:
            named = by_version.get(event.corrects_version)
            target = named if named is not None and named.record.event_type == kind \
                and named.version < entry.version else None
            if target is None:
                links.setdefault(entry.version, []).append(
                    f"names v{event.corrects_version}, which is no {kind} before it")
        else:
            target = max((e for e in h.entries if e.record.event_type == kind
                          and e.version < entry.version), key=lambda e: e.version, default=None)
        if target is not None:
            links.setdefault(target.version, []).append(f"corrected by {entry.label}")
            links.setdefault(entry.version, []).append(f"corrects {target.label}")
    return links


def build_timeline(h: History) -> list[TimelineEntry]:
    rows = [_timeline_entry(record, "unreadable event", [why]) for record, why in h.unreadable]
    links = _correction_links(h)
    for entry in h.entries:
        summary = _SUMMARIES[entry.record.event_type]  # every readable type has one
        flags = _flags(entry) + links.get(entry.version, []) + _expired(entry, h.clock)
        rows.append(_timeline_entry(entry.record, summary(entry.event), flags))
    return sorted(rows, key=lambda row: row.stream_version)
