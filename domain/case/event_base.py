"""The base of every case event (domain/case/events.py and record_events.py)."""

from __future__ import annotations

from pydantic import AwareDatetime

from ..base import EventBase


class CaseEventBase(EventBase):
    effective_at: AwareDatetime
