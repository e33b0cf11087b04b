"""Properties: whatever commands arrive, the history keeps the due-process invariants.

Commands are drawn from every kind, mostly plausible (right role, known ids) and
sometimes not; rejected ones are skipped. The invariants are checked on the event log
itself, independently of the state the decider keeps. A second family of properties
checks that evolve() (and the read-only helpers) are total over arbitrary events.
"""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Literal, Protocol, TypeVar, get_args, get_origin

from dueprocess.domain.base import Actor, ActorKind, DomainError, Personal, personal
from dueprocess.domain.case import (
    COMMAND_TYPES,
    EVENT_TYPES,
    ROLES,
    AcknowledgeReport,
    AddEvidence,
    AppealDecided,
    AppealOutcome,
    AppealPanelAppointed,
    AppointAppealPanel,
    AppointPanel,
    AssignInvestigator,
    AutomatedDecision,
    CarryOutSanction,
    CaseCommand,
    CaseEvent,
    CaseState,
    CaseTriaged,
    CloseCase,
    ComplainantKind,
    DecideAppeal,
    DecisionRecorded,
    DiscloseEvidence,
    DismissalReason,
    EvidenceAdded,
    EvidenceDisclosed,
    FileReport,
    Finding,
    HearingScheduled,
    ImposeInterimSuspension,
    InvestigatorAssigned,
    IssueNotice,
    LiftInterimSuspension,
    LodgeAppeal,
    PanelAppointed,
    PanelMember,
    RecordDecision,
    RecordHearingHeld,
    Reinstate,
    RenewInterimSuspension,
    ReportFiled,
    Sanction,
    ScheduleHearing,
    SubmitResponse,
    TriageCase,
    TriageOutcome,
    WithheldEvidence,
    decide,
    evolve,
    fold,
    next_deadline,
    notifications_for,
    pending_deadlines,
)
from dueprocess.domain.policy import (
    PolicyDocument,
    PolicyVersion,
    Rule,
    SanctionKind,
    SourceKind,
)
from fixtures import case_examples as ex
from hypothesis import HealthCheck, given, settings
from hypothesis import event as event_kind
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, ValidationError

T = TypeVar("T")


class Draw(Protocol):
    """Hypothesis's ``data.draw``: a value of the strategy's type."""

    def __call__(self, strategy: st.SearchStrategy[T], /) -> T: ...


CASE_ID = "case-p"
AUTH = ex.AUTHORITY
PEOPLE = [ex.COMPLAINANT_ID, ex.RESPONDENT_ID, ex.WITNESS_ID, ex.OFFICER_ID,
          ex.INVESTIGATOR_ID, *ex.PANEL_IDS, *ex.APPEAL_PANEL_IDS, "staff-x", "staff-y",
          ex.DETECTOR_ID]
EVIDENCE_IDS = ["E1", "E2", "E3", "E4", "E5"]
ALLEGATION_IDS = ["A1", "A2", "A3"]
POLICY = ex.example_policy()
SANCTIONS = [Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=30)),
             Sanction(kind=SanctionKind.WARNING), None,
             Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=120)),
             Sanction(kind=SanctionKind.EXPULSION)]
PLAUSIBLE_ROLE = {
    "FileReport": "complainant", "AcknowledgeReport": "intake", "TriageCase": "case_officer",
    "AssignInvestigator": "case_officer", "AddEvidence": "investigator",
    "ImposeInterimSuspension": "case_officer", "RenewInterimSuspension": "case_officer",
    "LiftInterimSuspension": "case_officer", "IssueNotice": "case_officer",
    "DiscloseEvidence": "case_officer", "SubmitResponse": "respondent",
    "AppointPanel": "case_officer", "ScheduleHearing": "case_officer",
    "RecordHearingHeld": "case_officer", "RecordDecision": "panel_member",
    "LodgeAppeal": "respondent", "AppointAppealPanel": "case_officer",
    "DecideAppeal": "appeal_panel_member", "CarryOutSanction": "case_officer",
    "Reinstate": "case_officer", "CloseCase": "case_officer",
}


# --- command generation -----------------------------------------------------------------


def one_in(draw: Draw, n: int) -> bool:
    # Hypothesis leans to the simplest value (the first); make that the common case.
    return bool(draw(st.sampled_from(range(n))) == n - 1)


