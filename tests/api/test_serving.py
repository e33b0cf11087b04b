"""How `dueprocess dev` and `demo` serve the API in-process (cli/api.py): on the port
asked for, or on a free one when it is taken; stopped with the block, or drained
on a stop."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
from dueprocess.api.app import create_app
from dueprocess.cli.api import bind, serving_api
from dueprocess.services.identity import TokenVerifier

from .conftest import Api


async def test_a_taken_port_falls_back_to_a_free_one(api: Api) -> None:
    # given a port someone else listens on
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        # when the API is bound there with fallback: another port; without: refused
        sock = bind("127.0.0.1", port, fallback=True)
        assert sock.getsockname()[1] != port
        with pytest.raises(OSError):
            bind("127.0.0.1", port, fallback=False)
    # then the app is served there until the block ends
    assert api.issuer.url is not None
    app = create_app(api.services, TokenVerifier(api.issuer.url, "dueprocess"))
    async with serving_api(app, sock) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/openapi.json")).status_code == 200
            answer = await http.get("/rules", headers=api.auth("aud-1", "auditor"))
            assert answer.status_code == 200 and answer.json()
    async with httpx.AsyncClient(base_url=url) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/openapi.json")


async def test_on_stop_a_request_under_way_is_answered_before_drained_is_set() -> None:
    # Given an API whose one endpoint takes a while (a filing waiting on its workflow)
    began, release = asyncio.Event(), asyncio.Event()

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        began.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"recorded"})

    stop, drained = asyncio.Event(), asyncio.Event()
    async with serving_api(slow, bind("127.0.0.1", 0, fallback=False), stop=stop,
                           drained=drained) as url, httpx.AsyncClient(base_url=url) as http:
        under_way = asyncio.create_task(http.get("/cases"))
        await began.wait()
        # When the stop comes while the request is under way
        stop.set()
        await asyncio.sleep(0.2)
        # Then nothing is drained yet (the worker behind it would still be serving)
        assert not drained.is_set()
        release.set()
        answer = await under_way
        assert (answer.status_code, answer.text) == (200, "recorded")
        await asyncio.wait_for(drained.wait(), 10)
