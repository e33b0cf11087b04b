"""`dueprocess demo`: one realistic case, end to end, through the real client.

A member reports abusive posts; the respondent is suspended pending investigation, told
the allegations, shown the evidence, heard, and suspended for eight weeks; on appeal an
independent panel finds the posts were taken out of context, allows the appeal, and the
member is reinstated with an apology. The case is filed under the published rulebook
(the shipped sample is published when none is) with its deadlines compressed to seconds so
the story runs in under a minute: the demo's own worker, on a task queue of its own, serves
that compressed rulebook (``demo_rulebook``), which is never published. Everything else is
the production path.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from ..domain import case as dc
from ..domain.base import Actor, ActorKind, Personal
from ..domain.case.values import (
    Allegation,
    AppealOutcome,
    Complainant,
    ComplainantKind,
    EvidenceItem,
    Finding,
    PanelMember,
    Respondent,
    Sanction,
    TriageOutcome,
    WithheldEvidence,
)
from ..domain.membership.member import MemberCommand, RecordJoined
from ..domain.policy import Deadlines, PolicyDocument, SanctionKind, SourceKind
from ..domain.rules.collection import notices_owed
from ..services.client import CaseClient
from ..workflows.case import DecisionResult
from . import cast

RB = "rulebook"
HEARING_NOTICE = timedelta(seconds=4)
DEMO_DEADLINES = Deadlines(
    acknowledge=timedelta(minutes=5), respond=timedelta(minutes=5),
    minimum_hearing_notice=HEARING_NOTICE, disclosure_lead_time=timedelta(seconds=2),
    appeal_window=timedelta(minutes=10), interim_suspension_review=timedelta(minutes=10),
    rejoin_continuity_window=timedelta(days=90), data_collection_notice=timedelta(minutes=10),
)


class People(BaseModel):
    complainant: str
    respondent: str
    witness: str
    intake: str
    case_officer: str
    investigator: str
    panel: list[str]
    appeal_panel: list[str]


def compressed(policy: PolicyDocument) -> PolicyDocument:
    return policy.model_copy(update={
        "versions": [v.model_copy(update={"deadlines": DEMO_DEADLINES}) for v in policy.versions]
    })


def demo_rulebook(published: PolicyDocument) -> Callable[[], Awaitable[PolicyDocument]]:
    """The rulebook source of the demo's own worker: the published one, compressed."""
    async def source() -> PolicyDocument:
        return compressed(published)

    return source


def _people(run: str) -> People:
    return People(
        complainant=f"m-priya-{run}", respondent=f"m-daniel-{run}", witness=f"m-grace-{run}",
        intake="backoffice-intake", case_officer=cast.CASE_OFFICER,
        investigator=cast.INVESTIGATOR, panel=list(cast.PANEL),
        appeal_panel=list(cast.APPEAL_PANEL),
    )


def _report(p: People, now: datetime) -> dc.FileReport:
    def pd(subject: str, text: str) -> Personal:
        return Personal(subject_id=subject, value=text)

    def evidence(eid: str, kind: SourceKind, text: str, **kw: Any) -> EvidenceItem:
        return EvidenceItem(
            evidence_id=eid, description=pd(p.respondent, text), source_kind=kind,
            captured_by=p.complainant, captured_at=now - timedelta(days=30),
            captured_from=kw.pop("where", "https://social.example/daniel/posts/8812"),
            content_hash="sha256:" + uuid.uuid5(uuid.NAMESPACE_URL, eid).hex, **kw,
        )

    return dc.FileReport(
        actor=Actor(id=p.intake, role="intake", kind=ActorKind.SYSTEM),
        authority="rulebook s.3.1 (complaints procedure)",
        complainant=Complainant(
            kind=ComplainantKind.MEMBER, person_id=p.complainant,
            name=pd(p.complainant, "Priya Shah"), contact=pd(p.complainant, "priya@example.org"),
        ),
        respondent=Respondent(
            person_id=p.respondent, name=pd(p.respondent, "Daniel Okafor"),
            contact=pd(p.respondent, "daniel@example.org"),
        ),
        allegations=[Allegation(
            allegation_id="A1", rule_id="R1", conduct_date=date(2024, 5, 10),
            particulars=pd(p.respondent, "Posted three messages calling a fellow member "
                                         "'vermin' in the branch's public group."),
        )],
        evidence=[
            evidence("E1", SourceKind.PUBLIC_POST, "Screenshot of the public post of 10 May"),
            evidence("E2", SourceKind.WITNESS_STATEMENT, "Statement of Grace Lin",
                     witness_id=p.witness, where="branch meeting 12 May"),
            evidence("E3", SourceKind.PRIVATE_MESSAGE, "Forwarded private message",
                     where="direct message, forwarded without consent"),
        ],
        good_faith_declaration=True,
    )


