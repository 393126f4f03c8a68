"""The plugin in a kernel: its place on the chain, settings, health, metrics, deadlines, fallback."""

from __future__ import annotations

from typing import Any

import pytest
from billy_resilience.metrics import ResilienceMetrics
from billy_resilience.runtime import Fallback
from billy_resilience.stores import LocalRates
from prometheus_client import CollectorRegistry

from billy_core.errors import StartupError
from billy_core.upstream import ORDER_CIRCUIT_BREAKER, ORDER_RATE_LIMIT, ORDER_RETRY
from tests.resilience.chaos import CVR, call, kernel_with_create_tools

pytestmark = pytest.mark.anyio


def test_the_layers_sit_on_the_upstream_chain_retry_around_gate_and_limit(make_kernel, monkeypatch):
    monkeypatch.setenv("BILLY_RESILIENCE__RETRY_MAX_ATTEMPTS", "7")
    kernel = make_kernel()
    layers = {item.name: item.order for item in kernel.registered.upstream_middleware}
    assert layers["cache"] < layers["circuit_breaker_outcome"] < layers["retry"]  # one outcome per request
    assert layers["retry"] == ORDER_RETRY < layers["circuit_breaker"] == ORDER_CIRCUIT_BREAKER
    assert layers["circuit_breaker"] < layers["rate_limit"] == ORDER_RATE_LIMIT
    assert kernel.plugin_settings("resilience").retry_max_attempts == 7


def test_a_bad_setting_stops_start_up_naming_it(make_kernel, monkeypatch):
    monkeypatch.setenv("BILLY_RESILIENCE__BREAKER_FAILURE_RATE", "1.5")
    with pytest.raises(StartupError, match="BILLY_RESILIENCE__BREAKER_FAILURE_RATE"):
        make_kernel()


def test_the_breaker_can_be_switched_off(make_kernel, monkeypatch):
    monkeypatch.setenv("BILLY_RESILIENCE__BREAKER_ENABLED", "false")
    names = {item.name for item in make_kernel().registered.upstream_middleware}
    assert not {"circuit_breaker", "circuit_breaker_outcome"} & names and {"retry", "rate_limit"} <= names


async def test_health_and_metrics_report_the_breakers(make_kernel, sandbox):
    kernel = make_kernel(api_url=sandbox.api_url, access_token=sandbox.token, sandbox=True)
    async with kernel:
        assert (await call(kernel, "list_invoices", {"limit": 1}))[0]
        readiness = await kernel.readiness()
        rendered = kernel.metrics.render().decode()
    check = readiness.checks["circuit_breakers"]
    assert check["state"] == "ok" and check["local"] is False and check["plugin"] == "resilience"
    assert any(name.endswith("/invoices") for name in check["details"]["breakers"])
    assert check["details"]["shared"] is False
    gauge = [line for line in rendered.splitlines() if line.startswith("billy_mcp_resilience_breaker_state{")]
    assert any('group="invoices"' in line and line.endswith(" 0.0") for line in gauge), gauge
    assert (
        "billy_mcp_resilience_retries_total" in rendered or "# TYPE billy_mcp_resilience_retries" in rendered
    )


@pytest.fixture
def writing_kernel(make_kernel, billy_plugins, sandbox, monkeypatch):
    env = {"BILLY_RESILIENCE__RETRY_BASE_SECONDS": "0.02", "BILLY_PLUGINS_DISABLED": "cache"}
    return kernel_with_create_tools(
        make_kernel,
        billy_plugins,
        sandbox,
        monkeypatch,
        env,
        tool_timeout_seconds=1.5,
        upstream_timeout_seconds=0.3,
    )


async def test_a_hanging_billy_never_hangs_a_call_past_its_deadline(writing_kernel, sandbox):
    kernel = writing_kernel
    arguments = {"name": "Hængende ApS", "cvr": CVR, "idempotency_key": "hang-0001"}
    async with kernel:
        assert (await call(kernel, "list_invoices", {"limit": 1}))[0]
        # every request hangs: the create is committed, its answer never comes, nor any read-back
        sandbox.faults(
            latency_ms=5000, commit_then_timeout_rate=1.0, commit_then_timeout_mode="hang", hang_s=5
        )
        read_ok, read = await call(kernel, "list_invoices", {"limit": 1})
        create_ok, created = await call(kernel, "chaos_create_contact", arguments)
        sandbox.clear_faults()
        # the client retries with the same key: the record is read back, not made again
        again_ok, again = await call(kernel, "chaos_create_contact", arguments)
    assert not read_ok and read["code"] == "upstream_unavailable" and read["retryable"] is True
    assert not create_ok and created["code"] == "upstream_unavailable" and created["retryable"] is True
    assert again_ok
    assert [c["id"] for c in sandbox.list("contacts", name="Hængende ApS")] == [again["id"]]


async def test_redis_failures_fall_back_to_local_decisions():
    class Broken:
        async def reserve(self, *args: Any) -> float:
            raise ConnectionError("redis is down")

    metrics = ResilienceMetrics(CollectorRegistry())
    rates: Any = Fallback(Broken(), LocalRates(), "rate_limit", metrics)
    assert await rates.reserve("k", 100.0, 0.0, 1000.0) == 0.0
    assert await rates.reserve("k", 100.0, 0.0, 1000.0) > 0  # the local limiter paces
    assert metrics.shared_state_errors.labels("rate_limit")._value.get() == 2
