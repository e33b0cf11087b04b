"""The outermost layer of every request: a request id, a body size limit, a time limit,
and a last line of defence that turns anything unforeseen into a problem response.

Pure ASGI, so a body over the limit is refused while it streams in (a declared
``Content-Length`` over the limit is refused before a byte of it is read).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import PROBLEM_JSON, RETRY_AFTER, Problem

log = logging.getLogger("dueprocess.api")

REQUEST_ID_HEADER = "x-request-id"


class _TooLarge(Exception):
    pass


def _problem(status: int, title: str, detail: str, request_id: str, path: str,
             rule: str | None, error_type: str) -> Message:
    body = Problem(type=f"urn:dueprocess:problem:{error_type}", title=title, status=status,
                   detail=detail, instance=path, rule=rule, error_type=error_type,
                   request_id=request_id)
    return {"type": "http.response.body",
            "body": json.dumps(body.model_dump(mode="json", exclude_none=True)).encode()}


class Limits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.timeout = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def fail(status: int, title: str, detail: str, rule: str | None,
                       error_type: str, extra: list[tuple[bytes, bytes]]) -> None:
            if started:  # too late for a clean answer: the connection is closed instead
                return
            body = _problem(status, title, detail, request_id, scope.get("path", ""), rule,
                            error_type)
            await send_with_id({"type": "http.response.start", "status": status,
                                "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                            (b"content-length",
                                             str(len(body["body"])).encode()), *extra]})
            await send(body)

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await fail(413, "Content too large", f"the request body is over the limit of "
                       f"{self.max_body} bytes", "body-size-limit", "ContentTooLarge", [])
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge
            return message

        try:
            async with asyncio.timeout(self.timeout):
                await self.app(scope, limited_receive, send_with_id)
        except _TooLarge:
            await fail(413, "Content too large", f"the request body is over the limit of "
                       f"{self.max_body} bytes", "body-size-limit", "ContentTooLarge", [])
        except TimeoutError:
            log.warning("request %s timed out after %ss", request_id, self.timeout)
            await fail(503, "Service unavailable", f"the request took longer than "
                       f"{self.timeout:g} s; it may or may not have been recorded: send it "
                       "again (commands are idempotent)", "request-timeout", "Timeout",
                       [(b"retry-after", RETRY_AFTER.encode())])
        except Exception as err:  # the catch-all: logged with its traceback, never shown
            log.error("unexpected failure in request %s", request_id, exc_info=err)
            await fail(500, "Internal error", "the request could not be completed; it is "
                       "logged under this request id", None, "InternalError", [])


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