def some_actor(draw: Draw, name: str, state: CaseState) -> Actor:
    """Usually the right person in the right role; sometimes anyone in any role."""
    if one_in(draw, 10):
        return Actor(id=draw(st.sampled_from(PEOPLE)), role=draw(st.sampled_from(sorted(ROLES))),
                     kind=draw(st.sampled_from(list(ActorKind))))
    role = PLAUSIBLE_ROLE[name]
    sitting = {"panel_member": sorted(state.panel_ids), "investigator":
               [state.investigator_id] if state.investigator_id else [],
               "appeal_panel_member": sorted(state.appeal_panel_ids)}.get(role)
    return ex.actor(role, draw(st.sampled_from(sitting)) if sitting else None)


def some_ids(draw: Draw, ids: list[str], min_size: int = 0) -> list[str]:
    if not ids:
        return []
    return draw(st.lists(st.sampled_from(ids), min_size=min_size, max_size=len(ids), unique=True))


def file_report(draw: Draw, now: datetime) -> FileReport:
    dates = [ex.CONDUCT_DATE] * 4 + [ex.OLD_CONDUCT_DATE, date(2018, 5, 1)]
    allegations = [ex.allegation(aid, draw(st.sampled_from(["R1", "R2", "R5"])),
                                 draw(st.sampled_from(dates)))
                   for aid in some_ids(draw, ALLEGATION_IDS, 1)]
    kinds = list(SourceKind)
    items = [ex.evidence(eid, source_kind=draw(st.sampled_from(kinds)),
                         consent=draw(st.booleans()),
                         witness_id=draw(st.sampled_from([None, ex.WITNESS_ID, *PEOPLE])),
                         captured_at=now)
             for eid in some_ids(draw, EVIDENCE_IDS[:3], 1)]
    if draw(st.booleans()):
        return ex.file_report(by=ex.actor("detector"), allegations=allegations,
                              evidence_items=items, report_complainant=ex.complainant(
                                  ComplainantKind.AUTOMATED_DETECTOR, ex.DETECTOR_ID))
    return ex.file_report(allegations=allegations, evidence_items=items,
                          good_faith=not one_in(draw, 10))


def members(draw: Draw, usual: tuple[str, ...]) -> list[PanelMember]:
    pool = PEOPLE if one_in(draw, 4) else list(usual)
    return [PanelMember(member_id=m, declared=not one_in(draw, 10))
            for m in some_ids(draw, pool, 1)[:3]]


def findings(draw: Draw, state: CaseState) -> list[Finding]:
    noticed = [a.allegation_id for a in state.notice.allegations] if state.notice else ["A1"]
    chosen = some_ids(draw, ALLEGATION_IDS, 1) if one_in(draw, 5) else noticed
    pool = [] if one_in(draw, 5) else sorted(state.disclosed_at.keys() - state.inadmissible)
    pool = pool or EVIDENCE_IDS
    return [Finding(allegation_id=aid, upheld=not one_in(draw, 4),
                    findings=personal(ex.RESPONDENT_ID, "facts"), reasons="reasons",
                    relied_on_evidence=some_ids(draw, pool, 1)[:2],
                    sanction=draw(st.sampled_from(SANCTIONS)))
            for aid in chosen]


