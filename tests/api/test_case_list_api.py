"""The case list and statistics over real HTTP (issue 15): the typed client's ``cases()``
answers each case's stage, how long it has been in it, its next deadline and whether it is
overdue, filtered and paged; ``/stats`` carries the backlog ageing as `dueprocess stats`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor, ActorKind
from dueprocess.services.api_client import ApiClient
from dueprocess.services.client import CommandRejected
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.projections import ProjectionRunner, default_projections

from .conftest import Api

OFFICER = Actor(id="officer-1", role="case_officer")


def _client(api: Api, **kwargs: Any) -> ApiClient:
    def token(actor: Actor | None) -> str:
        who = actor or OFFICER
        return api.token(who.id, who.role, system=who.kind != ActorKind.PERSON)

    return ApiClient(api.url, token, **kwargs)


async def test_the_clients_case_list_shows_stage_age_deadlines_and_overdue(api: Api) -> None:
    async with _client(api) as client:
        # Given two cases, one taken to notice (its response deadline pending)
        first = await api.story()
        first.client, first.officer = client, OFFICER
        await first.file()
        await first.acknowledge_and_investigate()
        await first.notify_and_disclose()
        second = await api.story()
        second.client = client
        await second.file()
        await ProjectionRunner(api.pool, api.store,
                               default_projections(load_policy_file(None))).catch_up()
        # When the officer lists the cases
        page = await client.cases(limit=50)
        # Then each case has its stage, the age of that stage and its next deadline
        rows = {c.case_id: c for c in page.items}
        assert set(rows) == {first.case_id, second.case_id} and page.next_cursor is None
        noticed = rows[first.case_id]
        assert noticed.stage == dc.CaseStage.NOTICE_ISSUED
        assert noticed.stage_entered_at is not None and noticed.next_deadline_at is not None
        assert noticed.stage_age_seconds is not None and noticed.stage_age_seconds >= 0
        assert noticed.stage_age_days == int(noticed.stage_age_seconds // 86400)
        # and judged a day after its deadline, it is overdue, in the stage for longer
        later = noticed.next_deadline_at + timedelta(days=1)
        overdue = await client.cases(overdue=True, as_of=later)
        assert first.case_id in [c.case_id for c in overdue.items]
        [row] = [c for c in overdue.items if c.case_id == first.case_id]
        assert row.overdue and row.stage_age_days is not None and row.stage_age_days >= 1
        assert row.stage_entered_at is not None
        assert row.stage_age_days == (later - row.stage_entered_at).days
        # and filters narrow it: by stage, by person, paged by cursor
        staged = await client.cases(stage=dc.CaseStage.NOTICE_ISSUED)
        assert [c.case_id for c in staged.items] == [first.case_id]
        theirs = await client.cases(person_id=first.p.respondent)
        assert [c.case_id for c in theirs.items] == [first.case_id]
        one = await client.cases(limit=1)
        rest = await client.cases(limit=1, cursor=one.next_cursor)
        assert one.next_cursor and {one.items[0].case_id, rest.items[0].case_id} == set(rows)
        # and a cursor the service never gave is refused, naming the field
        with pytest.raises(CommandRejected) as caught:
            await client.cases(cursor="%%%")
        assert (caught.value.rule, caught.value.field) == ("valid-cursor", "cursor")
        assert caught.value.error_type == "InvalidInput"  # bad input, not a refused step


async def test_stats_carry_the_backlog_ageing(api: Api) -> None:
    async with _client(api) as client:
        story = await api.story()
        story.client = client
        await story.file()
        await ProjectionRunner(api.pool, api.store,
                               default_projections(load_policy_file(None))).catch_up()
    stats = await api.http.get("/stats", headers=api.auth("aud-1", "auditor"))
    assert stats.status_code == 200, stats.text
    ageing = stats.json()["backlog_ageing"]
    assert sum(sum(bands.values()) for bands in ageing.values()) == 1
    assert set(next(iter(ageing.values()))) == {"under_7_days", "7_to_28_days",
                                                "over_28_days", "unknown"}
