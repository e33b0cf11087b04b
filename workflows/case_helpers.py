"""Helpers of the case workflow (workflows/case.py), run inside it: the envelope of each
event it records, how it appends them, the dispatch request for an event's notices, and
which deadlines it keeps timers for (patch-gated, so older histories replay unchanged)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from ..activities.contracts import (
    APPEND_EVENTS,
    LOAD_RULEBOOK,
    NO_PUBLISHED_RULEBOOK,
    AppendInput,
    AppendOutcome,
    LoadedRulebook,
)
from ..domain import case as dc
from ..domain.base import PolicyViolation
from ..domain.envelope import AppendResult, NewEvent, envelope_for
from ..domain.policy import PolicyDocument
from ..domain.rulebook import CALLER_RULEBOOK_RULE
from .case_contracts import (
    DATA_COLLECTION_NOTICE_PATCH,
    LOCAL_APPEND_PATCH,
    REPEAT_REPORTER_PATCH,
    SCHEDULE_HEARING_PATCH,
    STAGE_DEADLINES_PATCH,
    STORE_GIVE_UP,
    STORE_RETRY,
    CommandRequest,
    rejection,
)

_APPEND_TIMEOUT = timedelta(seconds=30)


async def append(
    request: AppendInput, events: list[dc.CaseEvent]
) -> tuple[AppendResult, list[dc.CaseEvent], set[UUID]]:
    """Record a decision's events; returns the result, the events to fold, and the events
    whose notices the append posted (``request.notices``; the caller dispatches the rest).

    Since LOCAL_APPEND_PATCH a local activity: this worker runs it inside the workflow
    task, so a decision no longer waits for the server to dispatch a second workflow task
    after an activity completes (issue 14). Measured with h-bench's bench/decisions.py
    (dev server, 200 idle decisions, 512 with 16 callers; 2 cores shared at load 5-7):
    idle p50 60.8 ms before, 41.4 ms after, against a no-op Update's 17.5 / 16.1 ms (3.5x
    -> 2.6x); with 16 callers 522 -> 380 ms (4.3x -> 2.9x the no-op's).

    Exactly once: retries inside the task resend the same bytes (the store recognises its
    stored batch). But a local activity's input is not in history: if the task that ran it
    is lost (worker killed before completing it), the next task decides again with a new
    ``workflow.now()``: the same event ids (workflow.uuid4 replays) with other
    recorded_at/effective_at. Deriving the times from something stable instead does not
    work: an Update leaves no trace in history until the task that accepts it completes,
    and a timer's command is acted on at the task's time too. So the append adopts: the
    store returns the batch it holds under these ids (``adopt_stored``), and the workflow
    folds THOSE events, so its state is the record's, never the rebuilt timestamps. Should
    the new task decide otherwise (other events, or a rejection), the stored batch is not
    this one: the next append conflicts and the case is reloaded from the store (case.py).
    """
    if not workflow.patched(LOCAL_APPEND_PATCH):
        remote: AppendResult = await workflow.execute_activity(
            APPEND_EVENTS, request, result_type=AppendResult,
            start_to_close_timeout=_APPEND_TIMEOUT, schedule_to_close_timeout=STORE_GIVE_UP,
            retry_policy=STORE_RETRY)
        return remote, events, set()
    local: AppendOutcome = await workflow.execute_local_activity(
        APPEND_EVENTS, request.model_copy(update={"adopt_stored": True}),
        result_type=AppendOutcome, start_to_close_timeout=_APPEND_TIMEOUT,
        schedule_to_close_timeout=STORE_GIVE_UP, retry_policy=STORE_RETRY)
    if local.adopted is None:
        return local, events, set(local.posted)
    return local, [dc.CASE_EVENT_ADAPTER.validate_python(p) for p in local.adopted], set()


# What the Update's validator decided: the request, the state and time it judged, the events.
Validated = tuple[CommandRequest, dc.CaseState, datetime, list[dc.CaseEvent]]


def decided(validated: Validated | None, request: CommandRequest, state: dc.CaseState,
            command: dc.CaseCommand, now: datetime) -> list[dc.CaseEvent]:
    """The validator's events when it judged this request on this state at this time (the
    handler runs in the validator's activation unless it queued behind another decision),
    else decide(): one decide() per decision, not two. decide() is pure and replay runs no
    validators, so the handler's events, and history, are the same either way."""
    # Equal, not identical: the SDK decodes the request again for the handler.
    if validated is not None and validated[1] is state and validated[2] == now \
            and command is request.command and validated[0] == request:
        return validated[3]
    return dc.decide(state, command, now)


def case_envelope(
    case_id: str, event_id: UUID, event: dc.CaseEvent, now: datetime, request: CommandRequest
) -> NewEvent:
    info = workflow.info()
    return envelope_for(
        event,
        event_id=event_id,
        recorded_at=now,
        principal=request.principal,
        correlation_id=request.correlation_id or case_id,
        causation_id=request.causation_id,
        workflow_id=info.workflow_id,
        run_id=info.run_id,
    )


STAGE_DEADLINES = frozenset({dc.DeadlineKind.TRIAGE, dc.DeadlineKind.INVESTIGATION,
                             dc.DeadlineKind.DECIDE_AFTER_HEARING, dc.DeadlineKind.DECIDE_APPEAL})


def timer_in_use(deadline: dc.Deadline | dc.PendingDue) -> bool:
    # Asked only when such a deadline exists, so older histories replay unchanged.
    if deadline.kind is dc.DeadlineKind.DATA_COLLECTION_NOTICE:
        return workflow.patched(DATA_COLLECTION_NOTICE_PATCH)
    if deadline.kind is dc.DeadlineKind.SCHEDULE_HEARING:
        return workflow.patched(SCHEDULE_HEARING_PATCH)
    if deadline.kind in STAGE_DEADLINES:
        return workflow.patched(STAGE_DEADLINES_PATCH)
    if deadline.kind is dc.DeadlineKind.HOLD_END:
        return workflow.patched(REPEAT_REPORTER_PATCH)
    return True


def seconds_until(due_at: datetime) -> float:
    return max((due_at - workflow.now()).total_seconds(), 0.001)


def history_too_long(limit: int | None) -> bool:
    """Whether to continue as new: past ``limit`` events, else when Temporal suggests."""
    info = workflow.info()
    if limit is not None:
        return info.get_current_history_length() > limit
    return info.is_continue_as_new_suggested()


def deadline_key(deadline: dc.Deadline | dc.PendingDue) -> str:
    return f"{deadline.kind}@{deadline.due_at.isoformat()}"


def _cause(err: FailureError) -> BaseException | None:
    # A regular activity's failure arrives as an ActivityError wrapping the activity's
    # error; a local activity's (this SDK) as the activity's error itself.
    return err.cause if isinstance(err, ActivityError) else err


def is_conflict(err: FailureError) -> bool:
    cause = _cause(err)
    return isinstance(cause, ApplicationError) and cause.type == "ConcurrencyConflict"


def append_rejection(err: FailureError) -> ApplicationError:
    """The clear, non-retryable rejection of a decision whose events were not recorded."""
    cause = _cause(err)
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else None
    if kind == "ConcurrencyConflict":
        return ApplicationError(
            "the case's record changed outside this workflow; the case was reloaded "
            "from the event store: review it and send the command again",
            {"type": kind, "rule": "single-writer", "field": None, "message": str(cause)},
            type=kind, non_retryable=True,
        )
    return ApplicationError(
        f"the decision was not recorded: {cause or err}",
        {"type": kind or "StoreUnavailable", "rule": "recorded-or-rejected",
         "field": None, "message": str(cause or err)},
        type=kind or "StoreUnavailable", non_retryable=True,
    )


async def published_rulebook() -> PolicyDocument:
    """The organisation's published rulebook, read when a report arrives."""
    try:
        loaded: LoadedRulebook = await workflow.execute_activity(
            LOAD_RULEBOOK, result_type=LoadedRulebook,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=STORE_GIVE_UP, retry_policy=STORE_RETRY,
        )
    except ActivityError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == NO_PUBLISHED_RULEBOOK:
            raise rejection(PolicyViolation(cause.message, rule=CALLER_RULEBOOK_RULE,
                                            field="policy")) from None
        raise ApplicationError(
            f"the report was not filed: the published rulebook could not be read: "
            f"{cause or err}",
            {"type": "StoreUnavailable", "rule": "recorded-or-rejected", "field": None,
             "message": str(cause or err)},
            type="StoreUnavailable", non_retryable=True,
        ) from None
    return loaded.policy
