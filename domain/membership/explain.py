"""Why a member's standing is what it is: one sentence per event behind the answer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ..case.events import (
    AppealDecided,
    CaseEvent,
    DecisionRecorded,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    MemberReinstated,
    SanctionEnded,
)
from ..case.values import AppealOutcome, Sanction
from ..policy import Right
from ..policy_terms import duration_text
from .history import Cited, MeasureView, Reason
from .member import (
    MemberEvent,
    MemberJoined,
    MemberRejoined,
    MemberResigned,
    MembershipLapsed,
    MembershipRenewed,
)
from .statuses import ALL_RIGHTS, EXPELLED, WARNED


def measure_reasons(m: MeasureView, as_of: datetime,
                    readmissions: Sequence[datetime]) -> list[Reason]:
    """The events behind one measure as seen at ``as_of``, each explained."""
    fact = m.fact
    found = [m.source.reason(_describe(m) + _fate(m, as_of, readmissions))]
    decision = m.cite(fact.decision)
    if decision is not None:
        found.append(decision.reason(_decision_text(m, decision)))
    renewals = (m.cite(seq) for seq in fact.renewals)
    found += [k.reason(_renewal_text(k)) for k in renewals if k is not None and k.at <= as_of]
    ended_by = m.cite(fact.ended_by)
    if ended_by is not None and ended_by.at <= as_of:
        found.append(ended_by.reason(_ending_text(ended_by, fact.interim)))
    appeal = m.cite(fact.appeal)
    if appeal is not None:
        found.append(appeal.reason(_appeal_text(appeal)))
    corrected = m.cite(fact.corrected_by)
    if corrected is not None and corrected.at <= as_of:
        found.append(corrected.reason(_correction_text(m, corrected)))
    return found


def _correction_text(m: MeasureView, corrected: Cited[CaseEvent]) -> str:
    if m.voided:
        return f"correction of {_day(corrected.at)}: the record was wrong; annulled"
    assert m.fact.sanction is not None
    return (f"correction of {_day(corrected.at)}: the record was wrong; replaced by "
            f"{_sanction_text(m.fact.sanction)} from the original date")


def _describe(m: MeasureView) -> str:
    if m.fact.interim:
        return (f"interim suspension imposed on {_day(m.start)} (a holding measure, not "
                f"a sanction; it does not break continuity); {_rights_text(m.rights)}")
    what = _sanction_phrase(m.fact.sanction, m.status)
    decision = m.cite(m.fact.decision)
    basis = ("by the case's decision" if decision is None
             else f"by decision of {_day(decision.at)}{_rules(m)}")
    return f"{what} {basis}; {_rights_text(m.rights)}"


def _fate(m: MeasureView, as_of: datetime, readmissions: Sequence[datetime]) -> str:
    appeal = m.cite(m.fact.appeal)
    corrected = m.cite(m.fact.corrected_by)
    if m.voided and corrected is not None:
        return (f" — annulled by the correction of {_day(corrected.at)}: it does not stand, "
                "so rights and continuity stand as of the original dates")
    if m.voided:
        assert appeal is not None
        return (f" — voided by {_appeal_name(appeal)} on {_day(appeal.at)}: it "
                "never took effect, so rights and continuity stand as of the original dates")
    varied = ""
    if corrected is not None and m.fact.varied_from is not None:
        varied = (f"; replaced on correction on {_day(corrected.at)} from "
                  f"{_sanction_text(m.fact.varied_from)}, from the original date")
    elif m.fact.varied_from is not None and appeal is not None:
        varied = (f"; varied on appeal on {_day(appeal.at)} from "
                  f"{_sanction_text(m.fact.varied_from)}, from the original date")
    end = m.end_by(readmissions)
    if m.expired(as_of) and m.fact.current_until is not None:
        varied += (f"; no longer current since {_day(m.fact.current_until)} (the period its "
                   "rule sets): it no longer counts")
        if m.status == WARNED:
            return varied
    if m.start > as_of:
        return varied + "; not yet in effect"
    if end is None:
        kept = "; ends membership and continuity" if m.status == EXPELLED \
            else "; does not break continuity"
        return f"{varied}; in effect{kept}"
    tense = "ended" if end <= as_of else "in effect until"
    kept = "; broke continuity" if m.status == EXPELLED else "; does not break continuity"
    return f"{varied}; {tense} {_day(end)}{kept}"


def _decision_text(m: MeasureView, decision: Cited[CaseEvent]) -> str:
    sanction = m.fact.varied_from or m.fact.sanction
    what = _sanction_text(sanction) if m.fact.sanction and sanction else "a sanction"
    text = f"decision of {_day(decision.at)}{_rules(m)}: {what}"
    appeal = m.cite(m.fact.appeal)
    corrected = m.cite(m.fact.corrected_by)
    if m.voided and corrected is not None:
        return f"{text} — annulled by the correction of {_day(corrected.at)}"
    if m.voided and appeal is not None:
        return f"{text} — voided by {_appeal_name(appeal)} on {_day(appeal.at)}"
    return text


def _rules(m: MeasureView) -> str:
    """' under R1 (policy 2023.1)': the upheld rules, as far as the record says."""
    decision = m.cite(m.fact.decision)
    report = m.case.state.report
    if decision is None or not isinstance(decision.event, DecisionRecorded) or report is None:
        return ""
    upheld = [f.allegation_id for f in decision.event.findings if f.upheld]
    by_id = {a.allegation_id: a.rule_id for a in report.allegations}
    cited = [f"{by_id[a]} (policy {report.rule_versions.get(a, '?')})"
             for a in upheld if a in by_id]
    return f" under {', '.join(dict.fromkeys(cited))}" if cited else ""


def _day(at: datetime) -> str:
    return at.date().isoformat()


def _rights_text(rights: Iterable[Right]) -> str:
    names = [r.value for r in ALL_RIGHTS if r in set(rights)]
    return f"removes {', '.join(names)}" if names else "removes no rights"


def _sanction_text(sanction: Sanction) -> str:
    if sanction.term is not None:
        return f"{sanction.kind.value} for {duration_text(sanction.term)}"
    return sanction.kind.value


def _sanction_phrase(sanction: Sanction | None, status: str) -> str:
    if sanction is not None and sanction.term is not None:
        return f"{status} for {duration_text(sanction.term)}"
    return status


def _appeal_name(cited: Cited[CaseEvent]) -> str:
    if isinstance(cited.event, MemberReinstated):
        return "reinstatement after appeal"
    return "appeal allowed"


def _appeal_text(cited: Cited[CaseEvent]) -> str:
    event = cited.event
    day = _day(cited.at)
    if isinstance(event, MemberReinstated):
        return (f"reinstated on {day} after an allowed appeal: the decision is void from the "
                "start; rights and continuity restored as of the original dates")
    assert isinstance(event, AppealDecided)
    if event.outcome is AppealOutcome.DISMISSED:
        return f"appeal dismissed on {day}: the sanction stands"
    if event.outcome is AppealOutcome.SANCTION_VARIED and event.new_sanction is not None:
        return (f"appeal decided on {day}: sanction varied to "
                f"{_sanction_text(event.new_sanction)} from the original date")
    return (f"appeal allowed on {day}: the decision is void from the start; rights and "
            "continuity restored as of the original dates")


def _renewal_text(cited: Cited[CaseEvent]) -> str:
    event = cited.event
    assert isinstance(event, InterimSuspensionRenewed)
    return (f"interim suspension renewed on {_day(cited.at)}, next review by "
            f"{_day(event.review_by)}")


def _ending_text(cited: Cited[CaseEvent], interim: bool) -> str:
    event, day = cited.event, _day(cited.at)
    what = "interim suspension" if interim else "sanction"
    texts: dict[type[Any], str] = {
        InterimSuspensionLifted: f"interim suspension lifted on {day}",
        InterimSuspensionLapsed: f"interim suspension lapsed unreviewed on {day}",
        DecisionRecorded: f"decision recorded on {day}: the interim suspension ends",
        SanctionEnded: f"sanction term ended on {day}",
        InterimSuspensionImposed: f"a new interim suspension replaced this one on {day}",
    }
    if isinstance(event, MemberReinstated):
        kept = "continuity preserved" if event.continuity_preserved else "continuity not preserved"
        return f"reinstated on {day}: {what} ends, rights restored; {kept}"
    return texts.get(type(event), f"{what} ended on {day}")


def member_text(cited: Cited[MemberEvent]) -> str:
    event, day = cited.event, _day(cited.at)
    match event:
        case MemberJoined():
            return (f"joined on {event.joined_on.isoformat()} with membership number "
                    f"{event.membership_number}: continuous membership from "
                    f"{event.joined_on.isoformat()}")
        case MembershipRenewed():
            return f"membership renewed on {day} until {event.until.isoformat()}"
        case MembershipLapsed():
            return f"membership lapsed on {day}: continuity broken"
        case MemberResigned() if event.in_protest:
            return (f"resigned in protest on {day}: continuity and membership number are "
                    "kept on a rejoin within the policy's window")
        case MemberResigned():
            return f"resigned on {day}: continuity broken"
        case MemberRejoined():
            kept = "continuity kept" if event.continuity_kept else "continuity restarts"
            note = event.continuity_note or (
                f"{kept}: continuous membership since {event.continuous_since.isoformat()}")
            return (f"rejoined on {day} as the same member, number "
                    f"{event.membership_number}; {note}")
    return f"{cited.record.event_type} on {day}"
