"""Per-call overhead of the kernel pipeline against bare SDK servers, measured in one run.

Every server runs the same tool body (add two integers, no I/O) and is called through the
SDK's in-memory ``Client`` (the real protocol layer, no sockets). Rounds interleave the
servers so machine noise hits them alike; the figure is the median of per-round means.

    .venv/bin/python benchmarks/pipeline.py [--calls 400] [--rounds 15] [--mode auto|legacy]

Baselines:
  * ``sdk-mcpserver``: the SDK's high-level ``MCPServer`` with an ``@tool`` function;
  * ``sdk-lowlevel``: the SDK's low-level ``Server`` with a hand-written handler.
All three declare the same output schema, so the client validates every result alike.
The kernel runs every enabled built-in plugin's tool-call middleware plus its own (metrics,
read-only guard, validation, events).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.server import MCPServer
from mcp.server.lowlevel import Server
from pydantic import BaseModel, Field

from billy_core import hookimpl
from billy_core.kernel import Kernel
from billy_core.server.mcp_server import build_mcp_server
from billy_core.settings import KernelSettings
from billy_core.tools import Tool, ToolInput


def tool_body(a: int, b: int) -> dict[str, int]:
    return {"sum": a + b}


class AddArgs(ToolInput):
    a: int = Field(description="first addend")
    b: int = Field(description="second addend")


class AddResult(BaseModel):
    sum: int


class BenchPlugin:
    @hookimpl
    def register_tools(self, register: Callable[[Tool], Any]) -> None:
        async def add(args: AddArgs, ctx: Any) -> dict[str, int]:
            return tool_body(args.a, args.b)

        register(
            Tool(
                name="add",
                description="Add",
                input_model=AddArgs,
                output_model=AddResult,
                handler=add,
                open_world=False,
            )
        )


def sdk_mcpserver() -> MCPServer:
    server = MCPServer("bare")

    @server.tool()
    async def add(a: int, b: int) -> AddResult:
        """Add"""
        return AddResult(**tool_body(a, b))

    return server


def sdk_lowlevel() -> Server[Any]:
    schema = AddArgs.model_json_schema()
    output_schema = AddResult.model_json_schema()

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        tool = types.Tool(name="add", input_schema=schema, output_schema=output_schema)
        return types.ListToolsResult(tools=[tool])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        args = AddArgs.model_validate(params.arguments or {})
        result = tool_body(args.a, args.b)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=str(result))], structured_content=result
        )

    return Server("bare-lowlevel", on_list_tools=list_tools, on_call_tool=call_tool)


def billy_kernel(disabled: list[str]) -> Kernel:
    folder = tempfile.mkdtemp(prefix="billy-bench-")
    os.environ["BILLY_CONFIG"] = str(Path(folder) / "none.toml")
    Path(os.environ["BILLY_CONFIG"]).write_text("", encoding="utf-8")
    settings = KernelSettings(database_url=f"sqlite:///{folder}/bench.sqlite3", plugins_disabled=disabled)
    return Kernel.build(settings, extra_plugins=[("bench", BenchPlugin())])


async def time_calls(server: Any, calls: int, mode: str, rounds: int) -> list[float]:
    """Per-round mean seconds per call, for one server."""
    means = []
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        for _ in range(20):
            await client.call_tool("add", {"a": 1, "b": 2})
        for _ in range(rounds):
            started = time.perf_counter()
            for i in range(calls):
                result = await client.call_tool("add", {"a": i, "b": 2})
                assert not result.is_error and result.structured_content == {"sum": i + 2}, result
            means.append((time.perf_counter() - started) / calls)
    return means


async def measure(calls: int, rounds: int, mode: str, disabled: list[str]) -> dict[str, float]:
    kernel = billy_kernel(disabled)
    servers: dict[str, Any] = {
        "billy-mcp kernel": build_mcp_server(kernel, transport="memory"),
        "sdk-mcpserver": sdk_mcpserver(),
        "sdk-lowlevel": sdk_lowlevel(),
    }
    samples: dict[str, list[float]] = {name: [] for name in servers}
    async with kernel:
        for _ in range(rounds):  # interleave: one round of each server per pass
            for name, server in servers.items():
                samples[name] += await time_calls(server, calls, mode, rounds=1)
    print(f"plugins enabled: {', '.join(kernel.plugins.enabled_names())}")
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--mode", choices=["auto", "legacy"], default="auto")
    parser.add_argument("--disable", default="", help="comma-separated plugins to disable")
    options = parser.parse_args()
    disabled = [name for name in options.disable.split(",") if name]
    results = anyio.run(measure, options.calls, options.rounds, options.mode, disabled)
    kernel = results["billy-mcp kernel"]
    print(
        f"mode={options.mode} calls/round={options.calls} rounds={options.rounds} python={sys.version.split()[0]}"
    )
    print(f"{'server':<20} {'µs/call':>10} {'kernel ratio':>13} {'kernel overhead µs':>19}")
    for name, seconds in results.items():
        ratio = kernel / seconds
        overhead = (kernel - seconds) * 1e6
        print(f"{name:<20} {seconds * 1e6:>10.1f} {ratio:>12.2f}x {overhead:>19.1f}")


if __name__ == "__main__":
    main()
