"""Who may act in which role: the roles a token may carry, the IdP-role map that turns an
identity provider's roles or groups into them, and the operator identity of commands run
on the host (services/identity.py verifies the tokens)."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterable, Mapping

from ..domain.base import Actor
from ..domain.case.roles import ROLES, SYSTEM
from ..domain.envelope import PrincipalRecord
from ..domain.rulebook import POLICY_ADMIN_ROLE

AUDITOR = "auditor"
DPO = "dpo"  # data-protection officer: subject access, export, erasure
OPERATOR = "operator"  # runs migrations, verify, keys, projections
# Roles a token may carry. "system" is not among them: it is the workflow's own role for
# durable timers, never something a caller acts in.
TOKEN_ROLES: frozenset[str] = (ROLES - {SYSTEM}) | {POLICY_ADMIN_ROLE, AUDITOR, DPO, OPERATOR}


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        return f"uid-{os.getuid()}"


def operator_actor(role: str = OPERATOR) -> Actor:
    """The actor of an operator command (migrate, verify, keys, projections, policy
    publish): the operating-system user running it. Those commands reach the database
    directly; its credentials, not a token, are what authorise them."""
    return Actor(id=os_user(), role=role)


def operator_principal() -> PrincipalRecord:
    """How an operator command's actor was identified: by the OS account on this host."""
    return PrincipalRecord(issuer=f"os:{socket.gethostname()}", subject=os_user(),
                           auth_method="os-user")


def parse_role_map(text: str) -> dict[str, str]:
    """``idp-group=case_officer,other=auditor`` -> mapping; ValueError names the bad part."""
    mapping: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        source, sep, target = (s.strip() for s in part.partition("="))
        if not sep or not source or not target:
            raise ValueError(f"{part!r}: each entry must be IDP_ROLE=dueprocess_role")
        mapping[source] = target
    _check_targets(mapping)
    return mapping


def _check_targets(mapping: Mapping[str, str]) -> None:
    unknown = sorted(set(mapping.values()) - TOKEN_ROLES)
    if unknown:
        raise ValueError(f"unknown dueprocess role(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(TOKEN_ROLES))}")


def roles_from(names: Iterable[str]) -> frozenset[str]:
    """``names`` checked against the roles a token may carry (ValueError names the rest)."""
    given = frozenset(names)
    unknown = sorted(given - TOKEN_ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(TOKEN_ROLES))}")
    return given
