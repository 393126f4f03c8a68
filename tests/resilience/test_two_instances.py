"""Two server processes on one Redis share breaker state and one upstream rate limit."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import redis

from tests.resilience.processes import ServerProcess, server_processes

pytestmark = [pytest.mark.redis, pytest.mark.slow]

N = 20  # the sandbox's limit: N requests per WINDOW seconds
WINDOW = 2.0
LIMIT = int(N * 0.9)  # the pair's shared limit, a little under Billy's
MAX_WAIT = WINDOW * 0.95
INTERVAL = WINDOW / LIMIT
CALL = ("list_invoices", {"limit": 1})


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A Redis namespace of this test's own, deleted afterwards."""
    name = f"test:resilience:{secrets.token_hex(4)}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def pair(sandbox: Any, redis_url: str, prefix: str, billy_env: Any) -> Iterator[list[ServerProcess]]:
    settings = {
        "KEY_PREFIX": prefix,
        # one limit for both instances, a little under Billy's: 0.9 N per window, no burst
        "RATE_LIMIT_REQUESTS": str(LIMIT),
        "RATE_LIMIT_WINDOW_SECONDS": str(WINDOW),
        "RATE_LIMIT_BURST": "1",
        "RATE_LIMIT_MAX_WAIT_SECONDS": str(MAX_WAIT),
        "BULKHEAD_MAX_CONCURRENT": "64",
        "BREAKER_WINDOW_SIZE": "10",
        "BREAKER_MINIMUM_CALLS": "5",
        "BREAKER_OPEN_SECONDS": "1",
        "BREAKER_HALF_OPEN_PROBES": "1",
        "RETRY_MAX_ATTEMPTS": "2",
        "RETRY_BASE_SECONDS": "0.01",
    }
    env = {
        "BILLY_API_URL": sandbox.api_url,
        "BILLY_ACCESS_TOKEN": sandbox.token,
        "BILLY_READ_ONLY": "false",
        "BILLY_REDIS_URL": redis_url,
        "BILLY_PLUGINS_ENABLED": "resilience",  # no cache: every read reaches the upstream chain
        **{f"BILLY_RESILIENCE__{key}": value for key, value in settings.items()},
    }
    with server_processes(2, env, billy_env) as servers:
        for server in servers:  # each discovers the organization before any fault
            assert call(server).status_code == 200
        yield servers


def call(server: ServerProcess) -> httpx.Response:
    tool, arguments = CALL
    return httpx.post(f"{server.url}/api/v1/tools/{tool}", json=arguments, timeout=30)


async def call_many(servers: list[ServerProcess], each: int) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    tool, arguments = CALL
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

        async def one(server: ServerProcess) -> None:
            answers.append(await client.post(f"{server.url}/api/v1/tools/{tool}", json=arguments))

        async with anyio.create_task_group() as group:
            for _ in range(each):
                for server in servers:
                    group.start_soon(one, server)
    return answers


def upstream_attempts(servers: list[ServerProcess]) -> float:
    """Requests the pair sent to Billy plus those its shared limit refused before sending."""
    return sum(
        server.metric("billy_mcp_upstream_requests_total")
        + server.metric("billy_mcp_resilience_rejections_total", reason="rate_limited")
        for server in servers
    )


def test_the_pair_stays_under_one_shared_rate_limit(pair, sandbox):
    attempted_before = upstream_attempts(pair)
    sandbox.reset_stats()
    sandbox.faults(rate_limit={"requests": N, "window_s": WINDOW})
    started = time.monotonic()
    answers = anyio.run(call_many, pair, N)  # 2N calls at once, N to each instance
    elapsed = time.monotonic() - started
    stats = sandbox.stats()
    attempted = upstream_attempts(pair) - attempted_before
    completed = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    print(
        f"\ntwo instances: {attempted:.0f} upstream attempts in {elapsed:.2f}s, {len(completed)} completed,"
        f" {len(refused)} refused by the shared limit; sandbox: {stats['total']} requests,"
        f" {stats['faults_injected']['rate_limited']} answered 429"
    )
    assert attempted >= 2 * N
    assert stats["faults_injected"]["rate_limited"] == 0
    assert len(completed) >= 0.8 * N
    assert elapsed < WINDOW * 1.5  # all of it within the sandbox's window (and a little)
    for answer in refused:
        body = answer.json()
        assert answer.status_code == 429 and body["code"] == "rate_limited"
        # GCRA admits a request that waits at most max_wait, so the next slot is never further
        # away than max_wait plus one emission interval
        assert body["retryable"] is True and 0 < body["retry_after"] <= MAX_WAIT + INTERVAL
    assert sum(s.metric("billy_mcp_resilience_rate_limit_waits_total") for s in pair) > 0


def test_the_pair_shares_breaker_state(pair, sandbox):
    first, second = pair
    sandbox.faults(error_rate=1.0, error_status=503, paths=["/v2/invoices*"])
    # 2 attempts each, counted when the call ends: the 2nd call brings the window to its
    # minimum of 5 outcomes (1 success, 4 failures) and opens the circuit; the 3rd is refused
    codes = [call(first).json()["code"] for _ in range(3)]
    assert codes == ["upstream_unavailable", "upstream_unavailable", "circuit_open"], codes
    sandbox.reset_stats()
    refused = call(second)  # the second instance has never failed, yet it refuses at once
    body = refused.json()
    assert refused.status_code == 503 and body["code"] == "circuit_open"
    assert body["retryable"] is True and 0 < body["retry_after"] <= 1
    assert sandbox.stats()["total"] == 0
    health = second.ready()
    assert health["ready"] is True and health["status"] == "degraded"
    breakers = health["checks"]["circuit_breakers"]
    assert breakers["state"] == "degraded" and breakers["local"] is False
    assert [
        b["state"] for name, b in breakers["details"]["breakers"].items() if name.endswith("/invoices")
    ] == ["open"]
    assert second.metric("billy_mcp_resilience_breaker_state", group="invoices") == 2  # open

    sandbox.clear_faults()
    time.sleep(1.1)
    assert call(second).status_code == 200  # the probe succeeds: closed for both
    assert call(first).status_code == 200
    assert first.ready()["checks"]["circuit_breakers"]["state"] == "ok"
