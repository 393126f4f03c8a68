"""L2 on Redis: shared entries and invalidations between instances, cross-instance coalescing,
Redis Cluster code paths (a single-node cluster started here), and a Redis that is down."""

from __future__ import annotations

import os
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from billy_core.testing import mcp_client
from tests.cache.conftest import delete_keys
from tests.support.http_server import free_port

pytestmark = pytest.mark.anyio

BILLY_MCP = str(Path(sys.executable).parent / "billy-mcp")


@pytest.fixture
def instances(make_kernel: Any, write_plugin: None) -> Any:
    """Build n kernels ("instances") on one Redis, each with its own L1 and SQL file."""

    async def start(stack: AsyncExitStack, sandbox: Any, redis_url: str, n: int, tmp: Any) -> list[Any]:
        clients = []
        for index in range(n):
            kernel = make_kernel(
                api_url=sandbox.api_url,
                access_token=sandbox.token,
                sandbox=True,
                redis_url=redis_url,
                database_url=f"sqlite:///{tmp / f'instance{index}.sqlite3'}",
            )
            clients.append((kernel, await stack.enter_async_context(mcp_client(kernel))))
        return clients

    return start


async def call(client: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.structured_content
    return dict(result.structured_content)


async def shares_entries_and_invalidations(instances: Any, sandbox: Any, url: str, tmp: Any) -> None:
    contact_id = sandbox.customer_ids(1)[0]
    sandbox.reset_stats()
    async with AsyncExitStack() as stack:
        (_, one), (_, two) = await instances(stack, sandbox, url, 2, tmp)
        first = await call(one, "list_customers", {"limit": 500})
        await call(two, "get_organization", {})
        gets = sandbox.gets()
        assert await call(two, "list_customers", {"limit": 500}) == first  # L2 hit: no GET
        assert sandbox.gets() == gets

        renamed = f"Delt Navn ApS {gets}"
        await call(one, "rename_contact", {"contact_id": contact_id, "name": renamed})
        after = await call(two, "list_customers", {"limit": 500})
        assert {item["id"]: item["name"] for item in after["items"]}[contact_id] == renamed
        assert await call(one, "list_customers", {"limit": 500}) == after  # and one sees two's entry
    assert sandbox.stats()["GET /v2/contacts"] == 2, sandbox.stats()


async def coalesces_across_instances(instances: Any, sandbox: Any, url: str, tmp: Any) -> None:
    async with AsyncExitStack() as stack:
        clients = await instances(stack, sandbox, url, 3, tmp)
        for _, client in clients:
            await call(client, "get_organization", {})
        sandbox.reset_stats()
        results: list[dict[str, Any]] = []

        async def read(client: Any) -> None:
            results.append(await call(client, "list_invoices", {"limit": 11, "state": "draft"}))

        async with anyio.create_task_group() as group:
            for _ in range(7):
                for _, client in clients:
                    group.start_soon(read, client)
        metrics = "".join(kernel.metrics.render().decode() for kernel, _ in clients)
    assert sandbox.stats() == {"GET /v2/invoices": 1}
    assert len(results) == 21 and all(result == results[0] for result in results)
    assert 'billy_mcp_cache_upstream_requests_saved_total{how="peer"}' in metrics


async def test_two_instances_share_entries_and_invalidations(
    instances, fresh_sandbox, shared_redis, tmp_path
):
    await shares_entries_and_invalidations(instances, fresh_sandbox, shared_redis, tmp_path)


async def test_concurrent_misses_on_three_instances_make_one_upstream_get(
    instances, fresh_sandbox, shared_redis, tmp_path
):
    await coalesces_across_instances(instances, fresh_sandbox, shared_redis, tmp_path)


async def test_redis_cluster_shares_entries_and_invalidations(
    instances, fresh_sandbox, redis_cluster, cache_prefix, tmp_path
):
    try:
        await shares_entries_and_invalidations(instances, fresh_sandbox, redis_cluster, tmp_path)
        await coalesces_across_instances(instances, fresh_sandbox, redis_cluster, tmp_path)
        client: Any = RedisCluster.from_url(redis_cluster.replace("?cluster=true", ""))
        try:
            keys = [key async for key in client.scan_iter(match=f"{cache_prefix}:*")]
        finally:
            await client.aclose()
    finally:
        delete_keys(redis_cluster.replace("?cluster=true", ""), cache_prefix, cluster=True)
    kinds = {key.decode().split("}:", 1)[1].split(":", 1)[0] for key in keys}
    assert {"e", "tags"} <= kinds
    organizations = {key.decode().split("{", 1)[1].split("}", 1)[0] for key in keys}
    for organization in organizations:
        slots = {key_slot(key) for key in keys if f"{{{organization}}}".encode() in key}
        assert len(slots) == 1, f"organization {organization}'s keys span slots {slots}"


async def test_a_redis_that_is_down_fails_readiness_but_reads_still_work(make_kernel, fresh_sandbox):
    kernel = make_kernel(
        api_url=fresh_sandbox.api_url,
        access_token=fresh_sandbox.token,
        sandbox=True,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    async with mcp_client(kernel) as client:
        first = await call(client, "list_invoices", {"limit": 2})
        second = await call(client, "list_invoices", {"limit": 2})
        readiness = await kernel.readiness()
    assert first == second and "freshness" not in second
    assert not readiness.ready
    assert readiness.checks["cache"]["state"] == "failing"
    # Without tag versions nothing cached can be trusted: both reads went to Billy.
    assert fresh_sandbox.stats()["GET /v2/invoices"] == 2


async def test_cache_clear_drops_the_shared_tiers_and_every_instance_refetches(
    instances, fresh_sandbox, shared_redis, cache_prefix, tmp_path
):
    async with AsyncExitStack() as stack:
        ((_, client),) = await instances(stack, fresh_sandbox, shared_redis, 1, tmp_path)
        await call(client, "list_invoices", {"limit": 3})
        env = {
            **os.environ,
            "BILLY_REDIS_URL": shared_redis,
            "BILLY_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        }
        cleared = await anyio.run_process([BILLY_MCP, "cache", "clear"], env=env, check=False)
        assert cleared.returncode == 0, cleared.stderr
        assert b"redis: " in cleared.stdout and b"redis: 0 " not in cleared.stdout
        plain = redis.Redis.from_url(shared_redis)
        assert not list(plain.scan_iter(match=f"{cache_prefix}:*"))
        plain.close()
        await call(client, "list_invoices", {"limit": 3})  # its L1 entry no longer validates
    assert fresh_sandbox.stats()["GET /v2/invoices"] == 2


async def test_after_a_redis_failure_the_cache_does_not_wait_on_redis_again_at_once(make_kernel):
    from billy_cache.entry import CacheKey
    from billy_cache.plugin import runtime
    from billy_cache.redis_tier import RedisTier, RedisUnavailable

    kernel = make_kernel(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    tier = next(tier for tier in runtime(kernel).tiers if isinstance(tier, RedisTier))
    key = CacheKey("org", "tok", "invoices", "d", "billy:cache:{org}:e:invoices:tok:d")
    with pytest.raises(redis.RedisError) as first:  # refused: the first call does ask
        await tier.get(key)
    assert not isinstance(first.value, RedisUnavailable)
    with pytest.raises(RedisUnavailable):
        await tier.tag_store().versions("org", ("invoices",))
    with pytest.raises(redis.RedisError):
        await tier.check()  # readiness always asks Redis itself


async def test_a_lease_that_ran_out_is_not_a_redis_outage(make_kernel, shared_redis, cache_prefix):
    from billy_cache.entry import KeyMaker
    from billy_cache.plugin import runtime
    from billy_cache.redis_tier import RedisTier

    from tests.cache.test_units import request

    kernel = make_kernel(redis_url=shared_redis)
    async with kernel:
        tier = next(tier for tier in runtime(kernel).tiers if isinstance(tier, RedisTier))
        key = KeyMaker(cache_prefix).for_request(request())
        lock = tier.fetch_lock()
        handle = await lock.acquire(key, 5)
        assert handle is not None
        plain = redis.Redis.from_url(shared_redis)
        plain.delete(key.lock_name)  # the lease ran out (another instance may hold it now)
        plain.close()
        await lock.release(handle)
        assert await tier.get(key) is None  # Redis is still asked, not skipped as down


async def test_a_read_cancelled_while_it_holds_the_fetch_lease_releases_it(
    make_kernel, shared_redis, cache_prefix, monkeypatch
):
    from billy_cache.plugin import runtime
    from billy_cache.redis_tier import RedisTier

    from billy_core.upstream import UpstreamRequest, UpstreamResponse
    from tests.cache.test_units import request

    kernel = make_kernel(redis_url=shared_redis)
    async with kernel:
        cache = runtime(kernel).cache
        tier = next(tier for tier in cache.tiers if isinstance(tier, RedisTier))
        asked = 0
        peer_check = anyio.Event()
        real_get = tier.get

        async def get(key: Any) -> Any:
            nonlocal asked
            asked += 1
            if asked == 1:  # the lookup
                return await real_get(key)
            peer_check.set()  # with the lease held: did a peer store it meanwhile?
            await anyio.sleep_forever()

        monkeypatch.setattr(tier, "get", get)

        async def billy(upstream: UpstreamRequest) -> UpstreamResponse:
            raise AssertionError("never asked")

        read = request()
        async with anyio.create_task_group() as group:
            group.start_soon(cache, read, billy)
            await peer_check.wait()
            group.cancel_scope.cancel()
        assert not await tier.fetch_lock().held(cache.keys.for_request(read))
