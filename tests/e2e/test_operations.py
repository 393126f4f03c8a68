"""Operational behaviour over real HTTP: progress over SSE, compression, exposure warnings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import anyio.lowlevel
import httpx
import pytest
from loguru import logger
from mcp import Client

from billy_core import hookimpl
from billy_core.serve import warn_if_exposed
from billy_core.tools import Tool, ToolInput
from tests.support.http_server import running_http_server

BILLY_MCP = str(Path(sys.executable).parent / "billy-mcp")


class Steps(ToolInput):
    steps: int = 3


async def long_job(args, ctx):
    for done in range(1, args.steps + 1):
        await ctx.report_progress(done, args.steps, f"step {done}")
        await anyio.lowlevel.checkpoint()
    return {"done": args.steps}


class LongJobPlugin:
    @hookimpl
    def register_tools(self, register):
        register(Tool(name="long_job", description="Reports progress", input_model=Steps, handler=long_job))


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_progress_notifications_reach_the_client_over_streamable_http(make_kernel, billy_plugins, mode):
    billy_plugins.append(("long", LongJobPlugin()))
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    with running_http_server(make_kernel()) as base_url:
        async with Client(f"{base_url}/mcp", mode=mode) as client:
            result = await client.call_tool("long_job", {"steps": 3}, progress_callback=on_progress)
    assert result.structured_content == {"done": 3}
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


@pytest.mark.anyio
async def test_tools_reading_many_pages_report_each_page(make_kernel, billy_sandbox):
    """list_customers reads every page of customers and of contact persons (7 per page here)."""
    kernel = make_kernel(api_url=billy_sandbox.api_url, access_token=billy_sandbox.token, page_size=7)
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    with running_http_server(kernel) as base_url:
        async with Client(f"{base_url}/mcp") as client:
            result = await client.call_tool("list_customers", {"limit": 1}, progress_callback=on_progress)
    assert not result.is_error
    assert [progress for progress, _, _ in seen] == list(range(1, len(seen) + 1))  # only ever grows
    messages = [message for _, _, message in seen]
    assert "contacts: page 1 of " in messages[0] and len(messages) >= 2 * 2
    assert any(message.startswith("contactPersons: page") for message in messages)


def test_large_answers_are_gzipped_and_event_streams_never(make_kernel):
    with running_http_server(make_kernel()) as base_url:
        listed = httpx.get(f"{base_url}/api/v1/tools", headers={"Accept-Encoding": "gzip"})
        small = httpx.get(f"{base_url}/health/live", headers={"Accept-Encoding": "gzip"})
        stream = httpx.post(
            f"{base_url}/mcp",
            headers={"Accept": "application/json, text/event-stream", "Accept-Encoding": "gzip"},
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            },
        )
    assert listed.headers.get("content-encoding") == "gzip" and listed.json()["tools"]
    assert "content-encoding" not in small.headers
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in stream.headers


def test_serving_beyond_loopback_without_auth_warns_loudly(make_kernel):
    messages = []
    sink = logger.add(messages.append, level="WARNING", format="{message}")
    try:
        warn_if_exposed(make_kernel(host="0.0.0.0"), "http")
        warn_if_exposed(make_kernel(host="127.0.0.1"), "http")
    finally:
        logger.remove(sink)
    assert len(messages) == 1 and "NO auth plugin" in messages[0]


def test_doctor_warns_about_exposure(billy_sandbox):
    env = {
        **os.environ,
        "BILLY_HOST": "0.0.0.0",
        "BILLY_API_URL": billy_sandbox.api_url,
        "BILLY_ACCESS_TOKEN": billy_sandbox.token,
    }
    result = subprocess.run([BILLY_MCP, "doctor"], capture_output=True, text=True, env=env, timeout=60)
    assert "! exposure: BILLY_HOST=0.0.0.0 with no auth plugin" in result.stdout


def test_doctor_fails_clearly_when_billy_refuses_the_token(billy_sandbox):
    env = {**os.environ, "BILLY_API_URL": billy_sandbox.api_url, "BILLY_ACCESS_TOKEN": "wrong-token"}
    result = subprocess.run([BILLY_MCP, "doctor"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "✗ billy: forbidden" in result.stdout and "BILLY_ACCESS_TOKEN" in result.stdout


def test_doctor_says_where_to_look_when_billy_is_unreachable():
    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {**os.environ, "BILLY_API_URL": f"http://127.0.0.1:{port}/v2", "BILLY_ACCESS_TOKEN": "token"}
    result = subprocess.run([BILLY_MCP, "doctor"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "✗ billy: upstream_unavailable" in result.stdout
    assert f"check BILLY_API_URL (http://127.0.0.1:{port}/v2)" in result.stdout


def test_cli_commands_log_a_plugin_warning_once_at_the_configured_level():
    env = {**os.environ, "BILLY_PLUGINS_DISABLED": "nosuch", "BILLY_LOG_LEVEL": "INFO"}
    result = subprocess.run(
        [BILLY_MCP, "plugins", "list"], capture_output=True, text=True, env=env, timeout=60
    )
    warnings = [line for line in result.stderr.splitlines() if "unknown plugins nosuch" in line]
    assert len(warnings) == 1 and "kernel" not in warnings[0], result.stderr
    assert "DEBUG" not in result.stderr
