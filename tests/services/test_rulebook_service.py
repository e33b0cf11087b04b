"""Publishing the rulebook into a real event store."""

from __future__ import annotations

import asyncio

from dueprocess.domain.base import Actor
from dueprocess.domain.rulebook import RULEBOOK_STREAM
from dueprocess.services.identity import operator_actor, operator_principal, os_user
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.rulebook import EMBEDDED_PUBLISHER, RulebookService
from dueprocess.store.eventstore import EventStore

ADMIN = Actor(id="ops-alice", role="policy_admin")


async def test_published_versions_are_events_naming_the_publisher(store: EventStore) -> None:
    service = RulebookService(store)
    assert await service.current() is None
    published = await service.publish(load_policy_file(None), ADMIN, "NEC 2025/1")
    assert [e.version.version for e in published] == ["2009.1", "2019.1", "2023.1"]
    events = await store.read_stream(RULEBOOK_STREAM)
    assert {(e.event_type, e.actor.id, e.actor.role, e.authority) for e in events} == {
        ("PolicyVersionPublished", "ops-alice", "policy_admin", "NEC 2025/1")}
    assert await service.current() == load_policy_file(None)


async def test_racing_publishers_of_one_file_publish_it_once(store: EventStore) -> None:
    services = [RulebookService(store) for _ in range(3)]
    await asyncio.gather(*(s.publish(load_policy_file(None), ADMIN, "NEC") for s in services))
    assert len(await store.read_stream(RULEBOOK_STREAM)) == len(load_policy_file(None).versions)


async def test_the_sample_is_published_only_when_nothing_is(store: EventStore) -> None:
    service = RulebookService(store)
    first = await service.publish_sample_if_none()
    assert {e.actor for e in first} == {EMBEDDED_PUBLISHER}
    assert await service.publish_sample_if_none() == []


async def test_an_operator_publishes_as_the_os_user_and_says_how(store: EventStore) -> None:
    # given the operator of `dueprocess policy publish` (direct database access, no token)
    actor = operator_actor("policy_admin")
    # when they publish
    await RulebookService(store).publish(load_policy_file(None), actor, "NEC 2025/1",
                                         principal=operator_principal())
    # then each event names the OS user and that the OS account identified them
    events = await store.read_stream(RULEBOOK_STREAM)
    assert {e.actor.id for e in events} == {os_user()}
    assert {(e.principal.subject, e.principal.auth_method) for e in events
            if e.principal} == {(os_user(), "os-user")}
    assert len(events) == len(load_policy_file(None).versions)
