"""`dueprocess export sor`: DSA statements of reasons as JSON lines, one per restrictive
decision, for the EU Transparency Database; never with personal data."""

from __future__ import annotations

import argparse
import json
from contextlib import aclosing
from typing import Any

from ..domain.streams import case_id_of
from ..domain.transparency import EEA, statements_of_reasons
from ..settings import ConfigError, Settings
from ..store.projection_runner import ProjectionRunner
from ..store.projections_sor import RestrictiveDecisionsProjection, restricted_streams
from .audit import parse_when
from .common import EXTENSIONS, InputError, command
from .connect import connect_pool, store_for
from .stats import _period_end


@command("export")
async def _export(args: argparse.Namespace, settings: Settings) -> int:
    start, end = parse_when(args.period_from, "--from"), _period_end(args.period_to)
    if start is not None and end is not None and start >= end:
        raise ConfigError("--from must be before --to")
    territory = args.territory or list(EEA)
    unknown = sorted(set(territory) - set(EEA))
    if unknown:
        raise InputError(f"--territory: not an EEA country code: {', '.join(unknown)}",
                         field="--territory", rule="territorial-scope")
    async with connect_pool(settings) as pool:
        store = store_for(pool, settings)
        # The index of restrictive decisions, brought up to the head first (incremental:
        # only what workers have not yet indexed), so no recent decision is left out.
        await ProjectionRunner(pool, store, [RestrictiveDecisionsProjection()]).catch_up()
        # Only the cases with such a decision in the period, one at a time in stream-id
        # order, printed as read: never the log, never more than one case in memory.
        async with aclosing(restricted_streams(pool, start, end)) as streams:
            async for stream_id in streams:
                events = await store.read_stream(stream_id)
                case_id = case_id_of(stream_id) or stream_id
                for statement in statements_of_reasons(case_id, events, territory=territory,
                                                       start=start, end=end):
                    print(json.dumps(statement, ensure_ascii=False, sort_keys=True))
    return 0


def _extend(sub: Any, add: Any) -> None:
    export = add("export", "export records for outside bodies (JSON lines)")
    export.add_argument("kind", choices=["sor"],
                        help="sor: DSA statements of reasons for the Transparency Database")
    export.add_argument("--from", dest="period_from", metavar="DATE",
                        help="decisions taken on or after this ISO date or date-time")
    export.add_argument("--to", dest="period_to", metavar="DATE",
                        help="... and before this date-time (a bare date counts that whole day)")
    export.add_argument("--territory", action="append", metavar="CC",
                        help="EEA country code the restriction applies in (repeat; "
                             "default: the whole EEA)")


EXTENSIONS.append(_extend)
