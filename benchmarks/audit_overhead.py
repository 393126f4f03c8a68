"""Audit overhead per tool call, read and write, as a ratio against the same call with the plugin off.

Two kernels point at one sandbox (its own process, so it does not share this one's GIL): one
with the audit plugin, one with ``BILLY_PLUGINS_DISABLED=audit``. Cache and resilience are off
in both, so every call reaches Billy and the only difference is the audit. Rounds interleave
the kernels so machine noise hits them alike; each figure is the median of per-round means.

Workloads, each through ``kernel.call_tool`` (the whole pipeline):
  * ``read (Billy)``: ``list_invoices {"limit": 1}``: one read entry per call;
  * ``write (Billy)``: a write tool that PUTs a contact change to the sandbox: an intent entry
    committed before the PUT, an outcome entry after;
  * ``read (no I/O)`` / ``write (no I/O)``: tools that answer in-process: the audit's own cost
    without the sandbox's noise (read the "overhead µs"; their ratios only say how cheap the
    tools are).

The audit store is a SQLite file (WAL) in a temporary folder, or ``--database-url`` (e.g. the
local PostgreSQL, in a schema of its own that is dropped afterwards).

    .venv/bin/python benchmarks/audit_overhead.py [--calls 200] [--rounds 7] [--database-url URL]
"""

from __future__ import annotations

import argparse
import base64
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
from typing import Any

import anyio
import httpx
from pydantic import Field

from billy_core import hookimpl
from billy_core.context import LOCAL_PRINCIPAL
from billy_core.kernel import Kernel
from billy_core.settings import KernelSettings
from billy_core.tools import Tool, ToolInput

Workload = Callable[[Kernel, int], Awaitable[None]]


class PhoneArgs(ToolInput):
    contact_id: str
    phone: str = Field(description="New phone number")


class NoArgs(ToolInput):
    value: int = 0


class BenchTools:
    @hookimpl
    def register_tools(self, register: Callable[[Tool], Any]) -> None:
        async def set_phone(args: PhoneArgs, ctx: Any) -> dict[str, Any]:
            body = await ctx.billy.update("contacts", args.contact_id, {"phone": args.phone})
            return {"id": body["contacts"][0]["id"]}

        async def echo(args: NoArgs, ctx: Any) -> dict[str, int]:
            return {"value": args.value}

        register(
            Tool(
                name="set_phone",
                description="write",
                input_model=PhoneArgs,
                handler=set_phone,
                read_only=False,
            )
        )
        register(
            Tool(name="echo_read", description="read", input_model=NoArgs, handler=echo, open_world=False)
        )
        register(
            Tool(
                name="echo_write",
                description="write",
                input_model=NoArgs,
                handler=echo,
                read_only=False,
                open_world=False,
            )
        )


