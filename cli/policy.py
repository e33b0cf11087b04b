"""`dueprocess policy publish FILE` and `dueprocess policy list`: the organisation's rulebook.

Publishing needs no Temporal: it appends to the event store's ``rulebook`` stream. The
publisher is the operating-system user running the command, in the policy_admin role
(the CLI has no other verified identity; the database credentials are what authorise it).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..domain.rulebook import POLICY_ADMIN_ROLE
from ..services.identity import operator_actor, operator_principal
from ..services.policyfile import load_policy_file
from ..services.rulebook import RulebookService
from ..settings import ConfigError, Settings
from .common import EXTENSIONS, command, emit
from .connect import connect_pool, store_for


@command("policy")
async def _policy(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "publish" and args.file is None:
        raise ConfigError("policy publish: FILE is required (a YAML or JSON policy file)")
    document = load_policy_file(args.file) if args.action == "publish" else None
    async with connect_pool(settings) as pool:
        service = RulebookService(store_for(pool, settings))
        if document is not None:
            actor = operator_actor(POLICY_ADMIN_ROLE)
            # A refusal is reported as every command's is (cli/errors.py: one line on
            # stderr, or JSON with --json; exit 1).
            published = await service.publish(document, actor, args.authority,
                                              principal=operator_principal())
            names = [e.version.version for e in published]
            emit(args, {"published": names, "policy_id": document.policy_id,
                        "by": actor.model_dump()},
                 f"published {', '.join(names)} of {document.policy_id} as "
                 f"{actor.role}:{actor.id}" if names else
                 "nothing to publish: every version in the file is already published")
            return 0
        book, _ = await service.load()
    rows = [_row(book.policy_id, p) for p in
            sorted(book.versions.values(), key=lambda p: p.version.effective_from)]
    emit(args, {"policy_id": book.policy_id, "versions": rows}, "\n".join(
        f"{r['policy_id']} {r['version']:10} {r['effective_from']}..{r['effective_to'] or ''}"
        f"  published {r['published_at'][:19]} by {r['published_by']} [{r['authority']}]"
        for r in rows) or "no rulebook is published (`dueprocess policy publish FILE`)")
    return 0


def _row(policy_id: str | None, published: Any) -> dict[str, Any]:
    version = published.version
    return {
        "policy_id": policy_id, "version": version.version,
        "effective_from": version.effective_from.isoformat(),
        "effective_to": version.effective_to.isoformat() if version.effective_to else None,
        "published_at": published.published_at.isoformat(),
        "published_by": f"{published.published_by.role}:{published.published_by.id}",
        "authority": published.authority,
    }


def _extend(sub: Any, add: Any) -> None:
    policy = add("policy", "publish the organisation's rulebook, or list what is published")
    policy.add_argument("action", choices=["publish", "list"])
    policy.add_argument("file", nargs="?", type=Path, help="policy file (YAML or JSON)")
    policy.add_argument("--authority", default="published with `dueprocess policy publish`",
                        help="the decision that adopted this rulebook, e.g. a resolution")


EXTENSIONS.append(_extend)
