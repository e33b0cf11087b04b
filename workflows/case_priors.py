"""Prior sanctions (ACAS Code paras 19-22) in the case workflow: before a decision is
decided, read the respondent's sanctions from their recorded cases (an activity, so the
history keeps what was read) and hand them to decide() with the decision.

Behind PRIOR_SANCTIONS_PATCH, so histories recorded before it replay unchanged. The
validator cannot run an activity: it judges the decision without its priors (and without
the priors it cites), and the handler judges it again with them.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from ..activities.contracts import (
    LOAD_RESPONDENT_RECORD,
    LoadedRespondentRecord,
    RespondentRecordInput,
)
from ..domain import case as dc
from ..domain.rules.priors import PRIORS_READ_BY_ENGINE
from .case_contracts import PRIOR_SANCTIONS_PATCH, STORE_GIVE_UP, STORE_RETRY, rejection


def refuse_caller_priors(command: dc.CaseCommand) -> None:
    """A caller never supplies the respondent's record: the engine reads it."""
    if isinstance(command, dc.RecordDecision) and command.respondent_record is not None:
        raise rejection(PRIORS_READ_BY_ENGINE.refuse(
            "the respondent's prior sanctions are read from the record by the engine, not "
            "sent with the decision", field="respondent_record"))


def for_validation(state: dc.CaseState, command: dc.CaseCommand) -> dc.CaseCommand:
    """The decision as the validator can judge it: without the priors it cites, which only
    the handler can check against the record it reads (a decision sent again after it was
    recorded is judged as sent: decide() finds it already done)."""
    refuse_caller_priors(command)
    if isinstance(command, dc.RecordDecision) and command.aggravating_priors \
            and state.decision is None:
        return command.model_copy(update={"aggravating_priors": []})
    return command


async def with_prior_sanctions(state: dc.CaseState, command: dc.CaseCommand) -> dc.CaseCommand:
    """The decision with the respondent's record read for it (other commands unchanged)."""
    if not isinstance(command, dc.RecordDecision):
        return command
    refuse_caller_priors(command)
    respondent = state.respondent
    if respondent is None or state.decision is not None \
            or not workflow.patched(PRIOR_SANCTIONS_PATCH):
        return command  # nothing to decide on yet, or already decided: decide() says which
    try:
        loaded: LoadedRespondentRecord = await workflow.execute_activity(
            LOAD_RESPONDENT_RECORD, RespondentRecordInput(respondent_id=respondent.person_id),
            result_type=LoadedRespondentRecord, start_to_close_timeout=timedelta(seconds=60),
            schedule_to_close_timeout=STORE_GIVE_UP, retry_policy=STORE_RETRY)
    except ActivityError as err:
        # A decision is never taken on a guess about the respondent's record.
        raise ApplicationError(
            f"the decision was not recorded: the respondent's prior sanctions could not be "
            f"read: {err.cause or err}",
            {"type": "StoreUnavailable", "rule": "recorded-or-rejected", "field": None,
             "message": str(err.cause or err)},
            type="StoreUnavailable", non_retryable=True) from None
    return command.model_copy(update={"respondent_record": loaded.record})
