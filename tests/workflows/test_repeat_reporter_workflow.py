"""DSA Art 23 on the time-skipping server, with a real worker and PostgreSQL: a member's
third report dismissed as manifestly unfounded brings a warning; their next report is
held (recorded, not processed) until the hold's durable timer ends it, or a contest
decided by an uninvolved officer lifts it. Reports against the member are unaffected."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor, personal
from dueprocess.domain.policy import PolicyDocument
from dueprocess.services.client import CommandRejected, DueProcessClient
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import case_stream
from fixtures import reporter_examples as rx
from temporalio.testing import WorkflowEnvironment

OFFICER = Actor(id="staff-amira", role="case_officer")
OTHER_OFFICER = Actor(id="staff-omar", role="case_officer")
RB = "rulebook s.3"


def _sample() -> PolicyDocument:
    return load_policy_file(None)


def report(by: str, against: str) -> dc.FileReport:
    return rx.member_report(by, against)


async def file(client: DueProcessClient, by: str, against: str) -> str:
    result = await client.file_report(report(by, against),
                                      idempotency_key=f"rr-{by}-{against}-{uuid.uuid4().hex}")
    return result.case_id


async def dismiss(client: DueProcessClient, case_id: str) -> None:
    await client.send(case_id, dc.TriageCase(
        actor=OFFICER, authority=RB, outcome=dc.TriageOutcome.DISMISS,
        reasons="The posts quoted say nothing of the kind.",
        dismissal_reason=dc.DismissalReason.MANIFESTLY_UNFOUNDED))


async def types(store: EventStore, case_id: str) -> list[str]:
    return [e.event_type for e in await store.read_stream(case_stream(case_id))]


async def warned_reporter(client: DueProcessClient, store: EventStore) -> tuple[str, str]:
    """Three reports by one member against three opponents, each manifestly unfounded."""
    reporter = f"m-rr-{uuid.uuid4().hex[:6]}"
    last = ""
    for n in range(3):
        last = await file(client, reporter, f"m-opp-{n}-{reporter}")
        await dismiss(client, last)
    return reporter, last


async def test_three_unfounded_reports_warn_and_the_fourth_is_held_until_its_timer(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore,
        record_history: Any) -> None:
    config = _sample().versions[-1].repeat_reporting
    assert config is not None and config.threshold == 3
    # given a member whose third report was dismissed as manifestly unfounded
    reporter, third = await warned_reporter(client, store)
    assert await types(store, third) == ["ReportFiled", "CaseDismissed", "ReporterWarned"]
    # when they file a fourth report
    fourth = await file(client, reporter, f"m-opp-4-{reporter}")
    # then it is recorded and held, with the hold's reason and end visible to staff
    assert await types(store, fourth) == ["ReportFiled", "ReportHeld"]
    state = await client.state(fourth)
    assert state.stage is dc.CaseStage.HELD and state.reporting.hold is not None
    until = state.reporting.held_until
    assert until is not None and state.reporting.hold.reasons == config.warning
    # and it cannot be triaged while held
    with pytest.raises(CommandRejected) as refused:
        await dismiss(client, fourth)
    assert refused.value.rule == "report-held"
    # and a report against the warned member is processed as any other
    against = await file(client, f"m-other-{reporter}", reporter)
    assert await types(store, against) == ["ReportFiled"]
    # when the hold's period passes, its durable timer releases the report
    await env.sleep((until - await env.get_current_time()).total_seconds() + 60)
    assert (await types(store, fourth))[-1] == "HoldReleased"
    released = await client.state(fourth)
    assert released.stage is not dc.CaseStage.HELD and not released.reporting.held
    await dismiss(client, fourth)  # processed now: triaged like any other report
    await record_history(env, fourth, "repeat_reporter_hold_released")


async def test_a_contested_hold_is_lifted_by_an_uninvolved_officer(
        env: WorkflowEnvironment, client: DueProcessClient, store: EventStore) -> None:
    reporter, _ = await warned_reporter(client, store)
    held = await file(client, reporter, f"m-opp-5-{reporter}")
    await client.send(held, dc.ContestHold(
        actor=Actor(id=reporter, role="complainant"), authority="DSA Art 20",
        reasons=personal(reporter, "My reports were made in good faith.")))
    # the officer who dismissed the counted reports may not decide the contest
    with pytest.raises(CommandRejected) as refused:
        await client.send(held, dc.DecideHoldContest(actor=OFFICER, authority=RB, lift=True,
                                                     reasons="Reviewed."))
    assert refused.value.rule == "hold-contest-independent"
    await client.send(held, dc.DecideHoldContest(actor=OTHER_OFFICER, authority=RB, lift=True,
                                                 reasons="Two dismissals were borderline."))
    assert (await types(store, held))[-2:] == ["HoldContestDecided", "HoldReleased"]
    assert not (await client.state(held)).reporting.held
    # and the lifted hold ends the suspension: a later report is not held
    later = await file(client, reporter, f"m-opp-6-{reporter}")
    assert await types(store, later) == ["ReportFiled"]

