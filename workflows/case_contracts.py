"""What the case workflow (workflows/case.py) shares with its callers and keeps fixed across
its histories: its name, the Update's request and result, how a rejection travels, the
activity retry policies, and the patch ids recorded in histories (never renamed)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from ..activities.contracts import NON_RETRYABLE
from ..domain import case as dc
from ..domain.base import DomainError, Model
from ..domain.envelope import PrincipalRecord

CASE_WORKFLOW = "CaseWorkflow"
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=NON_RETRYABLE,
)
# A decision holds the case's lock while it is recorded: give up (and say so) rather than
# block every later decision and deadline behind an unreachable database.
STORE_GIVE_UP = timedelta(minutes=10)
# Notices are retried for hours, then left unsent in the outbox for an operator: one
# undeliverable address must not keep a closed case's workflow open for ever.
DISPATCH_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=40)
DISPATCH_GIVE_UP = timedelta(hours=6)
# Histories recorded before this patch filed reports under the rulebook the caller sent.
PUBLISHED_RULEBOOK_PATCH = "published-rulebook"
# Histories recorded before this patch held no timer for GDPR Art 14 notices.
DATA_COLLECTION_NOTICE_PATCH = "data-collection-notice-timer"
# Histories recorded before this patch held no timer for scheduling the hearing.
SCHEDULE_HEARING_PATCH = "schedule-hearing-deadline"
# Histories recorded before this patch held no timers for the triage, investigation,
# decision-after-hearing and appeal-decision deadlines.
STAGE_DEADLINES_PATCH = "stage-deadlines"
# DSA Art 23: reading a reporter's record after a report or an unfounded dismissal, and
# the hold-end timer. Asked only under a rulebook with repeat_reporting.
REPEAT_REPORTER_PATCH = "repeat-reporter"
# GDPR storage limitation: a closed case starts its retention timer (a child workflow).
RETENTION_PATCH = "retention-timer"
# Histories recorded before this patch published no search attributes (workflows/
# search_attributes.py); their cases publish them from their next continue-as-new.
SEARCH_ATTRIBUTES_PATCH = "case-search-attributes"
# Histories recorded before this patch appended a decision's events with a regular activity
# (its completion waited on a second workflow task); since, a local activity that adopts a
# batch an earlier, lost workflow task recorded (workflows/case_helpers.py append).
LOCAL_APPEND_PATCH = "local-append-activity"
# A closed case's workflow, started again for a command sent after closure (a correction,
# issue 15), completes once no command has come for this long: closed cases stay uncached.
CLOSED_CASE_IDLE = timedelta(minutes=10)
# The type of the refusal a run gives while it completes (after its last decision): the
# client waits for that run to end, then starts the case again (services/client.py).
RUN_ENDING = "CaseRunEnding"
# ACAS 19-22: a decision reads the respondent's prior sanctions (an activity) and weighs
# those still current; histories recorded before it decided without reading them.
PRIOR_SANCTIONS_PATCH = "prior-sanctions"
# Issue 15: a missed deadline's escalation sends a staff notice to the role it names, and
# DueProcessOverdue stays true for every escalated miss still outstanding; histories
# recorded before it dispatched nothing for a miss and flagged only two kinds.
ESCALATION_NOTICE_PATCH = "escalation-notice"
# Issue 14: a decision's notices, composed before its append, are taken by the local
# append once it has committed the batch (when its worker relays them: queued in the
# outbox, posted beside by services/notice_relay.py, in the worker or a relay process);
# histories recorded
# before it dispatched every event's notices with an activity after the append.
NOTICES_IN_APPEND_PATCH = "notices-in-append"
# Issue 14: the next deadline's timer is kept across decisions that leave it unchanged
# (workflows/case_timer.py); histories recorded before it started one per decision.
KEPT_DEADLINE_TIMER_PATCH = "kept-deadline-timer"


class CommandRequest(Model):
    command: dc.CaseCommand
    correlation_id: str | None = None
    causation_id: str | None = None  # e.g. the back-office request id
    # Who was authenticated for this command (the API's verified token); copied into
    # every event it records. None for the workflow's own timers and direct clients.
    principal: PrincipalRecord | None = None


class DecisionResult(Model):
    case_id: str
    version: int
    event_ids: list[UUID]
    events: list[dc.CaseEvent]


def run_ending() -> ApplicationError:
    """Refusal of a command that reached a run completing: not the case's answer, so the
    client sends it again to the case's next run (its run id names the one to wait for)."""
    info = workflow.info()
    return ApplicationError(
        "the case's workflow run is completing: the command goes to its next run",
        {"type": RUN_ENDING, "rule": "recorded-or-rejected", "field": None,
         "run_id": info.run_id},
        type=RUN_ENDING, non_retryable=True)


def rejection(err: DomainError) -> ApplicationError:
    """A business rejection as Temporal carries it: stable type name, details for clients."""
    return ApplicationError(err.message, err.details(), type=err.error_type, non_retryable=True)
