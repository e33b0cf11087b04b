"""ACAS Code paras 19-22 in the case workflow (patch "prior-sanctions"): a decision reads the
respondent's sanctions from their recorded cases and weighs those still current.

On the time-skipping server with a real worker and PostgreSQL: a respondent suspended in
one case (carried out) is decided on in a second case; the decision records the first
sanction as weighed, a cited case without a prior sanction is refused, and a caller never
sends the record itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor
from dueprocess.domain.case.priors import RespondentRecord
from dueprocess.domain.case.values import Sanction
from dueprocess.domain.policy import SanctionKind
from dueprocess.services.client import CommandRejected
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import case_stream
from fixtures.hearing_story import to_hearing, wait_until, warning_decision
from temporalio.testing import WorkflowEnvironment


async def test_a_decision_weighs_the_respondents_current_prior_sanction(
    story: Story, env: WorkflowEnvironment, store: EventStore, record_history: Any,
) -> None:
    # Given the respondent suspended in a first case, the sanction carried out
    await to_hearing(story, env)
    await story.send(warning_decision(story).model_copy(update={"findings": [
        warning_decision(story).findings[0].model_copy(update={"sanction": Sanction(
            kind=SanctionKind.SUSPENSION, term=timedelta(weeks=2))})]}))
    [window] = [d for d in await story.client.deadlines(story.case_id)
                if d.kind == "appeal_window"]
    await wait_until(env, window.due_at)
    await story.send(dc.CarryOutSanction(actor=story.officer, authority="rulebook s.9"))
    first = story.case_id
    # and a second case against the same respondent, heard
    second = Story(story.client, story.policy, clock=env.get_current_time)
    second.p = second.p.model_copy(update={"respondent": story.p.respondent})
    second.respondent = Actor(id=story.p.respondent, role="respondent")
    await to_hearing(second, env)
    # When a caller sends the respondent's record with the decision, it is refused
    forged = RespondentRecord(respondent_id=story.p.respondent)
    with pytest.raises(CommandRejected) as caught:
        await second.send(warning_decision(second, respondent_record=forged))
    assert (caught.value.rule, caught.value.field) == (
        "prior-sanctions-read-by-engine", "respondent_record")
    # and citing a case that holds no prior sanction is refused once the record is read
    with pytest.raises(CommandRejected) as caught:
        await second.send(warning_decision(second, aggravating_priors=["case-none"]))
    assert (caught.value.rule, caught.value.field) == (
        "prior-sanctions-current", "aggravating_priors.0")
    # When the decision cites the first case's suspension
    decision = warning_decision(second, aggravating_priors=[first])
    await second.send(decision)
    # (and sent again, it is already on the record)
    assert (await second.send(decision)).events == []
    # Then the decision recorded weighed it, as current, and nothing expired
    [decided] = [e for e in await store.read_stream(case_stream(second.case_id))
                 if e.event_type == "DecisionRecorded"]
    event = dc.DecisionRecorded.model_validate(decided.payload)
    assert event.prior_sanctions is not None and event.prior_sanctions.expired == []
    [weighed] = event.prior_sanctions.weighed
    assert (weighed.case_id, weighed.sanction.kind) == (first, SanctionKind.SUSPENSION)
    assert event.aggravating_priors == [first]
    await record_history(env, second.case_id, "prior_sanctions_weighed")
