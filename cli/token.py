"""`dueprocess token --as ROLE:ID [--system] [--ttl MINUTES]`: a short-lived access token
from the local development issuer that `dueprocess dev` runs (devstack/issuer.py).

Minting needs only the data dir's signing key and the issuer URL `dev` announced, so the
token verifies against the running stack exactly as a production IdP's would. With
DUEPROCESS_OIDC_ISSUER set, tokens come from that IdP, never from here.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from ..devstack.announce import running_stack
from ..devstack.issuer import IssuerKeyError, LocalIssuer
from ..services.identity import roles_from
from ..settings import Settings
from .common import EXTENSIONS, InputError, command, emit, require_id

MAX_TTL_MINUTES = 720  # a development token outlives a working day at most


def parse_as(value: str) -> tuple[list[str], str]:
    """``ROLE[,ROLE...]:ID`` -> (roles, subject)."""
    roles_text, sep, subject = value.partition(":")
    roles = [r.strip() for r in roles_text.split(",") if r.strip()]
    if not sep or not roles:
        raise InputError("--as: must be ROLE:ID (several roles: ROLE,ROLE:ID)", field="--as",
                         rule="usage")
    try:
        roles_from(roles)
    except ValueError as err:
        raise InputError(f"--as: {err}", field="--as", rule="known-role") from None
    return roles, require_id(subject, "--as")


def dev_token(settings: Settings, subject: str, roles: list[str], *, system: bool = False,
              ttl: timedelta = timedelta(minutes=15)) -> str:
    """A token from the local issuer of the `dueprocess dev` running on the data dir."""
    url = running_stack(settings.data_dir).get("oidc_issuer")
    if not isinstance(url, str):
        raise InputError(f"no running `dueprocess dev` announces a local issuer in "
                         f"{settings.data_dir}: start it first", field="DUEPROCESS_DATA_DIR",
                         rule="local-issuer-running")
    issuer = LocalIssuer(settings.data_dir, audience=settings.oidc_audience, issuer_url=url)
    try:
        return issuer.mint(subject, roles, system=system, ttl=ttl)
    except IssuerKeyError as err:
        raise InputError(str(err), field="DUEPROCESS_DATA_DIR", rule="issuer-key") from None


@command("token")
async def _token(args: argparse.Namespace, settings: Settings) -> int:
    if settings.oidc_issuer is not None:
        raise InputError("tokens come from the configured issuer "
                         f"({settings.oidc_issuer}); `dueprocess token` serves only the local "
                         "development issuer", field="DUEPROCESS_OIDC_ISSUER",
                         rule="local-issuer-only")
    roles, subject = parse_as(args.as_)
    if not 1 <= args.ttl <= MAX_TTL_MINUTES:
        raise InputError(f"--ttl: must be 1 to {MAX_TTL_MINUTES} minutes", field="--ttl",
                         rule="short-lived-token")
    ttl = timedelta(minutes=args.ttl)
    token = dev_token(settings, subject, roles, system=args.system, ttl=ttl)
    url = running_stack(settings.data_dir).get("oidc_issuer")
    expires = (datetime.now(UTC) + ttl).isoformat(timespec="seconds")
    emit(args, {"token": token, "subject": subject, "roles": roles, "issuer": url,
                "kind": "system" if args.system else "person", "expires_at": expires}, token)
    return 0


def _extend(sub: Any, add: Any) -> None:
    p = add("token", "print a short-lived access token from the local development issuer")
    p.add_argument("--as", dest="as_", required=True, metavar="ROLE:ID",
                   help="the role(s) and subject, e.g. case_officer:staff-7")
    p.add_argument("--system", action="store_true",
                   help="a service's token (client credentials), not a person's")
    p.add_argument("--ttl", type=int, default=15, metavar="MINUTES",
                   help="minutes until it expires (default 15)")


EXTENSIONS.append(_extend)
