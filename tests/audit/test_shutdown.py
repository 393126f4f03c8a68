"""Shutdown closes nothing a store call still uses, and writes nothing after the store is closed."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from billy_audit.chain import ZERO_HASH
from billy_audit.plugin import audit_log, audit_middleware

import billy_core.kernel
from billy_core import hookimpl
from billy_core.context import LOCAL_PRINCIPAL
from billy_core.tools import Tool
from tests.audit.helpers import draft, key_env, make_log, sandbox_settings
from tests.audit.toolkit import Empty, WriteToolkit

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("closer", ["close_writer", "dispose"])
async def test_closing_the_store_waits_for_a_transaction_in_a_worker_thread(sqlite_url, closer):
    log = make_log(sqlite_url)
    store = await log.ready()
    entered, release = threading.Event(), threading.Event()

    def work(connection: Any) -> tuple[int, str]:
        entered.set()
        release.wait()
        return store.head(connection)  # on the connection a close was asked for meanwhile

    heads = []
    closing = anyio.Event()

    async def transact() -> None:
        heads.append(await store.transact(work))  # durable: in a worker thread

    async def close() -> None:
        closing.set()
        await getattr(store, closer)()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(transact)
            try:
                await anyio.to_thread.run_sync(entered.wait)
                group.start_soon(close)
                await closing.wait()
                assert store._writer is not None  # the close waits for the transaction
            finally:
                release.set()
        assert heads == [(0, ZERO_HASH)]
        assert store._writer is None
    finally:
        await log.aclose()


class SlowRead:
    """A read tool that waits until the test lets it end."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.release = anyio.Event()

    @hookimpl
    def register_tools(self, register: Any, kernel: Any) -> None:
        async def slow_read(args: Empty, ctx: Any) -> dict[str, Any]:
            self.entered.set()
            await self.release.wait()
            return {"done": True}

        register(Tool(name="slow_read", description="slow_read", input_model=Empty, handler=slow_read))


@pytest.fixture
def build(make_kernel, billy_plugins, billy_sandbox, monkeypatch):
    def build_kernel(*plugins: tuple[str, object]):
        for key, value in key_env().items():
            monkeypatch.setenv(key, value)
        billy_plugins.extend(plugins)
        return make_kernel(**sandbox_settings(billy_sandbox))

    return build_kernel


def unrecorded_reads(kernel) -> float:
    for line in kernel.metrics.render().decode().splitlines():
        if line.startswith('billy_mcp_audit_unrecorded_total{kind="read"}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_read_that_ends_after_shutdown_is_counted_not_written(build, captured_logs):
    slow = SlowRead()
    kernel = build(("slow_read", slow))
    results = []

    async def read() -> None:
        results.append(
            await kernel.call_tool(
                "slow_read", {}, principal=LOCAL_PRINCIPAL, transport="memory", correlation_id="late-1"
            )
        )

    reads = audit_middleware(kernel).reads
    await kernel.start()
    async with anyio.create_task_group() as group:
        group.start_soon(read)
        await slow.entered.wait()
        await kernel.stop()  # the read recorder drains and the store closes while the read runs
        slow.release.set()
    assert not results[0].is_error
    assert reads._task is None  # no task writes to the closed store
    assert unrecorded_reads(kernel) == 1.0
    [line] = [line for line in captured_logs if "late-1" in line]
    assert line.startswith("ERROR") and "slow_read" in line and "after shutdown" in line


async def test_the_audit_store_closes_before_the_kernel_services(build, monkeypatch, captured_logs):
    kernel = build(("audit_test", WriteToolkit()))
    seen: list[Any] = []
    close_services = billy_core.kernel.close_services

    async def spy(services: dict[str, Any]) -> None:
        store = audit_log(kernel).store
        seen.append(store._writer)
        await close_services(services)  # closes the audit log a second time: harmless

    monkeypatch.setattr(billy_core.kernel, "close_services", spy)
    async with kernel:
        for name in ("probe_write", "list_invoices"):  # a write and a batch of reads
            result = await kernel.call_tool(name, {}, principal=LOCAL_PRINCIPAL, transport="memory")
            assert not result.is_error
        await audit_middleware(kernel).reads.settled()
        store = audit_log(kernel).store
        assert store._writer is not None
    assert seen == [None]
    assert not [line for line in captured_logs if line.startswith("WARNING") and "fail" in line]


async def test_the_checkpoint_timer_signs_a_new_chain(sqlite_url):
    log = make_log(sqlite_url, checkpoint_seconds=0.01)
    await log.append(draft(1))
    await log.start()
    try:
        with anyio.fail_after(10):
            while await log.store.latest(log.store.checkpoints) is None:  # noqa: ASYNC110  (a store row)
                await anyio.sleep(0.01)
    finally:
        await log.stop()
        await log.aclose()


async def test_the_checkpoint_timer_skips_when_nothing_was_appended(sqlite_url, monkeypatch):
    log = make_log(sqlite_url, checkpoint_seconds=0.01)
    await log.append(draft(1))
    await log.checkpoint()
    store = log.store
    transactions = 0
    transact = store.transact

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal transactions
        transactions += 1
        return await transact(*args, **kwargs)

    monkeypatch.setattr(store, "transact", counted)
    ticks = 0
    ticked = anyio.Event()
    head_signed = log._head_signed

    def observed() -> bool:
        nonlocal ticks
        ticks += 1
        if ticks == 3:
            ticked.set()
        return head_signed()

    monkeypatch.setattr(log, "_head_signed", observed)
    await log.start()
    try:
        with anyio.fail_after(10):
            await ticked.wait()
        assert transactions == 0
    finally:
        await log.stop()
        await log.aclose()
    assert transactions == 1  # the checkpoint at shutdown
