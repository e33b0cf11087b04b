"""Statements of reasons for the EU DSA Transparency Database (Art 24(5)), from the record.

One statement per decision that restricts an account: a decision with a suspension or an
expulsion (a warning restricts nothing), an appeal that varies the sanction to one, and an
interim suspension imposed or renewed (a holding measure, not a sanction, but it removes
rights). The database's field names and enumerated values. No personal data ever:
``decision_facts`` names the rules and the measure, never the findings (which are
personal); ``source_identity`` is only ever an outside body's name; ``puid`` is a hash of
the case and event ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .case.corrections import appeal_as_corrected, decision_as_corrected, interim_corrected
from .case.decide.hearing import report_source_type
from .case.events import (
    CASE_EVENT_ADAPTER,
    AppealDecided,
    CaseEvent,
    DecisionRecorded,
    InterimSuspensionImposed,
    InterimSuspensionRenewed,
)
from .case.state import CaseState, evolve, fold
from .case.values import ComplainantKind, Sanction
from .envelope import RecordedEvent
from .policy import SanctionKind

# The values the Transparency Database accepts for the fields this export fills.
DECISION_ACCOUNT = {SanctionKind.SUSPENSION: "DECISION_ACCOUNT_SUSPENDED",
                    SanctionKind.EXPULSION: "DECISION_ACCOUNT_TERMINATED"}
SOURCE_TYPE = {"notice": "SOURCE_ARTICLE_16",
               "other_notification": "SOURCE_TYPE_OTHER_NOTIFICATION",
               "automated_detection": "SOURCE_VOLUNTARY"}  # the platform's own initiative
AUTOMATED_DECISION = {"fully": "AUTOMATED_DECISION_FULLY",
                      "partially": "AUTOMATED_DECISION_PARTIALLY",
                      "not_automated": "AUTOMATED_DECISION_NOT_AUTOMATED"}
# Breaches of an organisation's own rules: outside what its service allows.
DEFAULT_CATEGORY = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"
EEA = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
       "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE",
       "SI", "SK")
# The events that may restrict an account (the restrictive-decisions index reads these).
RESTRICTING_EVENTS = ("DecisionRecorded", "AppealDecided", "InterimSuspensionImposed",
                      "InterimSuspensionRenewed")
FIELDS = (
    "decision_visibility", "decision_monetary", "decision_provision", "decision_account",
    "account_type", "decision_ground", "decision_ground_reference_url",
    "incompatible_content_ground", "incompatible_content_explanation",
    "incompatible_content_illegal", "category", "content_type", "content_type_other",
    "decision_facts", "source_type", "source_identity", "automated_detection",
    "automated_decision", "content_date", "application_date",
    "end_date_visibility_restriction", "end_date_monetary_restriction",
    "end_date_service_restriction", "end_date_account_restriction", "territorial_scope",
    "puid",
)


@dataclass(frozen=True)
class _Restriction:
    """What one restrictive decision says, whatever event recorded it."""

    kind: SanctionKind
    allegation_ids: frozenset[str]  # the allegations it rests on (all, if none upheld)
    explanation: str
    facts: str
    automated_decision: str
    applies: datetime
    ends: datetime | None


def _day(at: datetime) -> str:
    return at.date().isoformat()


def puid(case_id: str, event_id: str) -> str:
    """Unique per decision, never reused, and not a person's identifier."""
    return "dueprocess-" + hashlib.sha256(f"{case_id}|{event_id}".encode()).hexdigest()[:40]


def _term(sanction: Sanction) -> str:
    return f" for {sanction.term.days} days" if sanction.term is not None else ""


def _restriction(state: CaseState, event: CaseEvent) -> _Restriction | None:
    decision = state.decision
    match event:
        case DecisionRecorded(sanction=Sanction() as sanction, statement_of_reasons=sor) \
                if sanction.kind in DECISION_ACCOUNT and sor is not None:
            upheld = frozenset(f.allegation_id for f in event.findings if f.upheld)
            return _Restriction(
                sanction.kind, upheld, "Breach of the organisation's published rules of "
                "conduct, found after a hearing.", f"{len(upheld)} allegation(s) upheld; "
                f"sanction: {sanction.kind.value}{_term(sanction)}.",
                sor.automated_decision.value, sor.application_date,
                # From the sanction exported, which a correction may have replaced.
                sor.application_date + sanction.term if sanction.term is not None else None)
        case AppealDecided(new_sanction=Sanction() as sanction) \
                if sanction.kind in DECISION_ACCOUNT and decision is not None:
            upheld = frozenset(f.allegation_id for f in decision.findings if f.upheld)
            return _Restriction(
                sanction.kind, upheld, "Breach of the organisation's published rules of "
                "conduct, found after a hearing; the sanction varied on appeal.",
                f"On appeal ({event.outcome.value}), {len(upheld)} allegation(s) upheld; "
                f"sanction: {sanction.kind.value}{_term(sanction)}.", "not_automated",
                event.effective_at,
                event.effective_at + sanction.term if sanction.term is not None else None)
        case InterimSuspensionImposed() | InterimSuspensionRenewed():
            verb = "imposed" if isinstance(event, InterimSuspensionImposed) else "renewed"
            return _Restriction(
                SanctionKind.SUSPENSION, frozenset(), "Interim suspension while an alleged "
                "breach of the organisation's published rules is dealt with: a holding "
                "measure, not a finding or a sanction.", f"Interim suspension {verb} pending "
                f"the case; reviewed by {_day(event.review_by)}.", "not_automated",
                event.effective_at, event.review_by)
    return None


