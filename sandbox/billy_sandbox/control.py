"""`/_sandbox`: faults, stats, outbox, reset and info. Loopback only, no token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from billy_sandbox import jsonutil
from billy_sandbox.faults import FaultConfigError, parse_config
from billy_sandbox.responses import json_response
from billy_sandbox.state import SandboxState

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
Handler = Callable[[Request, SandboxState], Awaitable[Any]]

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _problem(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def control(
    state: SandboxState, handler: Handler, methods: list[str]
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        if request.client is None or request.client.host not in LOOPBACK:
            return _problem(403, "/_sandbox is answered on loopback only")
        if request.method not in methods:
            return _problem(405, f"{request.method} is not supported here")
        result = await handler(request, state)
        return result if isinstance(result, Response) else json_response(result)

    return run


async def faults(request: Request, state: SandboxState) -> Any:
    if request.method == "PUT":
        try:
            config = parse_config(jsonutil.loads(await request.body()))
        except (ValueError, FaultConfigError) as exc:
            return _problem(400, f"invalid fault configuration: {exc}")
        state.faults.set(config)
    elif request.method == "DELETE":
        state.faults.clear()
    return {"faults": state.faults.config.as_json() if state.faults.config else None}


async def stats(request: Request, state: SandboxState) -> Any:
    return state.stats.as_json()


async def reset_stats(request: Request, state: SandboxState) -> Any:
    state.stats.reset()
    return state.stats.as_json()


async def outbox(request: Request, state: SandboxState) -> Any:
    return {"emails": state.outbox}


async def reset(request: Request, state: SandboxState) -> Any:
    state.reset()
    return state.info()


async def info(request: Request, state: SandboxState) -> Any:
    return state.info()


def control_routes(state: SandboxState) -> list[Route]:
    def route(path: str, handler: Handler, *methods: str) -> Route:
        return Route(path, control(state, handler, list(methods)), methods=ALL_METHODS)

    return [
        route("/_sandbox/faults", faults, "GET", "PUT", "DELETE"),
        route("/_sandbox/stats", stats, "GET"),
        route("/_sandbox/stats/reset", reset_stats, "POST"),
        route("/_sandbox/outbox", outbox, "GET"),
        route("/_sandbox/reset", reset, "POST"),
        route("/_sandbox/info", info, "GET"),
    ]
