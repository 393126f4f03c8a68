"""`create_app(config)`: the Starlette application serving `/v2` and `/_sandbox`."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billy_sandbox import jsonutil
from billy_sandbox.config import SandboxConfig
from billy_sandbox.control import control_routes
from billy_sandbox.errors import error_body
from billy_sandbox.routes import api_routes
from billy_sandbox.state import SandboxState

__all__ = ["SandboxConfig", "create_app"]


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    payload = jsonutil.dumps(body)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class FaultsAndStats:
    """Counts every `/v2` request on arrival, then injects the configured faults."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v2"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        stats = self.state.stats
        stats.count(method, path)
        decision = self.state.faults.decide(method, path)
        if decision.delay_s:
            await asyncio.sleep(decision.delay_s)
        if decision.retry_after is not None:
            stats.fault("rate_limited")
            body = error_body(429, "RATE_LIMIT_EXCEEDED", "Too many requests. Retry later.")
            await _send_json(send, 429, body, {"Retry-After": str(decision.retry_after)})
        elif decision.error:
            stats.fault("error")
            status = self.state.faults.config.error_status if self.state.faults.config else 503
            code = "INTERNAL_ERROR" if status >= 500 else "INJECTED_FAULT"
            await _send_json(send, status, error_body(status, code, "Injected fault."), {})
        elif decision.commit_then_timeout:
            stats.fault("commit_then_timeout")
            await self._commit_then_timeout(scope, receive, send, decision.commit_then_timeout)
        else:
            await self.app(scope, receive, send)

    async def _commit_then_timeout(self, scope: Scope, receive: Receive, send: Send, mode: str) -> None:
        """Run the write to the end (it is stored), then never deliver its answer."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        if mode == "abort":
            await send(messages[0])  # the headers promise a body that never comes
            return
        hang_s = self.state.faults.config.hang_s if self.state.faults.config else 60
        try:
            async with asyncio.timeout(hang_s):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            pass


def create_app(config: SandboxConfig) -> Starlette:
    state = SandboxState(config)
    app = Starlette(
        routes=[*control_routes(state), *api_routes(state)],
        middleware=[Middleware(FaultsAndStats, state=state)],
    )
    app.state.sandbox = state
    return app