class Story:
    """Drives one case through the client, step by step; tests reuse the steps.

    ``policy`` is the rulebook the serving worker files the case under (for readers such
    as standing); the report itself carries none."""

    def __init__(self, client: CaseClient, policy: PolicyDocument, run: str | None = None,
                 clock: Any = None) -> None:
        self.client = client
        self.policy = policy
        self.run = run or uuid.uuid4().hex[:8]
        self.p = _people(self.run)
        self.case_id = ""
        self._report: dc.FileReport | None = None
        self._clock = clock  # async () -> datetime; the workflow's clock under time skipping
        p = self.p
        self.officer = Actor(id=p.case_officer, role="case_officer")
        self.investigator = Actor(id=p.investigator, role="investigator")
        self.respondent = Actor(id=p.respondent, role="respondent")
        self.chair = Actor(id=p.panel[0], role="panel_member")
        self.appeal_chair = Actor(id=p.appeal_panel[0], role="appeal_panel_member")

    async def now(self) -> datetime:
        return await self._clock() if self._clock else datetime.now(UTC)

    async def send(self, command: dc.CaseCommand) -> DecisionResult:
        return await self.client.send(self.case_id, command)

    async def build_report(self) -> dc.FileReport:
        # A retried intake resends the very same report: build it once.
        if self._report is None:
            self._report = _report(self.p, await self.now())
        return self._report

    async def file(self) -> DecisionResult:
        report = await self.build_report()
        result = await self.client.file_report(report, idempotency_key=f"demo-{self.run}")
        self.case_id = result.case_id
        return result

    async def acknowledge_and_investigate(self) -> None:
        await self.send(dc.AcknowledgeReport(actor=self.officer, authority=f"{RB} s.3.2"))
        await self.send(dc.TriageCase(actor=self.officer, authority=f"{RB} s.3.3",
                                      outcome=TriageOutcome.INVESTIGATE,
                                      reasons="Public posts, named target: a case to answer."))
        await self.send(dc.AssignInvestigator(actor=self.officer, authority=f"{RB} s.3.4",
                                              investigator_id=self.p.investigator))

    async def suspend_pending_hearing(self) -> DecisionResult:
        return await self.send(dc.ImposeInterimSuspension(
            actor=self.officer, authority=f"{RB} s.5.1 (interim measures)",
            reasons="The target reports continuing contact; separation pending the hearing."))

    async def notify_and_disclose(self) -> None:
        await self.send(dc.IssueNotice(actor=self.investigator, authority=f"{RB} s.4.1"))
        await self.send(dc.DiscloseEvidence(
            actor=self.investigator, authority=f"{RB} s.4.2", evidence_ids=["E1", "E2"],
            withheld=[WithheldEvidence(evidence_id="E3",
                                       reason="inadmissible: private message, no consent")]))

    async def tell_whose_data_came_from_others(self) -> None:
        """GDPR Art 14: each person the evidence is about, who did not supply it, is told
        (one notice per person, listing the items the case says are owed)."""
        owed: dict[str, list[str]] = {}
        for item in notices_owed(await self.client.state(self.case_id)):
            owed.setdefault(item.subject_id, []).append(item.evidence_id)
        for subject_id, evidence_ids in owed.items():
            await self.send(dc.GiveDataCollectionNotice(
                actor=self.investigator, authority=f"{RB} s.4.2 (GDPR Art 14)",
                subject_id=subject_id, evidence_ids=evidence_ids))

    async def respond(self) -> None:
        await self.send(dc.SubmitResponse(
            actor=self.respondent, authority=f"{RB} s.4.3",
            statement=Personal(subject_id=self.p.respondent,
                               value="The posts quoted a satirical sketch; no member was meant.")))

    async def appoint_panel(self) -> DecisionResult:
        return await self.send(dc.AppointPanel(
            actor=self.officer, authority=f"{RB} s.6.1", members=[
                PanelMember(member_id=m, declared=True, interests="none") for m in self.p.panel]))

    async def schedule_hearing(self, notice: timedelta) -> datetime:
        await self.appoint_panel()
        hearing_at = await self.now() + notice + timedelta(seconds=1)
        await self.send(dc.ScheduleHearing(actor=self.officer, authority=f"{RB} s.6.2",
                                           at=hearing_at, location="Regional office, room 2"))
        return hearing_at

    async def hold_hearing_and_suspend(self, term: timedelta = timedelta(weeks=8)) -> None:
        p = self.p
        await self.send(dc.RecordHearingHeld(
            actor=self.chair, authority=f"{RB} s.6.3", attendees=[*p.panel, p.respondent],
            companion=Personal(subject_id=f"{p.respondent}-companion",
                               value="Union rep J. Doyle"),
            respondent_attended=True))
        await self.send(dc.RecordDecision(
            actor=self.chair, authority=f"{RB} s.6.4", how_to_appeal="Write to the appeals "
            "secretary within the appeal window stating your grounds.",
            findings=[Finding(
                allegation_id="A1", upheld=True,
                findings=Personal(subject_id=p.respondent,
                                  value="The respondent wrote the posts of 10 May."),
                reasons="Calling a member 'vermin' is abuse under R1 as defined.",
                relied_on_evidence=["E1", "E2"],
                sanction=Sanction(kind=SanctionKind.SUSPENSION, term=term))]))

    async def appeal_allowed_and_reinstate(self) -> None:
        p = self.p
        await self.send(dc.LodgeAppeal(
            actor=self.respondent, authority=f"{RB} s.7.1",
            grounds=Personal(subject_id=p.respondent,
                             value="The panel ignored that the posts quoted a sketch.")))
        await self.send(dc.AppointAppealPanel(
            actor=self.officer, authority=f"{RB} s.7.2", members=[
                PanelMember(member_id=m, declared=True, interests="none")
                for m in p.appeal_panel]))
        await self.send(dc.DecideAppeal(
            actor=self.appeal_chair, authority=f"{RB} s.7.3", outcome=AppealOutcome.ALLOWED,
            reasons="The full thread shows the words quoted a sketch; no abuse of a member."))
        await self.send(dc.Reinstate(
            actor=self.officer, authority=f"{RB} s.7.4",
            apology="We are sorry for the suspension; your record has been corrected."))

    async def close(self) -> None:
        await self.send(dc.CloseCase(actor=self.officer, authority=f"{RB} s.8"))