def build(draw: Draw, name: str, state: CaseState, now: datetime) -> CaseCommand:
    base: dict[str, Any] = {"actor": some_actor(draw, name, state), "authority": AUTH}
    days = st.sampled_from([20, 30, 15, 3, -1, 40]).map(lambda n: now + timedelta(days=n))
    match name:
        case "FileReport":
            return file_report(draw, now)
        case "AcknowledgeReport":
            return AcknowledgeReport(**base)
        case "TriageCase":
            outcome = draw(st.sampled_from([TriageOutcome.INVESTIGATE] * 4
                                           + [TriageOutcome.DISMISS]))
            reason = (draw(st.sampled_from(list(DismissalReason)))
                      if outcome is TriageOutcome.DISMISS else None)
            return TriageCase(**base, outcome=outcome, dismissal_reason=reason, reasons="r")
        case "AssignInvestigator":
            chosen = draw(st.sampled_from([ex.INVESTIGATOR_ID, *PEOPLE]))
            return AssignInvestigator(**base, investigator_id=chosen)
        case "AddEvidence":
            item = ex.evidence(draw(st.sampled_from(EVIDENCE_IDS)),
                               source_kind=draw(st.sampled_from(list(SourceKind))),
                               witness_id=draw(st.sampled_from([None, *PEOPLE])), captured_at=now)
            return AddEvidence(**base, evidence=[item])
        case "ImposeInterimSuspension":
            return ImposeInterimSuspension(**base, reasons="risk",
                                           review_by=draw(st.none() | days))
        case "RenewInterimSuspension":
            return RenewInterimSuspension(**base, reasons="still",
                                          review_by=draw(st.none() | days))
        case "LiftInterimSuspension":
            return LiftInterimSuspension(**base, reasons="lifted")
        case "IssueNotice":
            return IssueNotice(**base, allegation_ids=draw(
                st.none() | st.lists(st.sampled_from(ALLEGATION_IDS), max_size=3, unique=True)))
        case "DiscloseEvidence":
            ids = some_ids(draw, EVIDENCE_IDS if one_in(draw, 5) else sorted(state.evidence), 1)
            withheld = [WithheldEvidence(evidence_id=e, reason="safety")
                        for e in some_ids(draw, sorted(state.evidence))[:1]]
            return DiscloseEvidence(**base, evidence_ids=ids, withheld=withheld)
        case "SubmitResponse":
            return SubmitResponse(**base, statement=personal(ex.RESPONDENT_ID, "answer"))
        case "AppointPanel":
            return AppointPanel(**base, members=members(draw, ex.PANEL_IDS))
        case "ScheduleHearing":
            return ScheduleHearing(**base, at=draw(days), location="room")
        case "RecordHearingHeld":
            attendees = some_ids(draw, [*sorted(state.panel_ids), ex.RESPONDENT_ID, "staff-x"],
                                 1)
            return RecordHearingHeld(**base, attendees=attendees,
                                     respondent_attended=draw(st.booleans()))
        case "RecordDecision":
            return RecordDecision(**base, findings=findings(draw, state), how_to_appeal="write",
                                  automated_decision=draw(st.sampled_from(
                                      list(AutomatedDecision))))
        case "LodgeAppeal":
            return LodgeAppeal(**base, grounds=personal(ex.RESPONDENT_ID, "grounds"))
        case "AppointAppealPanel":
            return AppointAppealPanel(**base, members=members(draw, ex.APPEAL_PANEL_IDS))
        case "DecideAppeal":
            appeal_outcome = draw(st.sampled_from(list(AppealOutcome)))
            new = draw(st.sampled_from(SANCTIONS)) if one_in(draw, 5) else (
                draw(st.sampled_from([s for s in SANCTIONS if s is not None]))
                if appeal_outcome is AppealOutcome.SANCTION_VARIED else None)
            return DecideAppeal(**base, outcome=appeal_outcome, reasons="r", new_sanction=new)
        case "CarryOutSanction":
            return CarryOutSanction(**base)
        case "Reinstate":
            return Reinstate(**base)
        case "CloseCase":
            return CloseCase(**base)
    raise AssertionError(name)


def next_time(draw: Draw, state: CaseState, now: datetime) -> datetime:
    """Time mostly creeps; sometimes it jumps to the hearing or the next deadline."""
    targets = [now + timedelta(hours=1), now + timedelta(days=1), now + timedelta(days=8)]
    if state.hearing is not None:
        targets.append(max(now, state.hearing.at))
    targets += [max(now, d.due_at) for d in pending_deadlines(state)]
    return draw(st.sampled_from(targets)) if draw(st.booleans()) else now


def next_names(state: CaseState) -> list[str]:
    """The commands that would move this case on: a bias so walks get deep."""
    if state.report is None:
        return ["FileReport"]
    if state.dismissal is not None:
        return ["CloseCase", "AcknowledgeReport"]
    if state.triage is None:
        return ["TriageCase", "AcknowledgeReport"]
    if state.notice is None:
        return ["IssueNotice", "AssignInvestigator", "ImposeInterimSuspension"]
    if state.last_disclosure_at is None or not state.panel:
        return ["DiscloseEvidence", "AppointPanel", "SubmitResponse"]
    if state.hearing is None or state.hearing_held is None:
        return ["ScheduleHearing", "RecordHearingHeld"]
    if state.decision is None:
        return ["RecordDecision"]
    if state.appeal is not None and state.appeal_decision is None:
        return ["AppointAppealPanel", "DecideAppeal"]
    return ["LodgeAppeal", "CarryOutSanction", "Reinstate", "CloseCase"]


