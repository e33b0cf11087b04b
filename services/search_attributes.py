"""The case search attributes on a Temporal namespace: registered, or a clear refusal.

An upsert naming an attribute the namespace does not define fails the workflow task, and
the case would retry it for ever. So a worker checks before it polls
(``require_registered``) and names the operator commands that fix it; test servers and
operators with the permission can register them (``register``).
"""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from ..settings import ConfigError
from ..workflows.search_attributes import operator_commands, registrations

_API_TYPE = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


async def missing(client: Client) -> list[tuple[str, str]] | None:
    """The case attributes the client's namespace does not define (None: the server cannot
    list them, as the time-skipping test server cannot)."""
    try:
        known = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace))
    except RPCError as err:
        if err.status is RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    defined = {**known.system_attributes, **known.custom_attributes}
    return [(name, kind) for name, kind in registrations() if name not in defined]


async def register(client: Client) -> None:
    """Define the missing case attributes on the client's namespace."""
    absent = await missing(client)
    absent = registrations() if absent is None else absent
    if absent:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={name: _API_TYPE[kind] for name, kind in absent}))


async def require_registered(client: Client) -> None:
    """Refuse to serve a namespace that would fail every case's workflow task."""
    found = await missing(client)
    absent = {name for name, _ in found or []}
    if absent:
        steps = [c for c in operator_commands(client.namespace) if c.split()[-3] in absent]
        raise ConfigError(
            f"the Temporal namespace {client.namespace!r} does not define the case search "
            f"attributes {', '.join(sorted(absent))}; register them once: " + "; ".join(steps))