# Records a membership fact for a member: over the API (the demo) or MemberService.record.
MemberRecorder = Callable[[str, MemberCommand], Awaitable[object]]


async def record_membership(record: MemberRecorder, story: Story) -> None:
    """The respondent has been a member since 2015: standing and continuity are measured
    against this back-office fact (sent by the intake service, which records them)."""
    await record(story.p.respondent, RecordJoined(
        actor=Actor(id="membership-system", role="intake", kind=ActorKind.SYSTEM),
        authority="membership register", membership_number=f"M-{story.run}",
        joined_on=date(2015, 3, 1)))


async def run_demo(
    client: CaseClient, policy: PolicyDocument, members: MemberRecorder | None = None
) -> tuple[str, People]:
    """Drive one case from report to closure; return its case id and the people.
    ``client`` sends to a worker that files the case under ``demo_rulebook(policy)``."""
    story = Story(client, compressed(policy))
    if members is not None:
        await record_membership(members, story)
    await story.file()
    await story.acknowledge_and_investigate()
    await story.suspend_pending_hearing()
    await story.notify_and_disclose()
    await story.tell_whose_data_came_from_others()
    await story.respond()
    hearing_at = await story.schedule_hearing(HEARING_NOTICE)
    await asyncio.sleep(max((hearing_at - datetime.now(UTC)).total_seconds(), 0) + 0.5)
    await story.hold_hearing_and_suspend()
    await story.appeal_allowed_and_reinstate()
    await story.close()
    return story.case_id, story.p
