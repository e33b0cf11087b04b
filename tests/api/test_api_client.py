"""The typed client over HTTP (services/api_client.py) against the real API, with real
tokens: the client's interface and typed errors, and the principal on membership facts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
import pytest
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor, ActorKind
from dueprocess.domain.membership.member import RecordJoined, RecordResigned, member_stream
from dueprocess.services.api_client import ApiClient, Unauthenticated
from dueprocess.services.client import CommandRejected, NotFound, ServiceUnavailable
from dueprocess.services.policyfile import load_policy_file
from dueprocess.workflows.retention import RETENTION_WORKFLOW, member_retention_workflow_id

from .conftest import Api

OFFICER = Actor(id="officer-1", role="case_officer")


def _client(api: Api, **kwargs: Any) -> ApiClient:
    """A client acting, for each command, as its actor (a token each), reading as the
    case officer."""
    def token(actor: Actor | None) -> str:
        who = actor or OFFICER
        return api.token(who.id, who.role, system=who.kind != ActorKind.PERSON)

    return ApiClient(api.url, token, **kwargs)


async def _story(api: Api, client: ApiClient) -> Story:
    async def clock() -> datetime:
        return await api.env.get_current_time()

    return Story(client, load_policy_file(None), clock=clock)


async def test_a_case_driven_through_the_client_interface(api: Api) -> None:
    async with _client(api) as client:
        # given a story told through the HTTP client
        story = await _story(api, client)
        story.officer = OFFICER
        # when the report is filed twice with one key, then worked on
        first = await story.file()
        again = await story.file()
        await story.acknowledge_and_investigate()
        await story.notify_and_disclose()
        # then one case, at the stage the commands took it to, read through the API
        assert again.case_id == first.case_id and again.events == []
        state = await client.state(story.case_id)
        assert state.stage == dc.CaseStage.NOTICE_ISSUED
        assert state.investigator_id == story.p.investigator
        assert await client.deadlines(story.case_id)
        # and every event carries the principal the token named
        events = await api.store.read_stream(f"case-{story.case_id}")
        assert {(e.actor.id, e.principal.subject) for e in events if e.principal} >= {
            (story.p.intake, story.p.intake), (OFFICER.id, OFFICER.id)}


async def test_refusals_arrive_as_the_clients_typed_errors(api: Api) -> None:
    async with _client(api) as client:
        story = await _story(api, client)
        story.officer = OFFICER
        await story.file()
        # a business rejection names the rule and the field
        with pytest.raises(CommandRejected) as rejected:
            await story.appoint_panel()
        assert rejected.value.rule and rejected.value.details["status"] == 422
        # an unknown case is NotFound
        with pytest.raises(NotFound):
            await client.state("no-such-case")
        with pytest.raises(NotFound):
            await client.send("no-such-case", dc.AcknowledgeReport(
                actor=OFFICER, authority="s.3.2"))
    # a token the API refuses is Unauthenticated
    async with ApiClient(api.url, "not-a-token") as stranger:
        with pytest.raises(Unauthenticated):
            await stranger.state("any")
    # nothing listening is ServiceUnavailable
    async with ApiClient("http://127.0.0.1:9", "t", timeout=5) as nowhere:
        with pytest.raises(ServiceUnavailable):
            await nowhere.state("any")


async def test_a_membership_fact_carries_the_authenticated_principal(api: Api) -> None:
    async with _client(api) as client:
        # when the intake service records a join through the API
        fact = RecordJoined(actor=Actor(id="crm", role="intake", kind=ActorKind.SYSTEM),
                            authority="membership register", membership_number="M-1",
                            joined_on=date(2015, 3, 1))
        written = await client.record_fact("m-1", fact)
        # then the event's envelope names the token's issuer and subject and the request
        assert [e["event_type"] for e in written] == ["MemberJoined"]
        [event] = await api.store.read_stream(member_stream("m-1"))
        assert event.principal is not None
        assert (event.principal.issuer, event.principal.subject) == (api.issuer.url, "crm")
        assert event.principal.auth_method == "client_credentials"
        assert event.principal.request_id and event.principal.token_id


async def test_a_resignation_through_the_api_starts_the_memberships_retention_timer(
        api: Api) -> None:
    crm = Actor(id="crm", role="intake", kind=ActorKind.SYSTEM)
    async with _client(api) as client:
        # given a member
        await client.record_fact("m-2", RecordJoined(
            actor=crm, authority="membership register", membership_number="M-2",
            joined_on=date(2015, 3, 1)))
        # when their resignation is recorded through the API
        await client.record_fact("m-2", RecordResigned(
            actor=crm, authority="membership register", in_protest=False))
    # then the membership's durable timer runs, due the rulebook's period after the end
    [ended] = [e for e in await api.store.read_stream(member_stream("m-2"))
               if e.event_type == "MemberResigned"]
    handle = api.env.client.get_workflow_handle(
        member_retention_workflow_id("m-2", ended.effective_at))
    assert (await handle.describe()).workflow_type == RETENTION_WORKFLOW


async def test_a_raw_http_client_can_be_shared(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        client = ApiClient(api.url, api.token("aud-1", "auditor"), http=http)
        with pytest.raises(NotFound):
            await client.deadlines("nothing-here")
        await client.aclose()  # leaves the shared client open
        assert not http.is_closed
