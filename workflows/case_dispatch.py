"""The case workflow's notices: each event's letters, taken by the local append that
records the event when its worker relays them (patch notices-in-append; queued in the
outbox and posted beside by the worker's notice relay or a relay process), else sent by an
activity that runs beside the next decision (a case never waits on a remote post), and
the tasks still running, so a run drains them before it hands over or completes. A failed
dispatch leaves its outbox row unsent, for operators to see; the case goes on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ..activities import contracts
    from ..activities.contracts import DISPATCH_NOTIFICATIONS, DispatchInput
    from ..domain import case as dc
    from .case_contracts import DISPATCH_GIVE_UP, DISPATCH_RETRY, ESCALATION_NOTICE_PATCH


class Dispatches:
    """The notification activities a case run has started and not yet seen finish."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    @property
    def idle(self) -> bool:
        return not self._running

    def send(self, case_id: str, state: dc.CaseState, event_id: UUID, event: dc.CaseEvent,
             now: datetime) -> None:
        """Start dispatching the notices ``event`` gives rise to on ``state``, if any."""
        if (request := notices(case_id, state, event_id, event, now)) is not None:
            self.start(request)

    def start(self, request: DispatchInput) -> None:
        """Dispatch one event's notices with the activity, beside the case."""
        task = asyncio.ensure_future(workflow.execute_activity(
            DISPATCH_NOTIFICATIONS, request,
            start_to_close_timeout=timedelta(minutes=2),
            schedule_to_close_timeout=DISPATCH_GIVE_UP,
            retry_policy=DISPATCH_RETRY,
        ))
        self._running.add(task)
        task.add_done_callback(self._done)

    def start_unposted(self, notices: list[DispatchInput], posted: set[UUID]) -> None:
        """Dispatch the notices the append did not post (case_helpers.append)."""
        for request in notices:
            if request.caused_by not in posted:
                self.start(request)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            workflow.logger.warning("notification dispatch gave up: %s", task.exception())


@dataclass(frozen=True)
class Folded:
    """A decision's events folded before they are recorded, and the notices they call for."""

    state: dc.CaseState
    notices: list[DispatchInput]


def fold_with_notices(case_id: str, state: dc.CaseState, ids: list[UUID],
                      events: list[dc.CaseEvent], now: datetime) -> Folded:
    """``evolve`` over the events, with each one's notices on the state it made."""
    found: list[DispatchInput] = []
    for event_id, event in zip(ids, events, strict=True):
        state = dc.evolve(state, event)
        if (request := notices(case_id, state, event_id, event, now)) is not None:
            found.append(request)
    return Folded(state, found)


def notices(case_id: str, state: dc.CaseState, event_id: UUID, event: dc.CaseEvent,
            now: datetime) -> DispatchInput | None:
    """The notices ``event`` gives rise to on ``state`` (the state it made), if any."""
    notes = dc.notifications_for(state, event, str(event_id))
    if not notes:
        return None
    # Asked only for a miss's notice, so histories without one replay unchanged.
    if isinstance(event, dc.DeadlineMissed | dc.DataCollectionNoticeMissed) \
            and not workflow.patched(ESCALATION_NOTICE_PATCH):
        return None
    return dispatch_input(case_id, event_id, now, notes)


def dispatch_input(case_id: str, event_id: UUID, now: datetime,
                   notes: list[dc.Notification]) -> DispatchInput:
    info = workflow.info()
    return contracts.dispatch_input(case_id, event_id, now, notes, info.workflow_id, info.run_id)
