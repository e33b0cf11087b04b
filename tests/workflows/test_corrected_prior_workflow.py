"""A corrected sanction takes effect downstream in the running system (issue 15, G3): once a
case officer corrects a respondent's sanction away, a later case's decision does not weigh
it as a prior sanction, and citing it as aggravating is refused.

On the time-skipping server with a real worker and PostgreSQL, as
test_prior_sanctions_workflow.py (their first steps: tests/fixtures/hearing_story.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor
from dueprocess.domain.case.values import Sanction
from dueprocess.domain.policy import SanctionKind
from dueprocess.services.client import CommandRejected
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import case_stream
from fixtures.hearing_story import to_hearing, wait_until, warning_decision
from temporalio.testing import WorkflowEnvironment


async def test_a_corrected_sanction_is_not_weighed_in_a_later_case(
    story: Story, env: WorkflowEnvironment, store: EventStore,
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
    # and the sanction then corrected on the record: it should never have been imposed
    result = await story.send(dc.CorrectRecord(
        actor=story.officer, authority="rulebook s.12", corrects=dc.CorrectedRecord.SANCTION,
        what_was_wrong="The posts were someone else's.", correction="No sanction stands.",
        apology="We are sorry."))
    [corrected] = result.events
    assert isinstance(corrected, dc.RecordCorrected) and corrected.corrects_version is not None
    # and a second case against the same respondent, heard
    second = Story(story.client, story.policy, clock=env.get_current_time)
    second.p = second.p.model_copy(update={"respondent": story.p.respondent})
    second.respondent = Actor(id=story.p.respondent, role="respondent")
    await to_hearing(second, env)
    # When the decision cites the corrected sanction, it is refused: it is no prior sanction
    with pytest.raises(CommandRejected) as caught:
        await second.send(warning_decision(second, aggravating_priors=[first]))
    assert (caught.value.rule, caught.value.field) == (
        "prior-sanctions-current", "aggravating_priors.0")
    # Then the decision taken weighs no prior sanction at all
    await second.send(warning_decision(second))
    [decided] = [e for e in await store.read_stream(case_stream(second.case_id))
                 if e.event_type == "DecisionRecorded"]
    event = dc.DecisionRecorded.model_validate(decided.payload)
    assert event.prior_sanctions is not None
    assert event.prior_sanctions.weighed == [] and event.prior_sanctions.expired == []
