"""Every log line is PII-filtered, with or without the audit plugin, debug bodies included."""

from __future__ import annotations

import httpx
import pytest
from loguru import logger

from billy_core.logs import configure_logging
from billy_core.settings import KernelSettings
from billy_core.testing import mcp_client


@pytest.fixture
def captured_logs():
    lines: list[str] = []
    yield lines.append, lines
    logger.remove()
    logger.configure(patcher=lambda record: None)  # undo configure_logging's global patcher


def seeded_personal_data(sandbox) -> list[str]:
    info = httpx.get(f"{sandbox.base_url}/_sandbox/info").json()
    return [value for value in info["personal_data"] if value]


def test_log_lines_lose_personal_data_but_keep_cvr_and_ids(make_kernel, captured_logs):
    sink, lines = captured_logs
    kernel = make_kernel()
    configure_logging(kernel.settings)
    logger.add(sink, format="{message}")
    logger.info("customer jens@example.dk (CVR 25313763, id cSHBqWWITexZvQy29lqpYg) tlf +45 20 12 34 56")
    text = "".join(lines)
    assert "jens@example.dk" not in text and "20 12 34 56" not in text
    assert "25313763" in text and "cSHBqWWITexZvQy29lqpYg" in text
    assert "[email:" in text and "[phone:" in text


def test_hash_markers_are_stable_across_restarts(make_kernel, captured_logs):
    from billy_core import pii

    make_kernel()
    first = pii.redact_for_log("mail jens@example.dk")
    make_kernel()
    assert pii.redact_for_log("mail jens@example.dk") == first


@pytest.mark.anyio
async def test_debug_bodies_are_filtered(make_kernel, billy_sandbox, captured_logs):
    sink, lines = captured_logs
    kernel = make_kernel(
        api_url=billy_sandbox.api_url, access_token=billy_sandbox.token, sandbox=True, log_bodies=True
    )
    configure_logging(KernelSettings(log_level="DEBUG"))
    logger.add(sink, format="{message}", level="DEBUG")
    async with mcp_client(kernel) as client:
        await client.call_tool("list_customers", {"limit": 100})
        await client.call_tool("list_invoices", {"limit": 200})
    text = "".join(lines)
    assert "response=" in text, "debug bodies were not logged at all"
    leaked = [value for value in seeded_personal_data(billy_sandbox) if value in text]
    assert leaked == []
