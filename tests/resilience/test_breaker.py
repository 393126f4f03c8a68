"""The circuit breaker: the state machine, the same steps in Redis, and the layer on the chain."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from billy_resilience.breaker import FAILED, OK, SLOW, BreakerConfig, BreakerState, State
from billy_resilience.layers import BreakerLayer
from billy_resilience.metrics import ResilienceMetrics
from billy_resilience.retry import RetryLayer
from billy_resilience.settings import ResilienceSettings
from billy_resilience.stores import LocalAmbiguity, LocalBreakers, RedisBreakers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from billy_core.errors import CircuitOpen, RateLimited
from billy_core.upstream import UpstreamRequest, UpstreamResponse, UpstreamTransportError

CONFIG = BreakerConfig(
    window_size=10, minimum_calls=4, failure_rate=0.5, slow_call_rate=0.75, open_ms=1000, probes=2
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_closed_until_the_minimum_number_of_calls():
    state = BreakerState()
    for _ in range(CONFIG.minimum_calls - 1):
        state.record(CONFIG, 0, FAILED, probe=False)
    assert state.state == State.CLOSED
    state.record(CONFIG, 0, FAILED, probe=False)
    assert state.state == State.OPEN


def test_opens_on_the_failure_rate_over_the_sliding_window():
    state = BreakerState()
    for code in [OK] * 10 + [FAILED] * 4:  # the window holds the last 10: 6 ok, 4 failed
        state.record(CONFIG, 0, code, probe=False)
    assert state.state == State.CLOSED and len(state.window) == 10
    state.record(CONFIG, 0, FAILED, probe=False)  # 5 of 10
    assert state.state == State.OPEN


def test_opens_on_slow_calls_even_when_they_succeed():
    state = BreakerState()
    for code in [SLOW, SLOW, SLOW, OK]:
        state.record(CONFIG, 0, code, probe=False)
    assert state.state == State.OPEN


def open_state() -> BreakerState:
    state = BreakerState()
    for _ in range(CONFIG.minimum_calls):
        state.record(CONFIG, 0, FAILED, probe=False)
    assert state.state == State.OPEN
    return state


def test_open_refuses_then_half_opens_with_a_bounded_number_of_probes():
    state = open_state()
    refused = state.acquire(CONFIG, 400)
    assert not refused.allowed and refused.retry_after_ms == 600
    probes = [state.acquire(CONFIG, 1000) for _ in range(3)]
    assert [p.allowed for p in probes] == [True, True, False]
    assert all(p.probe for p in probes[:2]) and state.state == State.HALF_OPEN
    state.record(CONFIG, 1001, OK, probe=True)
    assert state.state == State.HALF_OPEN
    state.record(CONFIG, 1002, OK, probe=True)
    assert state.state == State.CLOSED and state.window == ""


def test_failing_probes_open_it_again():
    state = open_state()
    state.acquire(CONFIG, 1000)
    state.acquire(CONFIG, 1000)
    state.record(CONFIG, 1001, FAILED, probe=True)  # 1 of 2 probes failed: at the 50% threshold
    assert state.state == State.OPEN and state.opened_at == 1001


def test_a_released_probe_frees_its_place_and_lost_probes_are_forgiven():
    state = open_state()
    assert state.acquire(CONFIG, 1000).probe and state.acquire(CONFIG, 1000).probe
    assert not state.acquire(CONFIG, 1000).allowed
    state.release(probe=True)
    assert state.acquire(CONFIG, 1000).allowed
    assert not state.acquire(CONFIG, 1500).allowed
    assert state.acquire(CONFIG, 2000).allowed  # no probe reported within open_ms: a new set


# ---------------------------------------------------------------------- the same steps in Redis


@pytest.fixture
async def redis(redis_url: str) -> Any:
    client = Redis.from_url(redis_url)
    prefix = f"test:resilience:{secrets.token_hex(4)}"
    client.test_prefix = prefix  # type: ignore[attr-defined]
    yield client
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


operations = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "record", "release", "peek"]),
        st.sampled_from([OK, FAILED, SLOW, "3", "0000", "00001"]),
        st.booleans(),
        st.floats(min_value=0, max_value=700),
    ),
    max_size=60,
)


@pytest.mark.anyio
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
async def test_the_lua_script_makes_the_same_decisions_as_the_python_state_machine(redis, steps):
    clock = Clock()
    local = LocalBreakers(clock=clock)
    shared = RedisBreakers(redis, clock=clock)
    key = f"{redis.test_prefix}:breaker:{{org}}:{secrets.token_hex(4)}"
    for op, code, probe, advance in steps:
        clock.now += advance
        if op == "acquire":
            assert await local.acquire(key, CONFIG) == await shared.acquire(key, CONFIG)
        elif op == "record":
            assert await local.record(key, CONFIG, code, probe) == await shared.record(
                key, CONFIG, code, probe
            )
        elif op == "release":
            await local.release(key, probe)
            await shared.release(key, probe)
        assert await local.peek(key, CONFIG) == await shared.peek(key, CONFIG)


# ---------------------------------------------------------------------- the layer


def request(resource: str = "invoices", organization: str = "org1") -> UpstreamRequest:
    return UpstreamRequest(
        method="GET",
        path=f"/{resource}",
        organization_id=organization,
        credential_scope="tok:x",
        correlation_id="c",
        resource=resource,
    )


def layer(store: Any, shared: bool = False, **overrides: Any) -> BreakerLayer:
    defaults: dict[str, Any] = {
        "breaker_window_size": 10,
        "breaker_minimum_calls": 4,
        "breaker_failure_rate": 0.5,
        "breaker_open_seconds": 60,
        "breaker_half_open_probes": 1,
    }
    settings = ResilienceSettings(**(defaults | overrides))
    return BreakerLayer(
        settings, store, ResilienceMetrics(CollectorRegistry()), prefix="test:resilience", shared=shared
    )


def answering(status: int) -> Any:
    async def call_next(req: UpstreamRequest) -> UpstreamResponse:
        return UpstreamResponse(status=status, body={})

    return call_next


async def failing(req: UpstreamRequest) -> UpstreamResponse:
    raise UpstreamTransportError("boom", kind="timeout", maybe_sent=True)


@pytest.mark.anyio
async def test_4xx_answers_are_not_failures_but_5xx_429_and_no_answer_are():
    breaker = layer(LocalBreakers())
    for _ in range(10):
        await breaker(request(), answering(404))
        await breaker(request(), answering(422))
    assert breaker.seen[("org1", "invoices")] == State.CLOSED
    await breaker(request(), answering(503))
    await breaker(request(), answering(429))
    with pytest.raises(UpstreamTransportError):
        await breaker(request(), failing)
    assert breaker.seen[("org1", "invoices")] == State.CLOSED  # 3 of 10
    await breaker(request(), answering(500))
    await breaker(request(), answering(502))
    assert breaker.seen[("org1", "invoices")] == State.OPEN
    with pytest.raises(CircuitOpen) as refused:
        await breaker(request(), answering(200))
    assert refused.value.retryable and 0 < refused.value.retry_after <= 60
    assert refused.value.details == {"group": "invoices", "state": "open"}
    # per organization and endpoint group: the others are untouched
    assert (await breaker(request("contacts"), answering(200))).status == 200
    assert (await breaker(request(organization="org2"), answering(200))).status == 200


@pytest.mark.anyio
async def test_inner_refusals_are_not_outcomes():
    breaker = layer(LocalBreakers())

    async def limited(req: UpstreamRequest) -> UpstreamResponse:
        raise RateLimited("slow down", retry_after=1)

    for _ in range(10):
        with pytest.raises(RateLimited):
            await breaker(request(), limited)
    assert breaker.seen[("org1", "invoices")] == State.CLOSED


@pytest.mark.anyio
async def test_two_instances_share_one_breaker_through_redis(redis):
    first = layer(RedisBreakers(redis), shared=True, breaker_sync_seconds=0)
    second = layer(RedisBreakers(redis), shared=True, breaker_sync_seconds=0)
    first.prefix = second.prefix = redis.test_prefix
    for _ in range(4):
        await first(request(), answering(503))
    with pytest.raises(CircuitOpen):
        await second(request(), answering(200))
    snapshot = await second.snapshot()
    assert snapshot[("org1", "invoices")][0] == State.OPEN


@pytest.mark.anyio
async def test_with_shared_state_successes_travel_in_batches_and_failures_at_once():
    sent: list[str] = []

    class Counting(LocalBreakers):
        async def record(self, key: str, config: BreakerConfig, code: str, probe: bool) -> Any:
            sent.append(code)
            return await super().record(key, config, code, probe)

    store = Counting()
    breaker = layer(store, shared=True, breaker_sync_seconds=60)
    for _ in range(10):
        await breaker(request(), answering(200))
    assert sent == ["0"]  # the first success, then nine waiting
    await breaker(request(), answering(503))
    assert sent == ["0", "0" * 9 + "1"]
    assert store.states[breaker.key("org1", "invoices")].window == "0" * 9 + "1"  # window of 10


@pytest.mark.anyio
async def test_slow_answers_open_the_circuit_measured_by_billys_own_time():
    breaker = layer(LocalBreakers(), breaker_slow_call_seconds=1.0, breaker_slow_call_rate=0.5)

    async def slow_answer(req: UpstreamRequest) -> UpstreamResponse:
        return UpstreamResponse(status=200, body={}, elapsed=2.5)

    for _ in range(4):
        assert (await breaker(request(), slow_answer)).status == 200
    assert breaker.seen[("org1", "invoices")] == State.OPEN


def retried_chain(breaker: BreakerLayer, answers: list[int]) -> Any:
    """outcome -> retry (3 attempts, no waiting) -> gate -> Billy answering ``answers`` in turn."""
    retry = RetryLayer(
        ResilienceSettings(retry_max_attempts=3, retry_base_seconds=0.001, retry_cap_seconds=0.001),
        breaker.metrics,
        LocalAmbiguity(),
        prefix="test:resilience",
    )

    async def billy(req: UpstreamRequest) -> UpstreamResponse:
        return UpstreamResponse(status=answers.pop(0), body={})

    async def call(req: UpstreamRequest) -> UpstreamResponse:
        return await breaker.outcome(req, lambda r: retry(r, lambda a: breaker(a, billy)))

    return call


@pytest.mark.anyio
async def test_a_failure_a_retry_made_good_is_not_counted():
    store = LocalBreakers()
    breaker = layer(store)
    answers = [503, 200] * 10  # every request fails once, then succeeds
    call = retried_chain(breaker, answers)
    for _ in range(10):
        assert (await call(request())).status == 200
    assert not answers
    assert store.states[breaker.key("org1", "invoices")].window == OK * 10  # a 50% attempt failure rate
    assert breaker.seen[("org1", "invoices")] == State.CLOSED


@pytest.mark.anyio
async def test_a_request_that_failed_counts_every_failed_attempt():
    store = LocalBreakers()
    breaker = layer(store)
    call = retried_chain(breaker, [200, 503, 503, 503, 200])
    assert (await call(request())).status == 200
    assert (await call(request())).status == 503  # three attempts, all failed
    assert breaker.seen[("org1", "invoices")] == State.OPEN  # 3 failed of 4 outcomes
    with pytest.raises(CircuitOpen):
        await call(request())


@pytest.mark.anyio
async def test_a_half_open_probe_is_decided_by_its_first_answer():
    clock = [0.0]
    store = LocalBreakers(clock=lambda: clock[0])
    breaker = layer(store, breaker_open_seconds=1)
    answers = [503] * 3 + [503, 200] + [503, 200]
    call = retried_chain(breaker, answers)
    await call(request())  # three failed attempts: not yet the minimum of four outcomes
    assert breaker.seen[("org1", "invoices")] == State.CLOSED
    assert (await call(request())).status == 200  # its success is the fourth outcome: 3 of 4 failed
    assert breaker.seen[("org1", "invoices")] == State.OPEN
    clock[0] += 1001
    with pytest.raises(CircuitOpen):  # the probe failed: open again, its retry refused at once
        await call(request())
    assert answers == [200]
    assert store.states[breaker.key("org1", "invoices")].state == State.OPEN