def step(draw: Draw, state: CaseState, now: datetime) -> tuple[CaseCommand, datetime]:
    """One command: a fired timer, the next lifecycle step, any plausible or any at all."""
    now = next_time(draw, state, now)
    due = [d for d in pending_deadlines(state) if d.due_at <= now]
    roll = draw(st.sampled_from(range(10)))
    if due and roll < 2:
        return draw(st.sampled_from(due)).command, now
    if roll == 9:
        return draw(any_command), now
    names = next_names(state) if roll < 6 else sorted(PLAUSIBLE_ROLE)
    return build(draw, draw(st.sampled_from(names)), state, now), now


# --- the invariants, checked on the log ----------------------------------------------------


def check_invariants(events: list[CaseEvent]) -> None:
    seen: set[str] = set()
    report: ReportFiled | None = None
    disclosed: dict[str, datetime] = {}
    inadmissible: set[str] = set()
    witnesses: set[str] = set()
    roles: dict[str, set[str]] = {"investigator": set(), "panel": set(), "appeal": set()}
    hearing_at: datetime | None = None
    human_triaged = False
    for event in events:
        assert "CaseClosed" not in seen, "nothing happens after closure"
        kind = event.type
        if isinstance(event, ReportFiled):
            report = event
            check_charges(event)
        if isinstance(event, ReportFiled | EvidenceAdded):
            witnesses |= {e.witness_id for e in event.evidence if e.witness_id}
            inadmissible |= {a.evidence_id for a in event.admissibility if not a.admissible}
        if isinstance(event, CaseTriaged):
            human_triaged = event.actor.kind is ActorKind.PERSON
        if isinstance(event, EvidenceDisclosed):
            for evidence_id in event.evidence_ids:
                disclosed.setdefault(evidence_id, event.effective_at)
        if kind in ("HearingScheduled", "DecisionRecorded"):
            assert {"NoticeIssued", "EvidenceDisclosed"} <= seen, f"{kind} before notice"
        if isinstance(event, HearingScheduled):
            hearing_at = event.at
        if isinstance(event, DecisionRecorded):
            assert "HearingHeld" in seen and hearing_at is not None
            check_decision(event, report, disclosed, inadmissible, hearing_at)
        adverse = kind in ("InterimSuspensionImposed", "NoticeIssued") or (
            isinstance(event, DecisionRecorded) and event.sanction is not None)
        if adverse and filed(report).automated:
            assert human_triaged, f"{kind} on an automated report before human triage"
        if isinstance(event, AppealDecided) and event.new_sanction is not None:
            assert allowed_by_some_rule(event.new_sanction, report)
        if isinstance(event, InvestigatorAssigned):
            roles["investigator"] |= staff_ids(event)
        for key, appointed in (("panel", PanelAppointed), ("appeal", AppealPanelAppointed)):
            if isinstance(event, appointed):
                roles[key] |= staff_ids(event)
                assert all(m.declared for m in event.members)
        if kind == "AppealLodged":
            assert "AppealWindowClosed" not in seen
        seen.add(kind)
    check_roles(roles, report, witnesses)


def filed(report: ReportFiled | None) -> ReportFiled:
    """The report every later event presupposes (its absence breaks the invariants)."""
    assert report is not None, "an event before the report"
    return report


def staff_ids(event: InvestigatorAssigned | PanelAppointed | AppealPanelAppointed) -> set[str]:
    if isinstance(event, InvestigatorAssigned):
        return {event.investigator_id}
    return {m.member_id for m in event.members}


def check_roles(roles: dict[str, set[str]], report: ReportFiled | None,
                witnesses: set[str]) -> None:
    investigator, panel, appeal = roles["investigator"], roles["panel"], roles["appeal"]
    assert not (investigator & panel or investigator & appeal or panel & appeal), roles
    if report is not None:
        parties = {report.complainant.person_id, report.respondent.person_id} | witnesses
        assert not (investigator | panel | appeal) & parties


