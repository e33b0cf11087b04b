"""Statements of reasons for the EU DSA Transparency Database (Art 24(5)), from the record.

One statement per decision that restricts an account (a suspension or an expulsion; a
warning restricts nothing), with the database's field names and enumerated values. No
personal data ever: ``decision_facts`` names the rules upheld and the sanction, never the
findings (which are personal), and ``puid`` is a hash of the case and decision ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .case.corrections import decision_as_corrected
from .case.events import CASE_EVENT_ADAPTER, DecisionRecorded
from .case.state import CaseState, evolve, fold
from .envelope import RecordedEvent
from .policy import SanctionKind

# The values the Transparency Database accepts for the fields this export fills.
DECISION_ACCOUNT = {SanctionKind.SUSPENSION: "DECISION_ACCOUNT_SUSPENDED",
                    SanctionKind.EXPULSION: "DECISION_ACCOUNT_TERMINATED"}
SOURCE_TYPE = {"notice": "SOURCE_ARTICLE_16", "trusted_flagger": "SOURCE_TRUSTED_FLAGGER",
               "automated_detection": "SOURCE_VOLUNTARY"}  # the platform's own initiative
AUTOMATED_DECISION = {"fully": "AUTOMATED_DECISION_FULLY",
                      "partially": "AUTOMATED_DECISION_PARTIALLY",
                      "not_automated": "AUTOMATED_DECISION_NOT_AUTOMATED"}
# Breaches of an organisation's own rules: outside what its service allows.
DEFAULT_CATEGORY = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"
EEA = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
       "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE",
       "SI", "SK")
FIELDS = (
    "decision_visibility", "decision_monetary", "decision_provision", "decision_account",
    "account_type", "decision_ground", "incompatible_content_ground",
    "incompatible_content_explanation", "incompatible_content_illegal", "category",
    "content_type", "content_type_other", "decision_facts", "source_type",
    "automated_detection", "automated_decision", "content_date", "application_date",
    "end_date_visibility_restriction", "end_date_monetary_restriction",
    "end_date_service_restriction", "end_date_account_restriction", "territorial_scope",
    "puid",
)


def _day(at: datetime) -> str:
    return at.date().isoformat()


def puid(case_id: str, event_id: str) -> str:
    """Unique per decision, never reused, and not a person's identifier."""
    return "dueprocess-" + hashlib.sha256(f"{case_id}|{event_id}".encode()).hexdigest()[:40]


def _statement(state: CaseState, decision: DecisionRecorded, event_id: str,
               territory: Sequence[str]) -> dict[str, Any] | None:
    sor, sanction = decision.statement_of_reasons, decision.sanction
    if sor is None or sanction is None or sanction.kind not in DECISION_ACCOUNT \
            or state.report is None:
        return None
    upheld = {f.allegation_id for f in decision.findings if f.upheld}
    conduct = min(a.conduct_date for a in state.report.allegations
                  if a.allegation_id in upheld or not upheld)
    term = f" for {sanction.term.days} days" if sanction.term is not None else ""
    end = _day(sor.end_date) if sor.end_date is not None else None
    return {
        "decision_visibility": None, "decision_monetary": None, "decision_provision": None,
        "decision_account": DECISION_ACCOUNT[sanction.kind],
        "account_type": "ACCOUNT_TYPE_PRIVATE",
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": sor.incompatible_content_ground,
        "incompatible_content_explanation": "Breach of the organisation's published rules "
                                            "of conduct, found after a hearing.",
        "incompatible_content_illegal": "No",
        "category": DEFAULT_CATEGORY,
        "content_type": ["CONTENT_TYPE_OTHER"], "content_type_other": "conduct as a member",
        "decision_facts": f"{len(upheld)} allegation(s) upheld under "
                          f"{sor.incompatible_content_ground}; sanction: "
                          f"{sanction.kind.value}{term}.",
        "source_type": SOURCE_TYPE[sor.source_type],
        "automated_detection": "Yes" if sor.automated_detection else "No",
        "automated_decision": AUTOMATED_DECISION[sor.automated_decision.value],
        "content_date": conduct.isoformat(),
        "application_date": _day(sor.application_date),
        "end_date_visibility_restriction": None, "end_date_monetary_restriction": None,
        "end_date_service_restriction": None, "end_date_account_restriction": end,
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
    for record, event in zip(ordered, events, strict=True):
        in_period = (start is None or event.effective_at >= start) \
            and (end is None or event.effective_at < end)
        standing = decision_as_corrected(final, event) \
            if isinstance(event, DecisionRecorded) else None
        if standing is not None and in_period:
            statement = _statement(state, standing, str(record.event_id), territory)
            if statement is not None:
                found.append(statement)
        state = evolve(state, event)
    return found
