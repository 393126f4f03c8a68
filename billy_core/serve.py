"""Running the server: stdio or Streamable HTTP, optionally on the in-process sandbox."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import anyio
from loguru import logger

from billy_core.errors import StartupError
from billy_core.kernel import Kernel
from billy_core.logs import configure_logging
from billy_core.settings import load_kernel_settings


@contextlib.contextmanager
def sandbox_overrides(enabled: bool, seed: int) -> Iterator[dict[str, Any]]:
    """Start the Billy emulator on a free loopback port and point the client at it."""
    if not enabled:
        yield {}
        return
    try:
        from billy_sandbox.runner import SandboxServer
    except ImportError as exc:
        raise StartupError(f"--sandbox needs the billy_sandbox package: {exc}") from None
    server = SandboxServer(host="127.0.0.1", port=0, seed=seed)
    server.start()
    try:
        yield {
            "api_url": server.api_url,
            "access_token": server.token,
            "organization_id": None,
            "sandbox": True,
        }
    finally:
        server.stop()


def serve_forever(
    *, transport: str, host: str | None, port: int | None, sandbox: bool, sandbox_seed: int
) -> None:
    with sandbox_overrides(sandbox, sandbox_seed) as overrides:
        if host is not None:
            overrides["host"] = host
        if port is not None:
            overrides["port"] = port
        settings = load_kernel_settings(**overrides)
        configure_logging(settings)
        kernel = Kernel.build(settings)
        warn_if_exposed(kernel, transport)
        if sandbox:
            logger.info("sandbox Billy at {} (demo company, seed {})", settings.api_url, sandbox_seed)
        if transport == "stdio":
            anyio.run(run_stdio, kernel)
        else:
            run_http(kernel)


def warn_if_exposed(kernel: Kernel, transport: str) -> None:
    if transport == "http" and kernel.exposed_without_auth:
        logger.warning(
            "!!! serving on {} with NO auth plugin enabled: anyone who can reach this port can use "
            "Billy through it. Enable the auth plugin or bind to 127.0.0.1. !!!",
            kernel.settings.host,
        )


async def run_stdio(kernel: Kernel) -> None:
    from mcp.server.stdio import stdio_server

    from billy_core.server.mcp_server import build_mcp_server

    if sys.stdin.isatty():
        logger.info("waiting for an MCP client on stdin (use --transport http to serve over HTTP)")
    server = build_mcp_server(kernel, transport="stdio")
    async with kernel, stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def run_http(kernel: Kernel) -> None:
    import uvicorn

    from billy_core.server.http import build_http_app

    settings = kernel.settings
    logger.info("MCP at http://{}:{}/mcp, REST bridge at /api/v1/tools", settings.host, settings.port)
    uvicorn.run(
        build_http_app(kernel),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=30,
        proxy_headers=True,
    )
