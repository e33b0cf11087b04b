"""The stored envelope of an event: what every event in the log carries.

Pure models so workflows can build envelopes and pass them to the append activity.

Envelope shapes (a key absent from a stored envelope reads as ``None``, so older events
upcast by reading, and their stored bytes and hash chain stay exactly what they were):
1. the original envelope;
2. ``principal``: how the actor was authenticated;
3. ``imported``: the provenance of an event imported from a history recorded elsewhere,
   with the time the organisation originally knew the fact *as asserted by the source*.
   Events without it are "not asserted": their knowledge time is ``recorded_at``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import Field, field_validator

from .base import Actor, EventBase, Model


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{field} must carry a time zone (UTC recommended)")
    # Stored in UTC; converting once here keeps the append path from doing it per write.
    return value.astimezone(UTC)


class PrincipalRecord(Model):
    """How the actor of an event was authenticated: the verified token's issuer, subject,
    token id, authentication time and method, and the request that carried it. Events
    recorded before this was kept (or by the workflow's own timers) have none."""

    issuer: str
    subject: str
    token_id: str | None = None
    auth_time: datetime | None = None
    auth_method: str | None = None
    request_id: str | None = None

    @field_validator("auth_time")
    @classmethod
    def _auth_tz(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value, "auth_time")


class ImportRecord(Model):
    """Where an imported event came from. ``recorded_at`` stays the time dueprocess
    recorded it; ``known_at`` is the time the organisation originally knew the fact as
    the source asserts it (None: the source asserts none, so it is known from its
    effective time)."""

    source: str = Field(min_length=1)  # the system or register the history came from
    import_id: str = Field(min_length=1)  # one run of `dueprocess import`
    record: str = Field(min_length=1)  # the record in the import file, e.g. cases[0].steps[2]
    importer: Actor  # the operator who ran the import
    known_at: datetime | None = None
    # A deadline that fell due before the import, acted on by the importer at its due
    # time (a historical miss, an appeal window closed...), never fired on import day.
    historical_deadline: bool = False

    @field_validator("known_at")
    @classmethod
    def _known_tz(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value, "known_at")


class NewEvent(Model):
    """An event to append. ``payload`` is the event's JSON form, personal data in clear
    (``{"pii": true, "subject_id": ..., "value": ...}`` objects); the store encrypts it."""

    event_id: UUID
    event_type: str = Field(min_length=1)
    schema_version: int = Field(default=1, ge=1)
    payload: dict[str, Any]
    actor: Actor
    authority: str = Field(min_length=1)
    recorded_at: datetime
    effective_at: datetime
    correlation_id: str | None = None
    causation_id: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    principal: PrincipalRecord | None = None  # None: not recorded (older events, timers)
    imported: ImportRecord | None = None  # None: recorded here, not imported (see above)

    @field_validator("recorded_at", "effective_at")
    @classmethod
    def _tz(cls, value: datetime, info: Any) -> datetime:
        return _aware(value, info.field_name)

    @property
    def known_at(self) -> datetime:
        """Knowledge time: when the organisation knew the fact. For an imported event the
        source's asserted time (else its effective time); otherwise ``recorded_at``."""
        if self.imported is None:
            return self.recorded_at
        return self.imported.known_at or self.effective_at

    @property
    def asserted(self) -> bool:
        """Whether the knowledge time is asserted by an import source, not recorded here."""
        return self.imported is not None


def envelope_for(
    event: EventBase, *, event_id: UUID, recorded_at: datetime,
    principal: PrincipalRecord | None = None, imported: ImportRecord | None = None,
    **metadata: str | None,
) -> NewEvent:
    """The stored envelope of a domain event: who, on what authority and when come from
    the event itself, so the envelope can never disagree with it."""
    return NewEvent(
        event_id=event_id,
        event_type=event.type,
        schema_version=type(event).schema_version,
        payload=event.model_dump(mode="json"),
        actor=event.actor,
        authority=event.authority,
        recorded_at=recorded_at,
        effective_at=event.effective_at,
        principal=principal,
        imported=imported,
        **metadata,  # correlation, causation, workflow and run ids
    )


class Position(Model):
    """A point in the global order: (writing transaction, position). Readers resume
    strictly after it. The zero position is before every event."""

    tx_id: int = 0
    global_position: int = 0


class RecordedEvent(NewEvent):
    stream_id: str
    stream_version: int
    position: Position
    hash: str  # hex SHA-256 chain value after this event


class AppendResult(Model):
    stream_id: str
    version: int  # stream version after the append
    global_positions: list[int]
