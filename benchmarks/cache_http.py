"""Cached read tool calls over Streamable HTTP against a bare SDK server, in one run.

Two server processes on loopback:

* ``billy-mcp``: ``billy-mcp serve --transport http`` on the sandbox, every enabled plugin,
  answering ``list_invoices`` from its cache (L1, plus Redis L2 with ``--redis``);
* ``bare-sdk``: the SDK's ``MCPServer`` (stateless Streamable HTTP, SSE answers like
  billy-mcp) with a ``list_invoices`` tool that returns the very payload billy-mcp answered.

The load generator is the SDK's ``Client`` in this process. Latency: sequential calls,
rounds interleaved between the servers, p50 and p99 of every call. Throughput: N concurrent
clients each calling in a loop for a fixed time, servers alternated; the median of the paired
ratios (one repeat runs every server back to back) and their range.
Every figure is reported as a ratio billy-mcp / bare measured in the same run.

    .venv/bin/python benchmarks/cache_http.py [--calls 300] [--rounds 6] [--seconds 5] [--repeats 3] [--redis URL] [--no-gzip]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


# ---------------------------------------------------------------------- the bare servers


class Page(BaseModel):
    """The shape of billy-mcp's list answers (ListOutput)."""

    items: list[dict[str, Any]]
    total: int
    has_more: bool
    next_offset: int | None = None