def pinned_rule(report: ReportFiled, allegation_id: str) -> Rule:
    version = next(v for v in report.pinned_versions
                   if v.version == report.rule_versions[allegation_id])
    allegation = next(a for a in report.allegations if a.allegation_id == allegation_id)
    return version.rule(allegation.rule_id)


def check_charges(report: ReportFiled) -> None:
    for allegation in report.allegations:
        version = POLICY.version_on(allegation.conduct_date)
        assert version.version == report.rule_versions[allegation.allegation_id]
        assert version.find_rule(allegation.rule_id) is not None


def check_decision(event: DecisionRecorded, report: ReportFiled | None,
                   disclosed: dict[str, datetime], inadmissible: set[str],
                   hearing_at: datetime) -> None:
    lead = ex.DEADLINES.disclosure_lead_time
    for finding in event.findings:
        for evidence_id in finding.relied_on_evidence:
            assert evidence_id in disclosed, "relied on undisclosed evidence"
            assert evidence_id not in inadmissible, "relied on inadmissible evidence"
            assert disclosed[evidence_id] <= hearing_at - lead
        if finding.sanction is not None:
            assert finding.upheld
            rule = pinned_rule(filed(report), finding.allegation_id)
            assert rule.allows(finding.sanction.kind, finding.sanction.term)


def allowed_by_some_rule(sanction: Sanction, report: ReportFiled | None) -> bool:
    report = filed(report)
    return any(pinned_rule(report, a.allegation_id).allows(sanction.kind, sanction.term)
               for a in report.allegations)


# --- generic strategies for any model (for totality) ------------------------------------


def for_type(annotation: Any) -> st.SearchStrategy[Any]:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return for_type(args[0])
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(for_type(arg) for arg in args))
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (list, tuple, frozenset, set):
        return st.lists(for_type(args[0]), max_size=2)
    if origin is dict:
        return st.dictionaries(st.sampled_from(ALLEGATION_IDS), for_type(args[1]), max_size=2)
    return SIMPLE[annotation] if annotation in SIMPLE else for_class(annotation)


def for_class(cls: Any) -> st.SearchStrategy[Any]:
    if isinstance(cls, type) and issubclass(cls, Enum):
        return st.sampled_from(list(cls))
    if cls is PolicyVersion:
        return st.sampled_from(POLICY.versions)
    if cls is PolicyDocument:
        return st.just(POLICY)
    if cls is Personal:
        return st.builds(personal, st.sampled_from(PEOPLE), st.sampled_from(["x", "y"]))
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return model(cls)
    if cls is type(None):
        return st.none()
    raise NotImplementedError(cls)


AWARE = st.datetimes(datetime(2018, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC))
SIMPLE: dict[Any, st.SearchStrategy[Any]] = {
    str: st.sampled_from([*PEOPLE, *EVIDENCE_IDS, *ALLEGATION_IDS, "R1", "R5", "2023.1"]),
    bool: st.booleans(),
    int: st.integers(-3, 3),
    datetime: AWARE,
    AwareDatetime: AWARE,
    date: st.dates(date(2017, 1, 1), date(2030, 1, 1)),
    timedelta: st.timedeltas(timedelta(days=-3), timedelta(days=500)),
}


def model(cls: type[BaseModel]) -> st.SearchStrategy[Any]:
    fields = {name: st.deferred(lambda f=f: for_type(f.annotation))  # type: ignore[misc]
              for name, f in cls.model_fields.items()}

    def validate(values: dict[str, Any]) -> Any:
        try:
            return cls.model_validate(values)
        except ValidationError:
            return None

    return st.fixed_dictionaries(fields).map(validate).filter(lambda v: v is not None)


any_event: st.SearchStrategy[CaseEvent] = st.one_of(*(model(c) for c in EVENT_TYPES.values()))
any_command: st.SearchStrategy[CaseCommand] = st.one_of(
    *(model(c) for c in COMMAND_TYPES.values()))


# --- the properties ----------------------------------------------------------------------


FAST = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@FAST
@given(st.data())
def test_any_command_sequence_keeps_the_invariants(data: st.DataObject) -> None:
    state, now = CaseState.empty(CASE_ID), ex.T0
    events: list[CaseEvent] = []
    for _ in range(data.draw(st.integers(10, 40), label="length")):
        command, now = step(data.draw, state, now)
        try:
            new = decide(state, command, now)
        except DomainError:
            continue
        events += new
        state = fold(new, state)
    check_invariants(events)
    for kind in {event.type for event in events}:
        event_kind(kind)
    assert fold(events, CaseState.empty(CASE_ID)) == state
    for deadline in pending_deadlines(state):
        # A fired timer is always acceptable: events or a no-op, never a rejection.
        decide(state, deadline.command, max(deadline.due_at, state.as_of or deadline.due_at))


