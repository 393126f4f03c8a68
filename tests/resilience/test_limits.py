"""The upstream rate limit (GCRA, local and in Redis) and the bulkhead."""

from __future__ import annotations

import secrets
from typing import Any

import anyio
import pytest
from billy_resilience.layers import LimitLayer
from billy_resilience.metrics import ResilienceMetrics
from billy_resilience.settings import ResilienceSettings
from billy_resilience.stores import LocalRates, RedisRates, gcra
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from billy_core.errors import RateLimited, UpstreamUnavailable
from billy_core.upstream import UpstreamRequest, UpstreamResponse

pytestmark = pytest.mark.anyio


def test_gcra_lets_a_burst_through_then_paces_at_the_emission_interval():
    tat = None
    waits = []
    for _ in range(5):  # burst of 3 (tolerance 2 intervals of 100 ms), all at t=0
        wait, tat = gcra(tat, 0.0, 100.0, 200.0, 1000.0)
        waits.append(wait)
    assert waits == [0.0, 0.0, 0.0, 100.0, 200.0]
    wait, refused = gcra(tat, 0.0, 100.0, 200.0, 250.0)  # the next slot is 300 ms away
    assert wait == 300.0 and refused is None
    wait, _ = gcra(tat, 1000.0, 100.0, 200.0, 0.0)  # much later: the bucket has drained
    assert wait == 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


async def test_the_redis_script_computes_what_the_local_limiter_does(redis_url):
    client = Redis.from_url(redis_url)
    key = f"test:resilience:{secrets.token_hex(4)}:rate:{{org}}"
    clock = Clock()
    local, shared = LocalRates(clock=clock), RedisRates(client, clock=clock)
    try:
        for step in range(40):
            clock.now += (step * 37) % 90
            args = (key, 50.0, 100.0, 400.0)
            assert await local.reserve(*args) == pytest.approx(await shared.reserve(*args))
    finally:
        await client.delete(key)
        await client.aclose()


def limit_layer(store: Any, **overrides: Any) -> LimitLayer:
    settings = ResilienceSettings(**overrides)
    return LimitLayer(settings, store, ResilienceMetrics(CollectorRegistry()), prefix="test")


def request() -> UpstreamRequest:
    return UpstreamRequest(
        method="GET",
        path="/invoices",
        organization_id="org",
        credential_scope="s",
        correlation_id="c",
        resource="invoices",
    )


async def ok(req: UpstreamRequest) -> UpstreamResponse:
    return UpstreamResponse(status=200, body={})


async def test_two_instances_share_one_limit_through_redis(redis_url):
    client = Redis.from_url(redis_url)
    prefix = f"test:resilience:{secrets.token_hex(4)}"
    options = {"rate_limit_requests": 10, "rate_limit_window_seconds": 10, "rate_limit_burst": 4}
    first = limit_layer(RedisRates(client), rate_limit_max_wait_seconds=0, **options)
    second = limit_layer(RedisRates(client), rate_limit_max_wait_seconds=0, **options)
    first.prefix = second.prefix = prefix
    try:
        admitted = refused = 0
        for layer in (first, second) * 4:
            try:
                await layer(request(), ok)
                admitted += 1
            except RateLimited as exc:
                refused += 1
                assert 0 < exc.retry_after <= 1.0
        assert (admitted, refused) == (4, 4)  # the burst, whichever instance asked
    finally:
        await client.delete(f"{prefix}:rate:{{org}}")
        await client.aclose()


async def test_requests_wait_for_their_slot_within_the_max_wait():
    layer = limit_layer(
        LocalRates(),
        rate_limit_requests=20,
        rate_limit_window_seconds=1,
        rate_limit_burst=1,
        rate_limit_max_wait_seconds=0.12,
    )
    results = []

    async def one() -> None:
        try:
            await layer(request(), ok)
            results.append("ok")
        except RateLimited:
            results.append("refused")

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
    assert sorted(results) == ["ok", "ok", "ok", "refused", "refused"]  # at 0, 50 and 100 ms


async def test_a_full_bulkhead_refuses_after_a_short_wait():
    layer = limit_layer(
        LocalRates(), rate_limit_requests=0, bulkhead_max_concurrent=2, bulkhead_max_wait_seconds=0.05
    )
    release = anyio.Event()

    async def slow(req: UpstreamRequest) -> UpstreamResponse:
        await release.wait()
        return UpstreamResponse(status=200, body={})

    async with anyio.create_task_group() as group:
        group.start_soon(layer, request(), slow)
        group.start_soon(layer, request(), slow)
        await anyio.sleep(0.01)
        assert layer.bulkhead is not None and layer.bulkhead.in_use("org") == 2
        with pytest.raises(UpstreamUnavailable) as full:
            await layer(request(), ok)
        assert full.value.retryable and full.value.details["reason"] == "bulkhead_full"
        release.set()
    assert (await layer(request(), ok)).status == 200
    assert layer.bulkhead.in_use("org") == 0