def bare_server(kind: str, port: int, spec_file: str) -> None:
    """A bare SDK server answering the benchmarked tool with billy-mcp's payload.

    ``mcpserver``: the SDK's high-level ``MCPServer`` (list_invoices only: its signature is
    written out); ``lowlevel``: the low-level ``Server`` with billy-mcp's input and output
    schemas, answering like billy-mcp does (structured content plus the same JSON as text).
    """
    import uvicorn

    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    payload = spec["payload"]
    if kind == "mcpserver":
        from mcp.server import MCPServer

        server: Any = MCPServer("bare")

        @server.tool()
        async def list_invoices(limit: int = 50, payment_status: str | None = None) -> Page:
            """List invoices (fixed payload)."""
            return Page(**payload)

    else:
        import mcp_types as types
        from mcp.server.lowlevel import Server

        tool = types.Tool(
            name=spec["name"], input_schema=spec["input_schema"], output_schema=spec["output_schema"]
        )
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

        async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
            return types.ListToolsResult(tools=[tool])

        async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=text)], structured_content=payload
            )

        server = Server(
            "bare-lowlevel",
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            get_tool_input_schema=lambda name: tool.input_schema if name == tool.name else None,
        )
    app = server.streamable_http_app(stateless_http=True, json_response=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    proc = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---------------------------------------------------------------------- measuring


async def one_call(client: Any, options: argparse.Namespace) -> dict[str, Any]:
    result = await client.call_tool(options.tool, options.arguments)
    if result.is_error:
        raise RuntimeError(f"the call failed: {result.structured_content}")
    return dict(result.structured_content)


async def latencies(url: str, options: argparse.Namespace) -> list[float]:
    from mcp import Client

    samples = []
    async with Client(f"{url}/mcp") as client:
        for _ in range(10):
            await one_call(client, options)
        for _ in range(options.calls):
            started = time.perf_counter()
            await one_call(client, options)
            samples.append(time.perf_counter() - started)
    return samples


async def throughput(url: str, clients: int, options: argparse.Namespace) -> float:
    """Calls per second completed by ``clients`` concurrent clients during ``options.seconds``."""
    from mcp import Client

    done = 0
    opened: list[int] = []
    ready = anyio.Event()
    stop_at = time.monotonic() + 3600

    async def worker() -> None:
        nonlocal done
        async with Client(f"{url}/mcp") as client:
            await one_call(client, options)
            opened.append(1)
            if len(opened) == clients:
                ready.set()
            await ready.wait()
            while time.monotonic() < stop_at:
                await one_call(client, options)
                done += 1

    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(worker)
        await ready.wait()
        started = time.monotonic()
        stop_at = started + options.seconds
    return done / (time.monotonic() - started)


def paired_ratios(ours: list[float], theirs: list[float]) -> str:
    """The median of the repeat-by-repeat ratios and their range: runs of one repeat are
    back to back, so a slower minute of the shared host slows both sides of a ratio."""
    ratios = [mine / other for mine, other in zip(ours, theirs, strict=True)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(servers: dict[str, str], options: argparse.Namespace) -> None:
    bares = [name for name in servers if name != "billy-mcp"]
    samples: dict[str, list[float]] = {name: [] for name in servers}
    for _ in range(options.rounds):
        for name, url in servers.items():
            samples[name] += await latencies(url, options)
    print(
        f"\nlatency of one {options.tool} call ({options.rounds} rounds x {options.calls} calls, interleaved)"
    )
    print(f"{'server':<14} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'p50 ratio':>10} {'p99 ratio':>10}")
    ours = samples["billy-mcp"]
    for name, values in samples.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        ratios = f"{percentile(ours, 0.5) / p50:>9.2f}x {percentile(ours, 0.99) / p99:>9.2f}x"
        print(
            f"{name:<14} {p50 * 1e3:>8.2f} {p99 * 1e3:>8.2f} {statistics.mean(values) * 1e3:>8.2f} {ratios}"
        )
    print("(ratio = billy-mcp / that server; target <= 1.3x)")

    print(
        f"\nthroughput ({options.seconds:g} s per run; {options.repeats} repeats, each running every"
        " server once, back to back)"
    )
    print(f"{'clients':>7} " + " ".join(f"{name + '/s':>16}" for name in servers) + "  ratio: median (range)")
    for clients in options.clients:
        rates: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(options.repeats):
            for name, url in servers.items():
                rates[name].append(await throughput(url, clients, options))
        medians = {name: statistics.median(values) for name, values in rates.items()}
        ratios = ", ".join(f"{paired_ratios(rates['billy-mcp'], rates[name])} {name}" for name in bares)
        print(f"{clients:>7} " + " ".join(f"{medians[name]:>16.0f}" for name in servers) + f"  {ratios}")
    print("(ratio = billy-mcp / that server; target >= 0.8x, and >= 100 calls/s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs per server and client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--tool", default="list_invoices")
    parser.add_argument("--arguments", type=json.loads, default={"limit": 20, "payment_status": "unpaid"})
    parser.add_argument("--redis", default="", help="BILLY_REDIS_URL for billy-mcp (L2 on Redis)")
    parser.add_argument("--disable", default="", help="plugins to disable in billy-mcp")
    parser.add_argument(
        "--no-gzip",
        action="store_true",
        help="billy-mcp answers uncompressed, as the bare servers do (by default it gzips answers over 1 KB)",
    )
    parser.add_argument("--bare-server", nargs=3, metavar=("KIND", "PORT", "SPEC"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.bare_server:
        kind, port, spec = options.bare_server
        bare_server(kind, int(port), spec)
        return

    from billy_sandbox.runner import SandboxServer

    folder = Path(tempfile.mkdtemp(prefix="billy-cache-bench-"))
    (folder / "none.toml").write_text("", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("BILLY_")}
    with SandboxServer(host="127.0.0.1", port=0) as sandbox, contextlib.ExitStack() as stack:
        billy_env = {
            **env,
            "BILLY_CONFIG": str(folder / "none.toml"),
            "BILLY_API_URL": sandbox.api_url,
            "BILLY_ACCESS_TOKEN": sandbox.token,
            "BILLY_DATABASE_URL": f"sqlite:///{folder / 'billy.sqlite3'}",
            "BILLY_LOG_LEVEL": "WARNING",
            # Fresh for the whole run, so every measured call is a cache hit.
            "BILLY_CACHE__DEFAULT_TTL_SECONDS": "3600",
            "BILLY_CACHE__TTL_SECONDS": json.dumps({"invoices": 3600, "organization": 3600}),
            "BILLY_PLUGINS_DISABLED": options.disable,
            **({"BILLY_GZIP_MINIMUM_SIZE": str(2**31)} if options.no_gzip else {}),
            **({"BILLY_REDIS_URL": options.redis} if options.redis else {}),
            "BILLY_CACHE__KEY_PREFIX": f"billy:cache:bench-{os.getpid()}",
        }
        port = free_port()
        command = [str(BIN / "billy-mcp"), "serve", "--transport", "http", "--port", str(port)]
        servers = {"billy-mcp": stack.enter_context(process(command, billy_env, port, folder / "ours.log"))}
        spec = anyio.run(tool_spec, servers["billy-mcp"], options)
        (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        kinds = ["mcpserver", "lowlevel"] if options.tool == "list_invoices" else ["lowlevel"]
        for kind in kinds:
            port = free_port()
            command = [sys.executable, __file__, "--bare-server", kind, str(port), str(folder / "spec.json")]
            servers[f"sdk-{kind}"] = stack.enter_context(process(command, env, port, folder / f"{kind}.log"))
        before = sandbox_gets(sandbox.base_url)
        print(
            f"{options.tool} {json.dumps(options.arguments)}: {len(json.dumps(spec['payload']))} bytes of JSON"
        )
        print(
            f"billy-mcp plugins: {plugins(billy_env)}; L2 Redis: {'yes' if options.redis else 'no'};"
            f" gzip: {'no' if options.no_gzip else 'yes'} (the bare servers: no)"
        )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load generator in this process")
        anyio.run(measure, servers, options)
        print(f"\nupstream GETs during the measurement: {sandbox_gets(sandbox.base_url) - before}")
    if options.redis:  # leave nothing of this run in the shared Redis
        subprocess.run([str(BIN / "billy-mcp"), "cache", "clear"], env=billy_env, capture_output=True)


async def tool_spec(url: str, options: argparse.Namespace) -> dict[str, Any]:
    """billy-mcp's schemas for the tool and its (cached) answer, for the bare servers."""
    from mcp import Client

    async with Client(f"{url}/mcp") as client:
        payload = await one_call(client, options)
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    payload.pop("freshness", None)
    tool = tools[options.tool]
    return {
        "name": tool.name,
        "input_schema": tool.input_schema,
        "output_schema": tool.output_schema,
        "payload": payload,
    }


def sandbox_gets(base_url: str) -> int:
    routes = httpx.get(f"{base_url}/_sandbox/stats").json()["by_route"]
    return sum(count for route, count in routes.items() if route.startswith("GET "))


def plugins(env: dict[str, str]) -> str:
    listed = subprocess.run(
        [str(BIN / "billy-mcp"), "plugins", "list", "--json"], env=env, capture_output=True, text=True
    )
    return ", ".join(row["name"] for row in json.loads(listed.stdout) if row["enabled"])


if __name__ == "__main__":
    main()
