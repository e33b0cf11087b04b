"""The principal a command was authenticated as is recorded on each event it causes;
the workflow's own timers record none."""

from __future__ import annotations

from datetime import UTC, datetime

from dueprocess.devstack.demo import RB, Story
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import PrincipalRecord
from dueprocess.domain.streams import case_stream
from dueprocess.store.eventstore import EventStore


def _who(subject: str, request: str) -> PrincipalRecord:
    return PrincipalRecord(issuer="http://127.0.0.1:1", subject=subject, token_id=f"t-{request}",
                           auth_time=datetime(2026, 3, 1, tzinfo=UTC), auth_method="local",
                           request_id=request)


async def test_each_event_carries_the_principal_of_its_command(
    story: Story, store: EventStore
) -> None:
    # given a report filed without a principal (a direct client)
    filed = await story.file()
    # when the officer's decision comes with the principal the API authenticated
    who = _who(story.officer.id, "req-7")
    await story.client.send(
        filed.case_id, dc.AcknowledgeReport(actor=story.officer, authority=f"{RB} s.3.2"),
        principal=who)
    # then the recorded events say so, and the earlier one reads as not recorded
    events = await store.read_stream(case_stream(filed.case_id))
    assert [e.principal for e in events] == [None, who]
