"""The HTTP face: Streamable HTTP at ``/mcp``, the REST bridge, health and metrics.

Every route runs the same kernel pipeline as stdio. The Host/Origin check that protects
``/mcp`` against DNS rebinding also guards ``/api/v1``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import simplejson
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from billy_core.auth import AuthRequest
from billy_core.context import new_correlation_id
from billy_core.errors import HTTP_STATUS_BY_CODE, ErrorCode, InvalidArgument, ToolError
from billy_core.jsonutil import dumps_compact
from billy_core.kernel import Kernel
from billy_core.pipeline import ToolResult
from billy_core.server.mcp_server import build_mcp_server


def security_settings(kernel: Kernel) -> TransportSecuritySettings:
    settings = kernel.settings
    if "*" in settings.allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", *settings.allowed_hosts]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *settings.allowed_origins]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps_compact(content).encode()


class RestBridge:
    """``GET /api/v1/tools`` and ``POST /api/v1/tools/{name}`` for clients without MCP."""

    def __init__(self, kernel: Kernel, security: TransportSecuritySettings) -> None:
        self.kernel = kernel
        self.guard = TransportSecurityMiddleware(security)

    async def list_tools(self, request: Request) -> Response:
        refused = await self.guard.validate_request(request, is_post=False)
        if refused is not None:
            return refused
        tools = [
            {
                "name": tool.name,
                "title": tool.title,
                "description": tool.description,
                "input_schema": tool.input_schema,
                "output_schema": tool.output_schema,
                "annotations": tool.annotations(),
            }
            for tool in self.kernel.tools.visible(read_only_mode=self.kernel.read_only)
        ]
        return JsonResponse({"tools": tools})

    async def call_tool(self, request: Request) -> Response:
        refused = await self.guard.validate_request(request, is_post=False)
        if refused is not None:
            return refused
        correlation_id = request.headers.get("x-correlation-id") or new_correlation_id()
        try:
            arguments = await self._arguments(request)
        except ToolError as exc:
            return error_response(ToolResult(exc.to_body(correlation_id), is_error=True))
        client = request.client
        result = await self.kernel.call_tool(
            request.path_params["name"],
            arguments,
            auth=AuthRequest(
                transport="rest", headers=dict(request.headers), client_host=client.host if client else None
            ),
            transport="rest",
            correlation_id=correlation_id,
        )
        if result.is_error:
            return error_response(result)
        return JsonResponse(result.structured)

    async def _arguments(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("application/json"):
            raise InvalidArgument(
                "the body must be JSON",
                hint="Send the tool's arguments as an object with Content-Type: application/json",
            )
        raw = await request.body()
        try:
            arguments = simplejson.loads(raw or b"{}", use_decimal=True)
        except ValueError as exc:
            raise InvalidArgument(f"the body is not valid JSON: {exc}") from None
        if not isinstance(arguments, dict):
            raise InvalidArgument("the body must be a JSON object holding the tool's arguments")
        return arguments


def error_response(result: ToolResult) -> Response:
    body = result.structured
    status = HTTP_STATUS_BY_CODE.get(ErrorCode(body.get("code", "internal_error")), 500)
    headers = {}
    if body.get("retry_after") is not None:
        headers["Retry-After"] = str(max(1, round(float(body["retry_after"]))))
    return JsonResponse(body, status_code=status, headers=headers)


def operations_routes(kernel: Kernel) -> list[Route]:
    async def live(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        readiness = await kernel.readiness()
        body = {"status": readiness.state.value, "ready": readiness.ready, "checks": readiness.checks}
        return JSONResponse(body, status_code=200 if readiness.ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(kernel.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return [
        Route("/health/live", live, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def build_http_app(kernel: Kernel, *, manage_kernel: bool = True) -> Starlette:
    """The ASGI app. With ``manage_kernel`` the app's lifespan starts and stops the kernel."""
    security = security_settings(kernel)
    session_manager = StreamableHTTPSessionManager(
        app=build_mcp_server(kernel, transport="http"),
        stateless=kernel.settings.stateless_http,
        security_settings=security,
        json_response=False,
    )
    bridge = RestBridge(kernel, security)
    routes = [
        Route("/mcp", StreamableHTTPASGIApp(session_manager)),
        Route("/api/v1/tools", bridge.list_tools, methods=["GET"]),
        Route("/api/v1/tools/{name}", bridge.call_tool, methods=["POST"]),
        *operations_routes(kernel),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if manage_kernel:
                await stack.enter_async_context(kernel)
            await stack.enter_async_context(session_manager.run())
            yield

    middleware = [
        Middleware(
            GZipMiddleware,
            minimum_size=kernel.settings.gzip_minimum_size,
            compresslevel=kernel.settings.gzip_level,
        )
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
