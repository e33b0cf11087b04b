"""The rulebook activity: a case workflow reads the published rulebook through it."""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from .contracts import LOAD_RULEBOOK, NO_PUBLISHED_RULEBOOK, LoadedRulebook, RulebookSource


class RulebookActivities:
    """``source`` is the published rulebook (``RulebookService.current``); the demo's own
    worker passes one with its deadlines compressed, on a task queue of its own."""

    def __init__(self, source: RulebookSource) -> None:
        self._source = source

    @activity.defn(name=LOAD_RULEBOOK)
    async def load_rulebook(self) -> LoadedRulebook:
        try:
            policy = await self._source()
        except ValidationError as err:  # stored data no retry can mend: say so at once
            raise ApplicationError(f"the published rulebook cannot be read: {err}",
                                   type="RulebookUnreadable", non_retryable=True) from err
        if policy is None:
            raise ApplicationError(
                "no rulebook is published: a policy administrator must publish one "
                "(`dueprocess policy publish FILE`) before reports can be filed",
                type=NO_PUBLISHED_RULEBOOK, non_retryable=True)
        return LoadedRulebook(policy=policy)