@contextlib.contextmanager
def sandbox_process() -> Iterator[tuple[str, str]]:
    """``(api_url, token)`` of a sandbox in a process of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    command = [
        str(Path(sys.executable).parent / "billy-mcp"),
        "sandbox",
        "serve",
        "--port",
        str(port),
        "--token",
        token,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api_url = f"http://127.0.0.1:{port}/v2"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/_sandbox/info", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.1)
        yield api_url, token
    finally:
        process.terminate()
        process.wait(timeout=10)


def build(api_url: str, token: str, folder: str, disabled: list[str]) -> Kernel:
    settings = KernelSettings(
        api_url=api_url,
        access_token=token,
        sandbox=True,
        database_url=f"sqlite:///{folder}/kernel.sqlite3",
        plugins_disabled=disabled,
    )
    return Kernel.build(settings, extra_plugins=[("bench", BenchTools())])


async def call(kernel: Kernel, name: str, arguments: dict[str, Any]) -> None:
    result = await kernel.call_tool(name, arguments, principal=LOCAL_PRINCIPAL, transport="memory")
    assert not result.is_error, result.structured


def workloads(contact_id: str) -> dict[str, Workload]:
    async def read(kernel: Kernel, i: int) -> None:
        await call(kernel, "list_invoices", {"limit": 1})

    async def write(kernel: Kernel, i: int) -> None:
        await call(kernel, "set_phone", {"contact_id": contact_id, "phone": f"+45 20 {i % 100:02d} 00 00"})

    async def local_read(kernel: Kernel, i: int) -> None:
        await call(kernel, "echo_read", {"value": i})

    async def local_write(kernel: Kernel, i: int) -> None:
        await call(kernel, "echo_write", {"value": i})

    return {
        "read (Billy)": read,
        "write (Billy)": write,
        "read (no I/O)": local_read,
        "write (no I/O)": local_write,
    }


async def timed(kernel: Kernel, work: Workload, calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        await work(kernel, i)
    return (time.perf_counter() - started) / calls


async def measure(api_url: str, token: str, calls: int, rounds: int) -> dict[str, dict[str, float]]:
    folder = tempfile.mkdtemp(prefix="billy-audit-bench-")
    off = ["cache", "resilience"]
    kernels = {
        "audit": build(api_url, token, folder, off),
        "plain": build(api_url, token, folder, [*off, "audit"]),
    }
    async with kernels["audit"], kernels["plain"]:
        contacts = await kernels["plain"].call_tool(
            "list_customers", {"limit": 1}, principal=LOCAL_PRINCIPAL, transport="memory"
        )
        jobs = workloads(contacts.structured["items"][0]["id"])
        samples: dict[str, dict[str, list[float]]] = {name: {k: [] for k in kernels} for name in jobs}
        for work in jobs.values():  # warm up both
            for kernel in kernels.values():
                await timed(kernel, work, 20)
        for _ in range(rounds):
            for name, work in jobs.items():
                for label, kernel in kernels.items():
                    samples[name][label].append(await timed(kernel, work, calls))
        entries = kernels["audit"].service("audit_log", lambda: None).appended
    print(f"audit entries written: {entries}")
    return {
        name: {label: statistics.median(values) for label, values in by.items()}
        for name, by in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="audit store (default: a SQLite file)")
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="billy-audit-keys-")
    os.environ["BILLY_CONFIG"] = str(Path(folder) / "none.toml")
    Path(os.environ["BILLY_CONFIG"]).write_text("", encoding="utf-8")
    os.environ["BILLY_AUDIT__HMAC_KEYS"] = "v1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    os.environ["BILLY_AUDIT__SIGNING_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    schema = None
    if options.database_url:
        schema = f"audit_bench_{secrets.token_hex(4)}"
        os.environ["BILLY_AUDIT__DATABASE_URL"] = options.database_url
        os.environ["BILLY_AUDIT__DB_SCHEMA"] = schema
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    try:
        with sandbox_process() as (api_url, token):
            results = anyio.run(measure, api_url, token, options.calls, options.rounds)
    finally:
        if schema and options.database_url:
            drop_schema(options.database_url, schema)
    store = options.database_url.split("://")[0] if options.database_url else "sqlite (WAL)"
    print(
        f"store={store} calls/round={options.calls} rounds={options.rounds} python={sys.version.split()[0]}"
    )
    print(f"{'workload':<16} {'audited µs':>11} {'plain µs':>10} {'ratio':>7} {'overhead µs':>12}")
    for name, by in results.items():
        audited, plain = by["audit"], by["plain"]
        print(
            f"{name:<16} {audited * 1e6:>11.1f} {plain * 1e6:>10.1f} {audited / plain:>6.2f}x {(audited - plain) * 1e6:>12.1f}"
        )


def drop_schema(url: str, schema: str) -> None:
    async def drop() -> None:
        from sqlalchemy import text

        from billy_core.sql import create_engine

        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()

    anyio.run(drop)


if __name__ == "__main__":
    main()
