"""Overhead of the resilience plugin on a healthy upstream, as a ratio against it disabled, in one run.

Two kernels (three with ``--redis``) point at one sandbox (its own process) that never fails: one with
the resilience plugin, one without it (``BILLY_PLUGINS_DISABLED=resilience``), and optionally
one whose breaker and rate limit live in Redis. The cache and audit plugins are off in all of
them, so every call reaches Billy through the upstream chain. The rate limit is set far above
what the run can reach, so its script runs on every request without ever making one wait. Rounds interleave the kernels so
machine noise hits them alike; each figure is the median of per-round means.

Three workloads:
  * ``client request``: ``ctx.billy.request("GET", "/invoices", pageSize=1)``: the upstream chain
    and one HTTP request to the sandbox;
  * ``tool call``: ``list_invoices {"limit": 1}`` through the whole kernel pipeline;
  * ``chain only``: the upstream chain with an instant answer instead of HTTP: the layers' own
    cost without the sandbox's noise (read its "overhead µs"; the ratio against a bare await is
    not meaningful).

    .venv/bin/python benchmarks/resilience_overhead.py [--calls 200] [--rounds 9] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import httpx

from billy_core.context import LOCAL_PRINCIPAL
from billy_core.kernel import Kernel
from billy_core.pipeline import compose
from billy_core.settings import KernelSettings
from billy_core.upstream import UpstreamRequest, UpstreamResponse

Workload = Callable[[Kernel, int], Awaitable[None]]


@contextlib.contextmanager
def sandbox_process() -> Iterator[SimpleNamespace]:
    """The sandbox in a process of its own, so it does not share this one's GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    command = [str(Path(sys.executable).parent / "billy-mcp"), "sandbox", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--token", token], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/_sandbox/info", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
            time.sleep(0.05)
        yield SimpleNamespace(api_url=f"{base}/v2", token=token)
    finally:
        process.terminate()
        process.wait(timeout=15)


def make_kernel(sandbox: Any, disabled: list[str], redis_url: str | None, prefix: str) -> Kernel:
    folder = tempfile.mkdtemp(prefix="billy-bench-")
    os.environ["BILLY_CONFIG"] = str(Path(folder) / "none.toml")
    Path(os.environ["BILLY_CONFIG"]).write_text("", encoding="utf-8")
    os.environ["BILLY_RESILIENCE__KEY_PREFIX"] = prefix
    # The limiter runs on every request but never makes one wait: this measures what the
    # layers cost, not the pace an operator chose.
    os.environ["BILLY_RESILIENCE__RATE_LIMIT_REQUESTS"] = "1000000"
    settings = KernelSettings(
        api_url=sandbox.api_url,
        access_token=sandbox.token,
        sandbox=True,
        database_url=f"sqlite:///{folder}/bench.sqlite3",
        plugins_disabled=disabled,
        redis_url=redis_url,
    )
    return Kernel.build(settings)


async def client_request(kernel: Kernel, calls: int) -> None:
    context = kernel.new_context("bench", principal=LOCAL_PRINCIPAL, transport="bench")
    for _ in range(calls):
        context.deadline = time.monotonic() + 30
        await context.billy.request("GET", "/invoices", query=(("pageSize", "1"),))


async def tool_call(kernel: Kernel, calls: int) -> None:
    for _ in range(calls):
        result = await kernel.call_tool(
            "list_invoices", {"limit": 1}, principal=LOCAL_PRINCIPAL, transport="bench"
        )
        assert not result.is_error, result.structured


async def chain_only(kernel: Kernel, calls: int) -> None:
    """The kernel's upstream chain with the HTTP link replaced by an instant answer."""
    answer = UpstreamResponse(status=200, body={})

    async def instant(request: UpstreamRequest) -> UpstreamResponse:
        return answer

    chain = compose(kernel.registered.upstream_middleware, instant)
    request = UpstreamRequest("GET", "/invoices", "org", "scope", "bench", "invoices")
    for _ in range(calls * 10):
        request.deadline = time.monotonic() + 30
        await chain(request)


WORKLOADS: dict[str, Workload] = {
    "client request": client_request,
    "tool call": tool_call,
    "chain only": chain_only,
}


async def measure(kernels: dict[str, Kernel], calls: int, rounds: int) -> dict[str, dict[str, float]]:
    samples: dict[str, dict[str, list[float]]] = {
        workload: {name: [] for name in kernels} for workload in WORKLOADS
    }
    for kernel in kernels.values():
        await kernel.start()
    try:
        for kernel in kernels.values():  # warm: organization discovery, connections
            await client_request(kernel, 20)
            await tool_call(kernel, 20)
        for _ in range(rounds):
            for workload, run in WORKLOADS.items():
                for name, kernel in kernels.items():
                    started = time.perf_counter()
                    await run(kernel, calls)
                    per = calls * 10 if workload == "chain only" else calls
                    samples[workload][name].append((time.perf_counter() - started) / per)
    finally:
        for kernel in kernels.values():
            await kernel.stop()
    return {
        workload: {name: statistics.median(values) for name, values in by_kernel.items()}
        for workload, by_kernel in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument(
        "--redis", default=None, help="also measure with breaker and limit state in this Redis"
    )
    options = parser.parse_args()

    prefix = f"bench:resilience:{os.getpid()}"
    for key in [k for k in os.environ if k.startswith("BILLY_")]:
        del os.environ[key]
    with sandbox_process() as sandbox:
        kernels = {
            "disabled": make_kernel(sandbox, ["resilience", "cache", "audit"], None, prefix),
            "enabled": make_kernel(sandbox, ["cache", "audit"], None, prefix),
        }
        if options.redis:
            kernels["enabled+redis"] = make_kernel(sandbox, ["cache", "audit"], options.redis, prefix)
        results = anyio.run(measure, kernels, options.calls, options.rounds)
    if options.redis:
        import redis

        client = redis.Redis.from_url(options.redis)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)

    print(f"calls/round={options.calls} rounds={options.rounds} python={sys.version.split()[0]}")
    print(f"{'workload':<16} {'kernel':<15} {'µs/call':>10} {'ratio':>8} {'overhead µs':>12}")
    for workload, by_kernel in results.items():
        base = by_kernel["disabled"]
        for name, seconds in by_kernel.items():
            print(
                f"{workload:<16} {name:<15} {seconds * 1e6:>10.1f} {seconds / base:>7.3f}x"
                f" {(seconds - base) * 1e6:>12.1f}"
            )


if __name__ == "__main__":
    main()
