"""Read entries are recorded off the call path: none lost through a store outage, none out of order."""

from __future__ import annotations

import anyio
import pytest
from billy_audit.plugin import audit_log, audit_middleware
from billy_audit.store import Filters
from loguru import logger

from billy_core.context import LOCAL_PRINCIPAL
from tests.audit.helpers import key_env, sandbox_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def kernel(make_kernel, billy_sandbox, monkeypatch):
    for key, value in key_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BILLY_AUDIT__READ_RETRY_SECONDS", "0.05")
    return make_kernel(**sandbox_settings(billy_sandbox))


async def read(kernel, number: int):
    result = await kernel.call_tool(
        "validate_cvr",
        {"cvr": "25313763"},
        principal=LOCAL_PRINCIPAL,
        transport="memory",
        correlation_id=f"bg-{number}",
    )
    assert not result.is_error
    return result


async def recorded_reads(kernel) -> list[str]:
    rows = await audit_log(kernel).store.recent(Filters(kind="read"), 1000)
    return [row.parsed()["correlation_id"] for row in reversed(rows)]


class FlakyStore:
    """Makes the audit log's store writes fail until ``heal()``: an outage, then recovery."""

    def __init__(self, log, monkeypatch):
        self.down = True
        original = log._write

        async def write(batch, sent):
            if self.down:
                raise ConnectionError("simulated outage")
            return await original(batch, sent)

        monkeypatch.setattr(log, "_write", write)

    def heal(self):
        self.down = False


async def test_reads_are_recorded_in_order_once_settled(kernel):
    async with kernel:
        for number in range(30):
            await read(kernel, number)
        with anyio.fail_after(10):
            await audit_middleware(kernel).reads.settled()
        assert await recorded_reads(kernel) == [f"bg-{number}" for number in range(30)]


async def test_an_outage_delays_read_entries_but_loses_none(kernel, monkeypatch):
    async with kernel:
        log = audit_log(kernel)
        flaky = FlakyStore(log, monkeypatch)
        for number in range(10):
            await read(kernel, number)  # reads go on while the store is down
        await anyio.sleep(0.2)
        assert await recorded_reads(kernel) == []
        assert log.last_failure == "ConnectionError: simulated outage"
        flaky.heal()
        with anyio.fail_after(10):
            await audit_middleware(kernel).reads.settled()
        assert await recorded_reads(kernel) == [f"bg-{number}" for number in range(10)]
        assert log.last_failure is None


async def test_entries_still_queued_at_shutdown_are_written_then(kernel):
    async with kernel:
        for number in range(5):
            await read(kernel, number)
    async with kernel:
        assert await recorded_reads(kernel) == [f"bg-{number}" for number in range(5)]


async def test_a_full_queue_drops_the_oldest_and_counts_it(make_kernel, billy_sandbox, monkeypatch):
    for key, value in key_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BILLY_AUDIT__READ_QUEUE_LIMIT", "3")
    kernel = make_kernel(**sandbox_settings(billy_sandbox))
    async with kernel:
        FlakyStore(audit_log(kernel), monkeypatch)
        for number in range(5):
            await read(kernel, number)
    metrics = kernel.metrics.render().decode()
    assert 'billy_mcp_audit_unrecorded_total{kind="read"}' in metrics
    dropped = [
        line
        for line in metrics.splitlines()
        if line.startswith('billy_mcp_audit_unrecorded_total{kind="read"}')
    ]
    assert float(dropped[0].split()[-1]) == 5.0  # 2 dropped when full, 3 never recorded before shutdown


async def test_a_draft_that_cannot_be_built_is_counted_and_the_others_recorded(kernel, monkeypatch):
    lines: list[str] = []
    handler = logger.add(lines.append, level="ERROR", format="{message}")
    middleware = audit_middleware(kernel)
    build = middleware.draft

    def draft(call, kind, **options):
        if call.correlation_id == "bg-1":
            raise ValueError("cannot build")
        return build(call, kind, **options)

    monkeypatch.setattr(middleware, "draft", draft)
    try:
        async with kernel:
            for number in range(3):
                await read(kernel, number)
            with anyio.fail_after(10):
                await middleware.reads.settled()
            assert await recorded_reads(kernel) == ["bg-0", "bg-2"]
            await read(kernel, 3)  # the recorder lives on
            with anyio.fail_after(10):
                await middleware.reads.settled()
            assert await recorded_reads(kernel) == ["bg-0", "bg-2", "bg-3"]
            assert 'billy_mcp_audit_unrecorded_total{kind="read"} 1.0' in kernel.metrics.render().decode()
    finally:
        logger.remove(handler)
    [line] = [line for line in lines if "bg-1" in line]
    assert "validate_cvr" in line and "could not be built" in line


async def test_an_unexpected_failure_keeps_the_entries_queued(kernel, monkeypatch):
    async with kernel:
        log = audit_log(kernel)
        append_all = log.append_all
        failures = ["once"]

        async def fails_once(drafts):
            if failures:
                failures.pop()
                raise RuntimeError("not the store's outage")
            return await append_all(drafts)

        monkeypatch.setattr(log, "append_all", fails_once)
        for number in range(3):
            await read(kernel, number)
        with anyio.fail_after(10):
            await audit_middleware(kernel).reads.settled()
        assert not failures
        assert await recorded_reads(kernel) == ["bg-0", "bg-1", "bg-2"]
