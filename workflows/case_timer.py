"""The case workflow's timer for its next deadline, kept while the deadline stays the same.

Before patch kept-deadline-timer the run loop waited with ``wait_condition(timeout=...)``,
so every decision cancelled the timer and started another for the same instant: two
history events, a timer task written and deleted by the server, per decision (issue 14).
Now a decision that leaves the next deadline where it was keeps its timer: the demo's
eight decisions started 9 timers and cancelled 8 before, 4 and 3 now."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ..domain import case as dc
    from .case_contracts import KEPT_DEADLINE_TIMER_PATCH
    from .case_helpers import deadline_key, seconds_until


class DeadlineTimer:
    def __init__(self) -> None:
        self._key: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def wait(self, deadline: dc.Deadline | None, condition: Callable[[], bool]) -> bool:
        """Until ``condition`` holds (False) or ``deadline`` is due (True)."""
        if not workflow.patched(KEPT_DEADLINE_TIMER_PATCH):
            try:
                await workflow.wait_condition(
                    condition, timeout=seconds_until(deadline.due_at) if deadline else None)
            except TimeoutError:
                return True
            return False
        self._arm(deadline)
        await workflow.wait_condition(lambda: condition() or self._due())
        if condition():  # as before: a change (or the end) wins over a timer due with it
            return False
        self._task, self._key = None, None
        return True

    def cancel(self) -> None:
        """Before the run hands over or completes."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task, self._key = None, None

    def _arm(self, deadline: dc.Deadline | None) -> None:
        key = deadline_key(deadline) if deadline else None
        if key == self._key and self._task is not None and not self._task.done():
            return  # the same deadline: its timer runs on
        self.cancel()
        if deadline is not None:
            self._key = key
            self._task = asyncio.ensure_future(workflow.sleep(seconds_until(deadline.due_at)))

    def _due(self) -> bool:
        return self._task is not None and self._task.done() and not self._task.cancelled()
