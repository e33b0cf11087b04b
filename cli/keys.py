"""Store upkeep: `keys` (subject keys at rest, wrapping) and `projections` (read models)."""

from __future__ import annotations

import argparse
from typing import Any

from ..services.policyfile import load_policy_file
from ..settings import Settings
from ..store.keys import key_status, wrap_keys
from ..store.projections import ProjectionRunner, default_projections, projection_status
from .common import EXTENSIONS, command, emit
from .connect import connect_pool, store_for


@command("projections")
async def _projections(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy_file(settings.policy_file)
    async with connect_pool(settings) as pool:
        runner = ProjectionRunner(pool, store_for(pool, settings), default_projections(policy),
                                  on_error=settings.projection_on_error)
        if args.action == "status":
            return await _projection_status(args, pool, [p.name for p in runner.projections])
        count = await (runner.rebuild() if args.action == "rebuild" else runner.catch_up())
    names = [p.name for p in runner.projections]
    emit(args, {"events_applied": count, "projections": names},
         f"{args.action}: {count} event applications across {len(names)} projections "
         f"({', '.join(names)})")
    return 0


async def _projection_status(args: argparse.Namespace, pool: Any, names: list[str]) -> int:
    """Exit 1 when any projection has quarantined events or is halted: someone must look."""
    statuses = await projection_status(pool, names, window=args.window)
    lines = []
    width = max((len(st.name) for st in statuses), default=0)
    for st in statuses:
        rate = "" if st.applied_per_second is None \
            else f"  applied {st.applied_per_second:.1f} events/s"
        lines.append(f"{st.name:{width}} position {st.tx_id}/{st.global_position}  lag {st.lag} "
                     f"events ({st.lag_seconds:.1f} s){rate}  errors {st.errors}  "
                     f"quarantined {len(st.quarantined)}" + ("  HALTED" if st.halted else ""))
        if st.last_error:
            lines.append(f"  last error ({st.last_error_at:%Y-%m-%d %H:%M:%S}): "
                         f"{st.last_error}")
        lines += [f"  quarantined {q['stream_id']} v{q['stream_version']} {q['event_type']} "
                  f"{q['event_id']}: {q['error']}" for q in st.quarantined]
    emit(args, [st.model_dump(mode="json") for st in statuses], "\n".join(lines))
    return 1 if any(st.halted or st.quarantined for st in statuses) else 0


@command("keys")
async def _keys(args: argparse.Namespace, settings: Settings) -> int:
    key_wrap = settings.key_wrap()
    async with connect_pool(settings) as pool:
        result = await wrap_keys(pool, key_wrap) if args.action == "wrap" else None
        status = await key_status(pool, key_wrap)
    doc = status.model_dump()
    lines = []
    if result is not None:
        doc |= result.model_dump()
        lines.append(f"wrapped {result.wrapped} key(s)")
        lines += [f"  key {key_id} left as it was: {why}"
                  for key_id, why in sorted(result.failed.items())]
    lines += [
        f"live keys in clear: {status.live_in_clear}",
        *(f"live keys wrapped by KEK {fingerprint}: {n}"
          for fingerprint, n in sorted(status.live_wrapped.items())),
        f"destroyed keys: {status.destroyed}",
        f"current KEK: {status.current_kek or 'none (DUEPROCESS_KEY_ENCRYPTION_KEYS unset)'}",
    ]
    if status.needing_wrap:
        lines.append(f"{status.needing_wrap} live key(s) not wrapped by the current KEK: "
                     "run `dueprocess keys wrap`")
    emit(args, doc, "\n".join(lines))
    return 1 if result is not None and (result.failed or status.needing_wrap) else 0


def _extend(sub: Any, add: Any) -> None:
    proj = add("projections", "bring read models up to date, drop and rebuild them, or show "
               "their position, lag, errors and quarantined events")
    proj.add_argument("action", choices=["catch-up", "rebuild", "status"])
    proj.add_argument("--window", type=float, default=1.0, metavar="SECONDS",
                      help="status: measure each projection's events applied per second over "
                      "this many seconds (0: do not measure)")
    keys = add("keys", "subject keys at rest: how they are stored (status), or wrap every "
               "live key under the current key-encryption key (wrap)")
    keys.add_argument("action", choices=["status", "wrap"])


EXTENSIONS.append(_extend)
