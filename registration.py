"""What a worker runs: every workflow class and every activity, bound to its resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .activities.notifications import FileSink, NotificationActivities, Sink, SmtpSink
from .activities.projections import (
    CaseListProjection,
    MemberStandingProjection,
    Projection,
    ProjectionRunner,
)
from .activities.store_activities import EventStoreActivities
from .domain.policy import PolicyDocument
from .policyfile import load_policy_file
from .workflows.case import CaseWorkflow

if TYPE_CHECKING:
    from .worker import Runtime


def workflow_classes() -> list[type]:
    return [CaseWorkflow]


def sink_for(runtime: Runtime) -> Sink:
    settings = runtime.settings
    if settings.smtp_url:
        return SmtpSink(settings.smtp_url)
    return FileSink(settings.data_dir.resolve() / "outbox")


def activities_for(runtime: Runtime) -> list[Callable[..., Any]]:
    store = EventStoreActivities(runtime.store)
    notifications = NotificationActivities(
        runtime.pool, runtime.store, sink_for(runtime), runtime.settings.notify_from
    )
    return [store.append_events, store.load_stream, notifications.dispatch_notifications]


def projections(policy: PolicyDocument) -> list[Projection]:
    return [CaseListProjection(), MemberStandingProjection(policy)]


def projection_runner(runtime: Runtime) -> ProjectionRunner:
    policy = load_policy_file(runtime.settings.policy_file)
    return ProjectionRunner(runtime.pool, runtime.store, projections(policy))