def attempt(state: CaseState, events: list[CaseEvent], commands: list[CaseCommand],
            now: datetime) -> tuple[CaseState, list[CaseEvent]]:
    """Decide each command in turn, skipping rejections."""
    for command in commands:
        try:
            new = decide(state, command, now)
        except DomainError:
            continue
        events = events + new
        state = fold(new, state)
    return state, events


LIFECYCLE = ["FileReport", "AcknowledgeReport", "TriageCase", "AssignInvestigator",
             "ImposeInterimSuspension", "IssueNotice", "DiscloseEvidence", "SubmitResponse",
             "AppointPanel", "ScheduleHearing", "RecordHearingHeld", "RecordDecision"]
APPEAL = ["LodgeAppeal", "AppointAppealPanel", "DecideAppeal", "Reinstate"]
ENDING: list[str | None] = [None, "CarryOutSanction", None, None, "CloseCase"]


def guided_script(draw: Draw) -> list[str | None]:
    """The lifecycle in order, an appeal or not, with steps sometimes skipped so that
    out-of-order commands (notice before triage, decision before disclosure) are tried.
    None marks "let time pass and fire the timers that fall due"."""
    names: list[str | None] = [*LIFECYCLE, *(APPEAL if draw(st.booleans()) else []), *ENDING]
    return [name for name in names if name == "FileReport" or not one_in(draw, 8)]


def earliest(name: str | None, state: CaseState, now: datetime) -> datetime:
    if name == "RecordHearingHeld" and state.hearing is not None:
        return max(now, state.hearing.at)
    if name is None:  # let the procedural deadlines pass; a sanction's end comes later
        due = [d.due_at for d in pending_deadlines(state) if d.kind != "sanction_end"]
        due = due or [d.due_at for d in pending_deadlines(state)]
        return max([now, *due])
    return now + timedelta(hours=1)


@FAST
@given(st.data())
def test_the_guided_lifecycle_reaches_deep_states(data: st.DataObject) -> None:
    """The same invariants on walks that mostly follow the lifecycle, so decisions,
    appeals, sanctions and reinstatements are exercised, with stray commands between."""
    state, now = CaseState.empty(CASE_ID), ex.T0
    events: list[CaseEvent] = []
    for name in guided_script(data.draw):
        if one_in(data.draw, 3):
            stray, now = step(data.draw, state, now)
            state, events = attempt(state, events, [stray], now)
        now = earliest(name, state, now)
        if name is None:
            check_next_deadline(state)
            due = [d.command for d in pending_deadlines(state) if d.due_at <= now]
            state, events = attempt(state, events, due, now)
            continue
        for _ in range(3):  # a few draws of the same step, so walks get deep
            state, accepted = attempt(state, events, [build(data.draw, name, state, now)], now)
            if len(accepted) > len(events):
                events = accepted
                break
    check_invariants(events)
    for kind in {event.type for event in events}:
        event_kind(kind)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(any_event, max_size=12), st.lists(any_event, max_size=4))
def test_evolve_is_total(prefix: list[CaseEvent], more: list[CaseEvent]) -> None:
    state = CaseState.empty(CASE_ID)
    for event in prefix + more:
        state = evolve(state, event)
        check_next_deadline(state)
        notifications_for(state, event, "event-id")


def check_next_deadline(state: CaseState) -> None:
    """The case list's next deadline (made without the timers' commands) is the first of
    the timers the workflow holds: the earliest, of equal ones the first listed."""
    pending = pending_deadlines(state)
    assert next_deadline(state) == ((pending[0].kind, pending[0].due_at) if pending else None)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(any_event, max_size=8), any_command)
def test_decide_only_ever_rejects_with_domain_errors(events: list[CaseEvent],
                                                     command: CaseCommand) -> None:
    state = fold(events, CaseState.empty(CASE_ID))
    try:
        decide(state, command, datetime(2031, 1, 1, tzinfo=UTC))
    except DomainError:
        pass
