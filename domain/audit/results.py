"""Building check results: faults with their culprit events, and the wording helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..case.values import Sanction
from ..envelope import RecordedEvent
from ..policy import Right
from .context import Entry
from .model import TITLES, CheckResult, CheckStatus, EventRef


def event_ref(record: RecordedEvent) -> EventRef:
    return EventRef(event_id=record.event_id, stream_version=record.stream_version,
                    event_type=record.event_type)


@dataclass
class Faults:
    """What is wrong, and with which events, gathered while a check walks the history."""

    lines: list[str] = field(default_factory=list)
    refs: list[EventRef] = field(default_factory=list)

    def add(self, text: str, *culprits: Entry[Any] | RecordedEvent) -> None:
        self.lines.append(text)
        for culprit in culprits:
            ref = event_ref(culprit if isinstance(culprit, RecordedEvent) else culprit.record)
            if ref not in self.refs:
                self.refs.append(ref)

    def result(self, check_id: str, passed: str) -> CheckResult:
        if not self.lines:
            return check_result(check_id, CheckStatus.PASS, passed)
        return check_result(check_id, CheckStatus.FAIL, "; ".join(self.lines),
                            sorted(self.refs, key=lambda r: r.stream_version))


def check_result(check_id: str, status: CheckStatus, explanation: str,
                 offending: list[EventRef] | None = None) -> CheckResult:
    return CheckResult(check_id=check_id, title=TITLES[check_id], status=status,
                       explanation=explanation, offending=offending or [])


def not_applicable(check_id: str, why: str) -> CheckResult:
    return check_result(check_id, CheckStatus.NOT_APPLICABLE, why)


def iso(value: datetime) -> str:
    return value.isoformat()


def span(value: timedelta) -> str:
    days, seconds = value.days, value.seconds
    hours = seconds // 3600
    if days and hours:
        return f"{days}d {hours}h"
    return f"{days}d" if days else f"{hours}h"


def sanction_text(sanction: Sanction | None) -> str:
    if sanction is None:
        return "none"
    return sanction.kind.value + (f" for {span(sanction.term)}" if sanction.term else "")


def rights_text(rights: Sequence[Right] | frozenset[Right]) -> str:
    return ", ".join(sorted(r.value for r in rights)) or "no rights"
