"""Readiness: local dependencies decide it, remote ones only degrade it."""

from __future__ import annotations

import pytest

from billy_core import hookimpl
from billy_core.health import HealthCheck, HealthState, HealthStatus
from tests.support.http_server import free_port


@pytest.mark.anyio
async def test_configured_redis_that_is_down_makes_readiness_fail(make_kernel):
    kernel = make_kernel(redis_url=f"redis://127.0.0.1:{free_port()}/0", access_token="x")
    async with kernel:
        readiness = await kernel.readiness()
    assert readiness.ready is False
    assert readiness.checks["redis"]["state"] == "failing" and readiness.checks["redis"]["local"] is True


@pytest.mark.anyio
async def test_real_redis_is_ready(make_kernel, redis_url, billy_sandbox):
    kernel = make_kernel(redis_url=redis_url, api_url=billy_sandbox.api_url, access_token=billy_sandbox.token)
    async with kernel:
        readiness = await kernel.readiness()
    assert readiness.ready is True and readiness.state == HealthState.OK
    assert readiness.checks["redis"]["message"] == "PONG"


@pytest.mark.anyio
async def test_a_failing_remote_check_degrades_and_a_hanging_check_fails(make_kernel, billy_plugins):
    class Checks:
        @hookimpl
        def register_health_checks(self, register):
            async def remote_down() -> HealthStatus:
                raise ConnectionError("billy down")

            register(HealthCheck("remote", remote_down, local=False))

    billy_plugins.append(("checks", Checks()))
    kernel = make_kernel(api_url=f"http://127.0.0.1:{free_port()}/v2", access_token="x")
    async with kernel:
        readiness = await kernel.readiness()
    assert readiness.ready is True and readiness.state == HealthState.DEGRADED
    assert readiness.checks["remote"]["message"] == "ConnectionError: billy down"
    assert readiness.checks["remote"]["plugin"] == "checks"
