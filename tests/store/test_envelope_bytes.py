"""The stored bytes of an envelope: the fast encoding equals the canonical one, always.

A retried append is recognised by comparing bytes, and the hash chain is over them, so
a faster encoder may never write anything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from dueprocess.domain.base import Actor, ActorKind
from dueprocess.domain.encoding import canonical_json
from dueprocess.domain.envelope import NewEvent, PrincipalRecord
from dueprocess.store import crypto
from dueprocess.store.eventstore import envelope_bytes, envelope_document
from hypothesis import given
from hypothesis import strategies as st

_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text()
            | st.floats(allow_nan=False, allow_infinity=False))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)
_optional = st.none() | st.text()


@st.composite
def _events(draw: st.DrawFn) -> NewEvent:
    when = draw(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])))
    return NewEvent(
        event_id=draw(st.uuids()),
        event_type=draw(st.text(min_size=1)),
        schema_version=draw(st.integers(1, 2**31)),
        payload=draw(st.dictionaries(st.text(), _json, max_size=5)),
        actor=Actor(id=draw(st.text(min_size=1).filter(str.strip)),
                    role=draw(st.text(min_size=1).filter(str.strip)),
                    kind=draw(st.sampled_from(list(ActorKind)))),
        authority=draw(st.text(min_size=1)),
        recorded_at=when,
        effective_at=draw(st.datetimes(timezones=st.just(UTC))),
        correlation_id=draw(_optional),
        causation_id=draw(_optional),
        workflow_id=draw(_optional),
        run_id=draw(_optional),
        principal=draw(st.none() | st.builds(
            PrincipalRecord, issuer=st.text(), subject=st.text(), token_id=_optional,
            auth_time=st.none() | st.datetimes(timezones=st.just(UTC)),
            auth_method=_optional, request_id=_optional)),
    )


@given(_events(), st.text(), st.integers(1, 2**62))
def test_envelope_bytes_are_the_canonical_bytes(
    event: NewEvent, stream_id: str, version: int
) -> None:
    doc = envelope_document(stream_id, version, event, event.payload)
    assert envelope_bytes(stream_id, version, event, event.payload) == canonical_json(doc)


def test_the_envelope_is_built_with_its_keys_sorted() -> None:
    event = NewEvent(
        event_id=UUID(int=1), event_type="E", payload={}, actor=Actor(id="a", role="r"),
        authority="rule", recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        effective_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    doc: dict[str, Any] = envelope_document("s", 1, event, {})
    assert list(doc) == sorted(doc)
    assert list(doc["actor"]) == sorted(doc["actor"])


def test_shapes_orjson_refuses_take_the_canonical_path() -> None:
    event = NewEvent(
        event_id=UUID(int=2), event_type="E", payload={"n": 2**70, "m": {1: "x"}},
        actor=Actor(id="a", role="r"), authority="rule",
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        effective_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert envelope_bytes("s", 1, event, event.payload) == canonical_json(
        envelope_document("s", 1, event, event.payload))


@given(st.uuids())
def test_uuid_text_is_str(value: UUID) -> None:
    assert crypto.uuid_text(value) == str(value)
