"""`dueprocess retention sweep`: start the retention timer of every closed case that has
none (closed before the retention-timer patch, or imported while Temporal was down), and
of every ended membership (under the published rulebook's periods)."""

from __future__ import annotations

import argparse
from typing import Any

from ..services.client import DueProcessClient
from ..services.retention_sweep import SweepReport, sweep_retention
from ..services.rulebook import RulebookService
from ..settings import Settings
from .common import EXTENSIONS, command, emit
from .connect import connect_client, connect_pool, store_for


def _text(report: SweepReport) -> str:
    verb = "would start or keep" if report.dry_run else "started or kept"
    lines = [f"{verb} the retention timer of {len(report.timed)} closed case(s); "
             f"{len(report.without_period)} closed case(s) have no retention period in "
             "their rulebook (kept until erased on request); "
             f"{verb} the retention timer of {len(report.members_timed)} ended membership(s)"]
    lines += [f"  {case_id}: kept until {end.isoformat()}"
              for case_id, end in report.timed.items()]
    lines += [f"  member {member_id}: kept until {end.isoformat()}"
              for member_id, end in report.members_timed.items()]
    return "\n".join(lines)


@command("retention")
async def _retention(args: argparse.Namespace, settings: Settings) -> int:
    async with connect_pool(settings) as pool:
        store = store_for(pool, settings)
        policy = await RulebookService(store).current()
        if args.dry_run:
            report = await sweep_retention(pool, store, None, policy=policy)
        else:
            async with connect_client(settings) as client:
                cases = DueProcessClient(client, settings.task_queue)
                report = await sweep_retention(pool, store, cases.start_retention,
                                               policy=policy,
                                               start_member=cases.start_member_retention)
    emit(args, report.model_dump(mode="json"), _text(report))
    return 0


def _extend(sub: Any, add: Any) -> None:
    retention = add("retention", "start the retention timer of every closed case and ended "
                    "membership that has none (GDPR storage limitation); idempotent")
    retention.add_argument("action", choices=["sweep"])
    retention.add_argument("--dry-run", action="store_true",
                           help="list what would be started, starting nothing")


EXTENSIONS.append(_extend)
