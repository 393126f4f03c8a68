"""What a cache hit itself costs inside a read tool call, in one run.

The same cached ``list_invoices`` call runs in process (``kernel.call_tool``, no transport)
through three kernels on the sandbox, rounds interleaved:

* ``no cache``: the cache disabled: every call goes to Billy (the sandbox on loopback);
* ``perfect cache``: the cache disabled and, in its place, a stub that answers repeated
  GETs from a dict: no keys, no versions, no copies, no metrics (a lower bound);
* ``cache L1`` (and ``cache L1+L2`` with ``--redis``): the cache plugin answering from L1,
  checking tag versions locally or in Redis.

``cache - perfect`` is the cost of a hit: key, tag versions, metrics (L1 hands out the stored,
read-only answer itself, as the stub does).

    .venv/bin/python benchmarks/cache_hit_cost.py [--calls 300] [--rounds 5] [--redis URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from billy_cache.plugin import clear_all

from billy_core import hookimpl
from billy_core.context import LOCAL_PRINCIPAL
from billy_core.kernel import Kernel
from billy_core.settings import KernelSettings
from billy_core.upstream import UpstreamNext, UpstreamRequest, UpstreamResponse

ARGUMENTS = {"limit": 20, "payment_status": "unpaid"}


class PerfectCache:
    """Answers a repeated GET with the very response object it got the first time."""

    def __init__(self) -> None:
        self.seen: dict[Any, UpstreamResponse] = {}

    async def __call__(self, request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse:
        key = (request.method, request.path, request.query)
        found = self.seen.get(key) if request.method == "GET" else None
        if found is None:
            found = self.seen[key] = await call_next(request)
        return found

    @hookimpl
    def register_upstream_middleware(self, register: Any) -> None:
        register(self, order=100, name="perfect_cache")


async def per_call(kernel: Kernel, calls: int) -> float:
    """Median seconds of one call, the cache warm."""
    async with kernel:
        for _ in range(20):
            await kernel.call_tool("list_invoices", ARGUMENTS, principal=LOCAL_PRINCIPAL, transport="bench")
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            result = await kernel.call_tool(
                "list_invoices", ARGUMENTS, principal=LOCAL_PRINCIPAL, transport="bench"
            )
            samples.append(time.perf_counter() - started)
            assert not result.is_error, result.structured
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", default=None)
    options = parser.parse_args()

    from billy_sandbox.runner import SandboxServer

    folder = Path(tempfile.mkdtemp(prefix="billy-cache-hit-"))
    os.environ["BILLY_CONFIG"] = str(folder / "none.toml")
    (folder / "none.toml").write_text("", encoding="utf-8")
    os.environ["BILLY_CACHE__TTL_SECONDS"] = '{"invoices": 3600, "organization": 3600}'
    os.environ["BILLY_CACHE__KEY_PREFIX"] = f"billy:cache:bench-{os.getpid()}"
    with SandboxServer(host="127.0.0.1", port=0) as sandbox:

        def kernel(disabled: list[str], extra: list[tuple[str, object]], redis: str | None) -> Kernel:
            settings = KernelSettings(
                api_url=sandbox.api_url,
                access_token=sandbox.token,
                database_url=f"sqlite:///{tempfile.mkdtemp(dir=folder)}/bench.sqlite3",
                redis_url=redis,
                plugins_disabled=disabled,
            )
            return Kernel.build(settings, extra_plugins=extra)

        variants: dict[str, Callable[[], Kernel]] = {
            "no cache": lambda: kernel(["cache"], [], None),
            "perfect cache": lambda: kernel(["cache"], [("perfect", PerfectCache())], None),
            "cache L1": lambda: kernel([], [], None),
        }
        if options.redis:
            variants["cache L1+L2"] = lambda: kernel([], [], options.redis)
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(options.rounds):
            for name, make in variants.items():
                samples[name].append(anyio.run(per_call, make(), options.calls))
        if options.redis:
            anyio.run(clear_all, kernel([], [], options.redis))

    medians = {name: statistics.median(values) for name, values in samples.items()}
    perfect = medians["perfect cache"]
    print(f"list_invoices {ARGUMENTS}, in process, median of {options.rounds} rounds x {options.calls} calls")
    print(f"{'kernel':<15} {'µs/call':>9} {'vs perfect':>11} {'hit cost µs':>12}")
    for name, seconds in medians.items():
        cost = (seconds - perfect) * 1e6 if name.startswith("cache") else float("nan")
        print(f"{name:<15} {seconds * 1e6:>9.0f} {seconds / perfect:>10.2f}x {cost:>12.0f}")


if __name__ == "__main__":
    main()