def _grounds(state: CaseState, allegation_ids: frozenset[str]) -> tuple[str, str | None]:
    """The rules relied on, with their versions, and where the first such version is
    published (None when its rulebook gives no address)."""
    assert state.report is not None
    cited = [found for a in state.report.allegations
             if (a.allegation_id in allegation_ids or not allegation_ids)
             and (found := state.rule_for(a.allegation_id)) is not None]
    names = sorted({f"{state.report.policy_id} {version.version} {rule.rule_id} "
                    f"({rule.title})" for version, rule in cited})
    url = next((version.reference_url for version, _ in cited if version.reference_url), None)
    return "; ".join(names), url


def _statement(state: CaseState, event: CaseEvent, event_id: str,
               territory: Sequence[str]) -> dict[str, Any] | None:
    found = _restriction(state, event)
    if found is None or state.report is None:
        return None
    report = state.report
    ground, url = _grounds(state, found.allegation_ids)
    conduct: date = min(a.conduct_date for a in report.allegations
                        if a.allegation_id in found.allegation_ids or not found.allegation_ids)
    source = report_source_type(state)
    # An outside body is an organisation, named as such; anyone else is a person: never named.
    identity = (report.complainant.outside_body or None) \
        if report.complainant.kind is ComplainantKind.OUTSIDE_BODY else None
    return {
        "decision_visibility": None, "decision_monetary": None, "decision_provision": None,
        "decision_account": DECISION_ACCOUNT[found.kind],
        "account_type": "ACCOUNT_TYPE_PRIVATE",
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "decision_ground_reference_url": url,
        "incompatible_content_ground": ground,
        "incompatible_content_explanation": found.explanation,
        "incompatible_content_illegal": "No",
        "category": DEFAULT_CATEGORY,
        "content_type": ["CONTENT_TYPE_OTHER"], "content_type_other": "conduct as a member",
        "decision_facts": f"{found.facts} Rules: {ground}.",
        "source_type": SOURCE_TYPE[source], "source_identity": identity,
        "automated_detection": "Yes" if report.automated else "No",
        "automated_decision": AUTOMATED_DECISION[found.automated_decision],
        "content_date": conduct.isoformat(),
        "application_date": _day(found.applies),
        "end_date_visibility_restriction": None, "end_date_monetary_restriction": None,
        "end_date_service_restriction": None,
        "end_date_account_restriction": _day(found.ends) if found.ends else None,
        "territorial_scope": list(territory),
        "puid": puid(state.case_id, event_id),
    }


def statements_of_reasons(
    case_id: str, recorded: Sequence[RecordedEvent], *, territory: Sequence[str] = EEA,
    start: datetime | None = None, end: datetime | None = None,
) -> list[dict[str, Any]]:
    """The statements for a case's restrictive decisions taken in ``[start, end)``, as they
    stand after corrections: one corrected away is not exported, one replaced is exported
    with the sanction that replaced it (if that still restricts)."""
    ordered = sorted(recorded, key=lambda r: r.stream_version)
    events = [CASE_EVENT_ADAPTER.validate_python(record.payload) for record in ordered]
    final = fold(events, CaseState.empty(case_id))
    state, found = CaseState.empty(case_id), []
    imposed_at: int | None = None  # the latest interim suspension imposed
    for record, event in zip(ordered, events, strict=True):
        in_period = (start is None or event.effective_at >= start) \
            and (end is None or event.effective_at < end)
        if isinstance(event, InterimSuspensionImposed):
            imposed_at = record.stream_version
        standing = _as_corrected(final, event, record.stream_version, imposed_at) \
            if record.event_type in RESTRICTING_EVENTS else None
        if standing is not None and in_period:
            statement = _statement(state, standing, str(record.event_id), territory)
            if statement is not None:
                found.append(statement)
        state = evolve(state, event)
    return found


def _as_corrected(final: CaseState, event: CaseEvent, version: int,
                  imposed_at: int | None) -> CaseEvent | None:
    """The restrictive event as it stands after the case's corrections (domain/case/
    corrections.py): None when corrected away, else with what replaced its sanction.
    ``imposed_at``: the version of the interim suspension a renewal renews."""
    if isinstance(event, DecisionRecorded):
        return decision_as_corrected(final, event)
    if isinstance(event, AppealDecided):
        return appeal_as_corrected(final, event, version)
    if isinstance(event, InterimSuspensionImposed | InterimSuspensionRenewed) \
            and imposed_at is not None and interim_corrected(final, imposed_at):
        return None
    return event
