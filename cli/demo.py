"""`dueprocess demo`: one realistic case, end to end, driven through the HTTP API.

The demo brings up the stack (or uses the `dueprocess dev` running on the same data dir),
a worker of its own on a task queue of its own (serving the compressed rulebook), the
API in-process in front of it, and a local OIDC issuer; every person in the story then
acts with a token of their own, verified by the production code path.
"""

from __future__ import annotations

import argparse
import contextlib
import uuid
from typing import Any

from ..api.app import create_app
from ..devstack.demo import _people, demo_rulebook, run_demo
from ..devstack.issuer import LocalIssuer
from ..domain.base import Actor, ActorKind
from ..domain.case import roles
from ..domain.membership.standing import Standing
from ..services.api_client import ApiClient
from ..services.identity import TokenVerifier
from ..services.rulebook import RulebookService
from ..services.timeline import render_timeline
from ..settings import Settings
from ..worker import build_worker, notices_for, open_runtime
from .api import api_config, api_services, bind, console_config, serving_api
from .common import EXTENSIONS, command, emit
from .connect import with_running_stack

# Who reads in the demo (the case, the timeline, the respondent's standing): the case
# officer, who runs every case.
READER = Actor(id=_people("demo").case_officer, role=roles.CASE_OFFICER)


def token_for(issuer: LocalIssuer, actor: Actor) -> str:
    """A token for ``actor``: a service's own token for a non-person."""
    return issuer.mint(actor.id, [actor.role], system=actor.kind != ActorKind.PERSON)


@command("demo")
async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    # A `dueprocess dev` running on this data dir is used, not started twice over its files.
    settings = with_running_stack(settings)
    async with open_runtime(settings) as runtime, contextlib.AsyncExitStack() as stack:
        rulebook = RulebookService(runtime.store)
        await rulebook.publish_sample_if_none()
        policy = await rulebook.current()
        assert policy is not None  # published just above if it was not
        # A queue of its own: no other worker files this case, and this worker's
        # compressed rulebook serves no other case.
        queue = f"{settings.task_queue}-demo-{uuid.uuid4().hex[:8]}"
        notices = notices_for(runtime, beside=True)  # the demo waits for its posts
        await stack.enter_async_context(build_worker(
            runtime, task_queue=queue, rulebook=demo_rulebook(policy), notices=notices))
        issuer = LocalIssuer(settings.data_dir, audience=settings.oidc_audience)
        await issuer.start()
        stack.push_async_callback(issuer.stop)
        assert issuer.url is not None
        app = create_app(api_services(runtime, settings, queue),
                         TokenVerifier(issuer.url, settings.oidc_audience),
                         api_config(settings), console_config(settings, issuer.url, dev=True))
        url = await stack.enter_async_context(
            serving_api(app, bind("127.0.0.1", 0, fallback=False)))
        api = await stack.enter_async_context(
            ApiClient(url, lambda actor: token_for(issuer, actor or READER)))
        case_id, people = await run_demo(api, policy, api.record_fact)
        # The workflow finishes once its notifications are dispatched and recorded.
        await runtime.client.get_workflow_handle(case_id).result()
        if notices[1] is not None:  # and the notices its appends handed to the relay
            await notices[1].idle()
        timeline = await api.timeline(case_id)
        standing = Standing.model_validate(
            await api.get(f"/audit/members/{people.respondent}"))
    doc = {"case_id": case_id, "people": people.model_dump(), "timeline": timeline,
           "respondent_standing": standing.model_dump(mode="json"), "api_url": url}
    rights = ", ".join(str(r) for r in standing.rights) or "none"
    emit(args, doc, f"case {case_id} (driven through the HTTP API at {url})\n"
         f"{render_timeline(timeline)}\n"
         f"{len(timeline)} events recorded; `dueprocess verify` re-checks them.\n"
         f"respondent now: {standing.status}, rights {rights}, membership "
         f"{standing.membership_number} continuous since {standing.continuous_since}\n"
         f"next: `dueprocess audit case {case_id}` checks every due-process rule.")
    return 0


def _extend(sub: Any, add: Any) -> None:
    add("demo", "run a realistic case end to end through the HTTP API (a token per person) "
        "on the embedded stack, or on the `dueprocess dev` stack running on the same data "
        "dir (under the published rulebook, deadlines compressed)")


EXTENSIONS.append(_extend)
